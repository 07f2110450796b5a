"""The declared catalog: per source collection, its raw table, key, cursor field and typed columns."""

from __future__ import annotations

from dataclasses import dataclass

# Column types of the catalog, and the warehouse type each becomes (same DDL on PostgreSQL and Redshift).
# Text is varchar(65535), Redshift's maximum: Redshift reads a bare TEXT as varchar(256).
WAREHOUSE_TYPES = {
    "objectid": "varchar(24)",
    "text": "varchar(65535)",
    "json": "varchar(65535)",
    "timestamp": "timestamp",
    "bool": "boolean",
    "int": "bigint",
    "float": "double precision",
    "numeric": "numeric(18,6)",
}

# Columns every raw table has besides the declared ones.
REGION_COLUMN = "region"
EXTRA_COLUMN = "_extra"
WINDOW_COLUMN = "_window_start"
LOADED_AT_COLUMN = "_loaded_at"


@dataclass(frozen=True)
class Column:
    name: str
    type: str

    def __post_init__(self) -> None:
        if self.type not in WAREHOUSE_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")


@dataclass(frozen=True)
class Collection:
    """One source collection and the raw table it lands in."""

    name: str
    table: str  # schema-qualified raw table
    columns: tuple[Column, ...]
    key: str = "_id"
    cursor: str = "updated_at"
    # Larger collections are extracted first, so that their longer loads overlap the smaller extracts.
    extract_priority: int = 0

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def file_columns(self) -> tuple[str, ...]:
        """Columns in part files, in order: what COPY names."""
        return (REGION_COLUMN, *self.field_names, EXTRA_COLUMN, WINDOW_COLUMN)

    @property
    def table_columns(self) -> tuple[str, ...]:
        return (*self.file_columns, LOADED_AT_COLUMN)

    @property
    def file_column_types(self) -> tuple[tuple[str, str], ...]:
        """(column, warehouse type) for the part-file columns: what a staging table needs."""
        declared = tuple((c.name, WAREHOUSE_TYPES[c.type]) for c in self.columns)
        return ((REGION_COLUMN, "varchar(32)"), *declared, (EXTRA_COLUMN, WAREHOUSE_TYPES["json"]),
                (WINDOW_COLUMN, "timestamp"))


def _columns(*pairs: str) -> tuple[Column, ...]:
    return tuple(Column(*pair.split(":")) for pair in pairs)


CATALOG: dict[str, Collection] = {
    c.name: c
    for c in (
        Collection(
            "conversations",
            "raw.conversations",
            _columns(
                "_id:objectid", "client_id:text", "chatter_id:text", "language:text", "device:text",
                "platform:text", "created_at:timestamp", "updated_at:timestamp", "meta:json", "variables:json",
            ),
            extract_priority=20,
        ),
        Collection(
            "messages",
            "raw.messages",
            _columns(
                "_id:objectid", "conversation_id:objectid", "client_id:text", "sender:text",
                "answer_id:objectid", "text:text", "confidence:numeric", "created_at:timestamp",
                "updated_at:timestamp", "meta:json",
            ),
            extract_priority=30,
        ),
        Collection(
            "answers",
            "raw.answers",
            _columns(
                "_id:objectid", "client_id:text", "title:text", "language:text", "content:text",
                "active:bool", "version:int", "created_at:timestamp", "updated_at:timestamp",
            ),
        ),
    )
}


def collection(name: str) -> Collection:
    try:
        return CATALOG[name]
    except KeyError:
        raise KeyError(f"unknown collection {name!r}; the catalog has {', '.join(CATALOG)}") from None
