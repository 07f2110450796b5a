"""The declared project: sources (`sql/sources/<collection>.yml`), models (`sql/models/<model>/`) and the
pipeline's own tables (`sql/schema/<schema>.<table>.yml`).

Everything else (DDL and its evolution, staging tables, COPY column lists, the converter, the transform
order, the data tests, the documentation) is derived from these declarations."""

from __future__ import annotations

import graphlib
import hashlib
import json
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeline.sqlfiles import is_identifier, line_of, parse_yaml, sql_dir

# Declared column types. Each warehouse kind maps them to its own types (pipeline/warehouse/<kind>/).
TYPES = ("objectid", "text", "json", "timestamp", "date", "bool", "int", "float", "numeric")
SOURCE_TYPES = tuple(t for t in TYPES if t != "date")  # what a MongoDB value is converted to
KEY_TYPES = ("objectid", "text", "int")
TEST_KINDS = ("not_null", "unique", "accepted_values", "relationships")
SEVERITIES = ("error", "warn")

RAW_SCHEMA, ANALYTICS_SCHEMA = "raw", "analytics"
# Columns every raw table has besides the declared ones.
REGION_COLUMN = "region"
EXTRA_COLUMN = "_extra"
DRIFT_COLUMN = "_drift"
WINDOW_COLUMN = "_window_start"
LOADED_AT_COLUMN = "_loaded_at"
READ_STARTED_COLUMN, READ_ENDED_COLUMN = "_read_started", "_read_ended"
REPLACED_BY_COLUMN, REPLACED_AT_COLUMN = "_replaced_by", "_replaced_at"
REGION_MAX_LENGTH = 32


class CatalogError(ValueError):
    """A declaration is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str = ""
    max_length: int | None = None  # text and json only: longer values are refused at extract
    nullable: bool = True


@dataclass(frozen=True)
class Table:
    """A warehouse table to create and evolve: its name, columns and physical hints."""

    name: str  # schema-qualified
    columns: tuple[Column, ...]
    sort_key: tuple[str, ...] = ()
    dist_key: str | None = None
    declared_in: str = ""  # the file that declares it, for error messages
    description: str = ""
    # PostgreSQL: a unique index on the key, and the indexes the merge, the window queries and the models
    # need (Redshift has sort and distribution keys instead).
    unique_key: tuple[str, ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    encodings: tuple[tuple[str, str], ...] = ()  # (column, compression encoding); the others are the kind's default
    rebuilt_by: str = ""  # a model's table: the command that rebuilds it whole, in a new shape

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


@dataclass(frozen=True)
class Source:
    """One MongoDB collection and the raw table it lands in (one row per region and key, newest wins)."""

    name: str
    description: str
    key: str
    cursor: str
    columns: tuple[Column, ...]
    extract_priority: int = 0  # larger collections first: their longer loads overlap smaller extracts
    sort_key: tuple[str, ...] = ()
    dist_key: str | None = None
    path: str = ""
    indexes: tuple[tuple[str, ...], ...] = ()  # declared: what the models join on
    encodings: tuple[tuple[str, str], ...] = ()

    @property
    def table(self) -> str:
        return f"{RAW_SCHEMA}.{self.name}"

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def key_column(self) -> Column:
        return next(column for column in self.columns if column.name == self.key)

    @property
    def file_columns(self) -> tuple[Column, ...]:
        """Columns of the part files, in order: what the staging table holds and COPY names."""
        return (Column(REGION_COLUMN, "text", "Region of the source cluster.", REGION_MAX_LENGTH, False),
                *self.columns,
                Column(EXTRA_COLUMN, "json", "Undeclared top-level fields of the document (JSON text)."),
                Column(DRIFT_COLUMN, "json", "Values that did not fit their declared type, as they were in "
                       "MongoDB: {field: canonical extended JSON}. NULL when every value fit."),
                Column(WINDOW_COLUMN, "timestamp", "Start of the extract window that read this version.",
                       nullable=False))

    @property
    def file_column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.file_columns)

    def raw_table(self) -> Table:
        return Table(self.table, (
            *self.file_columns, Column(LOADED_AT_COLUMN, "timestamp", "When loaded."),
            Column(READ_STARTED_COLUMN, "timestamp", "When the read that returned this version began (UTC): a "
                                                      "version read later replaces it, whatever its cursor."),
            Column(READ_ENDED_COLUMN, "timestamp", "When that read ended (UTC). NULL: loaded before reads were "
                                                    "timed (the read ended before _loaded_at)."),
        ),
                     self.sort_key, self.dist_key, self.path, self.description,
                     unique_key=(REGION_COLUMN, self.key), indexes=((REGION_COLUMN, self.cursor), *self.indexes),
                     encodings=self.encodings)

    @property
    def replaced_table_name(self) -> str:
        return f"{RAW_SCHEMA}.{self.name}_replaced"

    def replaced_table(self) -> Table:
        """Versions a load replaced or `reconcile` deleted, kept until the transform of the window holding
        `_replaced_by` has rebuilt what they fed (a message's old answer, an old day)."""
        return Table(self.replaced_table_name, (
            *self.file_columns,
            Column(REPLACED_BY_COLUMN, "timestamp", "Cursor of the version that replaced this one (for a deleted "
                                                    "document: its own); the window holding it consumes the row.",
                   nullable=False),
            Column(REPLACED_AT_COLUMN, "timestamp", "When it was replaced or deleted (UTC).", nullable=False),
        ), (REPLACED_BY_COLUMN,), self.dist_key, self.path,
            f"Replaced and deleted versions of {self.table}, until their window is transformed.",
            indexes=((REGION_COLUMN, REPLACED_BY_COLUMN),), encodings=self.encodings)


@dataclass(frozen=True)
class DataTest:
    """A dbt-style schema test of a model: unique, not_null, accepted_values or relationships."""

    kind: str
    columns: tuple[str, ...]
    values: tuple[Any, ...] = ()  # accepted_values
    to_table: str = ""  # relationships: the referenced table (raw.x or analytics.x) and column
    to_field: str = ""
    severity: str = "error"

    @property
    def label(self) -> str:
        what = f"{self.kind}({', '.join(self.columns)})"
        return what + (f" -> {self.to_table}.{self.to_field}" if self.kind == "relationships" else "")


@dataclass(frozen=True)
class Model:
    """One analytics model: `model.sql` selects its rows for the keys a window touched."""

    name: str
    description: str
    grain: str
    unique_key: tuple[str, ...]
    key: tuple[str, ...]  # the incremental key: a window deletes and rebuilds the rows of its touched keys
    touched_sql: str
    select_sql: str
    columns: tuple[Column, ...]
    depends_on_sources: tuple[str, ...] = ()
    depends_on_models: tuple[str, ...] = ()
    tests: tuple[DataTest, ...] = ()
    sort_key: tuple[str, ...] = ()
    dist_key: str | None = None
    path: str = ""
    indexes: tuple[tuple[str, ...], ...] = ()
    encodings: tuple[tuple[str, str], ...] = ()
    fingerprint: str = ""  # what its rows are built by: see model_fingerprint

    @property
    def table(self) -> str:
        return f"{ANALYTICS_SCHEMA}.{self.name}"

    def analytics_table(self) -> Table:
        # The rebuild deletes by (region, incremental key): that index keeps its cost to the window's keys.
        return Table(self.table, self.columns, self.sort_key, self.dist_key, self.path,
                     f"{self.description} Grain: {self.grain}. Unique key: {', '.join(self.unique_key)}.",
                     indexes=((REGION_COLUMN, *(c for c in self.key if c != REGION_COLUMN)), *self.indexes),
                     encodings=self.encodings, rebuilt_by=f"pipeline transform --full-refresh --model {self.name}")


@dataclass(frozen=True)
class Catalog:
    sources: dict[str, Source]
    models: dict[str, Model]  # in dependency order: a model comes after every model it reads
    root: Path = field(default_factory=Path)
    pipeline_tables: tuple[Table, ...] = ()  # audit, deliveries, failures

    @property
    def signature(self) -> str:
        """The sources a window's transform covers: a window done before a source was added is not done (a new
        or changed model is told by its fingerprint instead, per window)."""
        return f"sources: {', '.join(sorted(self.sources))}"

    def with_dependents(self, names: Iterable[str]) -> list[Model]:
        """The named models and every model that reads them, directly or not, in dependency order."""
        chosen = {self.model(name).name for name in names}
        for model in self.models.values():  # dependency order: upstream models are decided first
            if chosen & set(model.depends_on_models):
                chosen.add(model.name)
        return [model for model in self.models.values() if model.name in chosen]

    def with_upstream(self, models: Iterable[Model]) -> list[Model]:
        """These models and every model they read, directly or not, in dependency order."""
        chosen = {model.name for model in models}
        for model in reversed(self.models.values()):  # a model comes after what it reads: walk back
            if model.name in chosen:
                chosen.update(model.depends_on_models)
        return [model for model in self.models.values() if model.name in chosen]

    def source(self, name: str) -> Source:
        try:
            return self.sources[name]
        except KeyError:
            raise CatalogError(f"unknown source {name!r}; {self.root / 'sources'} declares "
                               f"{', '.join(self.sources) or 'none'}") from None

    def model(self, name: str) -> Model:
        try:
            return self.models[name]
        except KeyError:
            raise CatalogError(f"unknown model {name!r}; {self.root / 'models'} declares "
                               f"{', '.join(self.models) or 'none'}") from None

    def tables(self) -> list[Table]:
        """Every table the warehouse holds: the pipeline's own first, then raw, then analytics."""
        return [*self.pipeline_tables, *(s.raw_table() for s in self.sources.values()),
                *(s.replaced_table() for s in self.sources.values()),
                *(m.analytics_table() for m in self.models.values())]


def catalog() -> Catalog:
    """The project's declarations, read again only when a declaration file changed."""
    root = sql_dir()
    files = sorted((*(root / "sources").glob("*.yml"), *(root / "models").glob("*/model.*"),
                    *(root / "schema").glob("*.yml")))
    return _load(root, tuple((str(f), f.stat().st_mtime_ns) for f in files))


@cache
def _load(root: Path, files: tuple[tuple[str, int], ...]) -> Catalog:
    return load_catalog(root)


def load_catalog(root: Path) -> Catalog:
    pipeline_tables = tuple(parse_pipeline_table(path.stem, _read_yaml(path), _shown(path, root))
                            for path in sorted((root / "schema").glob("*.yml")))
    reserved = {table.name for table in pipeline_tables}
    sources = {}
    for path in sorted((root / "sources").glob("*.yml")):
        source = parse_source(path.stem, _read_yaml(path), _shown(path, root))
        if source.table in reserved:
            raise CatalogError(f"{source.path}: {source.table} is one of the pipeline's own tables (sql/schema/, "
                               f"or a source's replaced versions)")
        sources[source.name] = source
        reserved.add(source.replaced_table_name)
    models = {}
    for folder in sorted(p for p in (root / "models").glob("*") if p.is_dir()):
        models[folder.name] = parse_model(folder, root)
        if models[folder.name].table in reserved:
            raise CatalogError(f"{models[folder.name].path}: {models[folder.name].table} is one of the "
                               f"pipeline's own tables (sql/schema/)")
    for model in models.values():
        _check_dependencies(model, sources, models)
    ordered: dict[str, Model] = {}
    for name in dependency_order({n: m.depends_on_models for n, m in models.items()}):
        upstream = [ordered[u].fingerprint for u in models[name].depends_on_models]
        ordered[name] = replace(models[name], fingerprint=model_fingerprint(models[name], upstream))
    return Catalog(sources, ordered, root, pipeline_tables)


_SQL_STRING_OR_COMMENT = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/", re.DOTALL)


def _sql_meaning(sql: str) -> str:
    """SQL without its comments and with its whitespace collapsed: an edited comment builds the same rows."""
    kept = _SQL_STRING_OR_COMMENT.sub(lambda m: "" if m[0][0] in "-/" else m[0], sql)
    return " ".join(kept.split())


def model_fingerprint(model: Model, upstream: Iterable[str]) -> str:
    """12 hex digits of what a model's rows are built by: model.sql and the touched query, the keys, the
    columns and their types, and the fingerprints of the models it reads. Descriptions, comments, data tests and
    warehouse hints change no row, so they leave it alone."""
    meaning = {"select": _sql_meaning(model.select_sql), "touched": _sql_meaning(model.touched_sql),
               "key": model.key, "unique_key": model.unique_key, "sources": model.depends_on_sources,
               "columns": [(c.name, c.type, c.max_length, c.nullable) for c in model.columns],
               "upstream": sorted(upstream)}
    return hashlib.sha256(json.dumps(meaning, sort_keys=True).encode()).hexdigest()[:12]


def _shown(path: Path, root: Path) -> str:
    return f"sql/{path.relative_to(root)}"


def _read_yaml(path: Path) -> dict:
    try:
        document = parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CatalogError(f"{path}: not valid YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(document, dict):
        raise CatalogError(f"{path}: expected a mapping of fields")
    return document


class _Fields:
    """Reads fields of one declaration, raising CatalogError that names the file and field."""

    def __init__(self, raw: dict, where: str, known: set[str]):
        self.raw, self.where = raw, where
        unknown = sorted(set(raw) - known)
        if unknown:
            raise self.fail(unknown[0], f"unknown field; known fields are {', '.join(sorted(known))}")

    def fail(self, name: str, problem: str) -> CatalogError:
        return CatalogError(f"{self.where}, field {name!r}: {problem}{line_of(self.raw, name)}")

    def text(self, name: str, required: bool = True) -> str:
        value = self.raw.get(name)
        if value in (None, ""):
            if required:
                raise self.fail(name, "missing")
            return ""
        if not isinstance(value, str):
            raise self.fail(name, f"expected text, got {type(value).__name__}")
        return value

    def names(self, name: str, value: Any = None) -> tuple[str, ...]:
        value = self.raw.get(name) if value is None else value
        if value is None:
            return ()
        value = [value] if isinstance(value, str) else value
        if not isinstance(value, list) or not all(isinstance(v, str) and is_identifier(v) for v in value):
            raise self.fail(name, f"expected a lowercase name or a list of them, got {value!r}")
        return tuple(value)


def _parse_columns(fields: _Fields, allowed_types: tuple[str, ...]) -> tuple[tuple[Column, ...], list]:
    raw_columns = fields.raw.get("columns")
    if not isinstance(raw_columns, list) or not raw_columns:
        raise fields.fail("columns", "expected a list of {name, type, description}")
    columns, tests, seen = [], [], set()
    for raw in raw_columns:
        if not isinstance(raw, dict):
            raise fields.fail("columns", f"expected a mapping per column, got {raw!r}")
        name = raw.get("name")
        column = _Fields(raw, f"{fields.where}, column {name!r}",
                         {"name", "type", "description", "max_length", "required", "tests"})
        if not isinstance(name, str) or not is_identifier(name):
            raise column.fail("name", "expected a lowercase name (letters, digits, underscores)")
        if name in seen:
            raise column.fail("name", "declared twice")
        seen.add(name)
        kind = raw.get("type")
        if kind not in allowed_types:
            raise column.fail("type", f"{kind!r} is not one of {', '.join(allowed_types)}")
        max_length = raw.get("max_length")
        if max_length is not None and (kind not in ("text", "json") or not isinstance(max_length, int)
                                       or not 1 <= max_length <= 65535):
            raise column.fail("max_length", "a number of bytes from 1 to 65535, for text and json columns")
        if not isinstance(raw.get("required", False), bool):
            raise column.fail("required", "expected true or false")
        columns.append(Column(name, kind, str(raw.get("description") or ""), max_length,
                              nullable=not raw.get("required", False)))
        tests.extend((name, test, column) for test in raw.get("tests") or [])
    return tuple(columns), tests


def parse_pipeline_table(name: str, raw: dict, where: str) -> Table:
    """One of the pipeline's own tables: `<schema>.<table>.yml` with a description and columns."""
    fields = _Fields(raw, where, {"description", "columns", "warehouse"})
    schema, _, table = name.partition(".")
    if not (is_identifier(schema) and is_identifier(table)):
        raise CatalogError(f"{where}: the file name must be <schema>.<table>.yml, in lowercase")
    columns, tests = _parse_columns(fields, TYPES)
    if tests:
        raise fields.fail("columns", "data tests belong to models")
    sort_key, dist_key, indexes, encodings = _warehouse_hints(fields, tuple(c.name for c in columns))
    return Table(name, columns, sort_key, dist_key, declared_in=where,
                 description=fields.text("description", required=False), indexes=indexes, encodings=encodings)


def parse_source(name: str, raw: dict, where: str) -> Source:
    fields = _Fields(raw, where, {"description", "key", "cursor", "columns", "extract_priority", "warehouse"})
    if not is_identifier(name):
        raise CatalogError(f"{where}: the file name must be a lowercase collection name")
    columns, tests = _parse_columns(fields, SOURCE_TYPES)
    if tests:
        raise fields.fail("columns", "data tests belong to models, not sources")
    names = [c.name for c in columns]
    key, cursor = fields.text("key"), fields.text("cursor")
    if key not in names or cursor not in names:
        raise fields.fail("key" if key not in names else "cursor", "must be one of the declared columns")
    types = {c.name: c.type for c in columns}
    if types[cursor] != "timestamp":
        raise fields.fail("cursor", f"{cursor!r} is {types[cursor]}: windows are time ranges, the cursor must be "
                                    f"a timestamp")
    if types[key] not in KEY_TYPES:
        raise fields.fail("key", f"{key!r} is {types[key]}; a key is one of {', '.join(KEY_TYPES)}")
    if REGION_COLUMN in names or any(n.startswith("_") and n != "_id" for n in names):
        raise fields.fail("columns", f"{REGION_COLUMN!r} and names starting with '_' (but _id) are the "
                                     f"pipeline's own columns")
    if not isinstance(raw.get("extract_priority", 0), int):
        raise fields.fail("extract_priority", "expected a whole number")
    sort_key, dist_key, indexes, encodings = _warehouse_hints(fields, (REGION_COLUMN, *names))
    columns = tuple(Column(c.name, c.type, c.description, c.max_length, c.name not in (key, cursor))
                    for c in columns)
    return Source(name, fields.text("description"), key, cursor, columns, raw.get("extract_priority", 0),
                  sort_key, dist_key, where, indexes, encodings)


def _warehouse_hints(fields: _Fields, names: tuple[str, ...]) -> tuple[
        tuple[str, ...], str | None, tuple[tuple[str, ...], ...], tuple[tuple[str, str], ...]]:
    """sort_key and dist_key, indexes (a list of column lists), encode (a column's compression encoding, one
    word: the kinds that use it check its name, Dialect.check_table). Each kind reads the hints it has."""
    hints = fields.raw.get("warehouse") or {}
    hint_fields = _Fields(hints, f"{fields.where}, warehouse", {"sort_key", "dist_key", "indexes", "encode"})
    sort_key = hint_fields.names("sort_key")
    dist_key = hint_fields.names("dist_key")
    raw_indexes = hints.get("indexes") or []
    if not isinstance(raw_indexes, list) or not all(isinstance(columns, list) for columns in raw_indexes):
        raise hint_fields.fail("indexes", "expected a list of column lists, e.g. [[conversation_id]]")
    indexes = tuple(tuple(_index_item(item, names, hint_fields) for item in columns) for columns in raw_indexes)
    for column in (*sort_key, *dist_key):
        if column not in names:
            raise hint_fields.fail("sort_key" if column in sort_key else "dist_key",
                                   f"{column!r} is not a column")
    if len(dist_key) > 1:
        raise hint_fields.fail("dist_key", "one column")
    encode = hints.get("encode") or {}
    if not isinstance(encode, dict):
        raise hint_fields.fail("encode", "expected a mapping of column: encoding, e.g. {text: zstd}")
    for column, encoding in encode.items():
        if column not in names:
            raise hint_fields.fail("encode", f"{column!r} is not a column")
        if not isinstance(encoding, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", encoding):
            raise hint_fields.fail("encode", f"{column}: {encoding!r} is not an encoding's name")
    return sort_key, (dist_key[0] if dist_key else None), indexes, tuple(encode.items())


# What an expression index may use besides the table's columns (a model filters on e.g. a message's day).
_INDEX_WORDS = frozenset({"cast", "coalesce", "as", "date", "timestamp", "lower", "upper"})


def _index_item(item: Any, names: tuple[str, ...], fields: _Fields) -> str:
    """A column name, or a parenthesized expression over the table's columns: `(cast(created_at as date))`
    indexes what a model compares by equality, so PostgreSQL estimates and serves it."""
    if isinstance(item, str) and item.startswith("(") and item.endswith(")"):
        unknown = [word for word in re.findall(r"[a-z_][a-z0-9_]*", item.lower())
                   if word not in names and word not in _INDEX_WORDS]
        if unknown or re.search(r"[^a-z0-9_(), ]", item):
            raise fields.fail("indexes", f"{item!r}: an expression uses the table's columns and "
                                         f"{', '.join(sorted(_INDEX_WORDS))} only")
        return item
    if not isinstance(item, str) or item not in names:
        raise fields.fail("indexes", f"{item!r} is not a column")
    return item


def parse_model(folder: Path, root: Path) -> Model:
    name = folder.name
    where = _shown(folder / "model.yml", root)
    if not is_identifier(name):
        raise CatalogError(f"{_shown(folder, root)}: a model folder name must be a lowercase table name")
    if not (folder / "model.yml").is_file() or not (folder / "model.sql").is_file():
        raise CatalogError(f"{_shown(folder, root)}: a model folder holds model.yml and model.sql")
    raw = _read_yaml(folder / "model.yml")
    fields = _Fields(raw, where, {"description", "grain", "unique_key", "depends_on", "incremental", "columns",
                                  "warehouse", "tests"})
    columns, column_tests = _parse_columns(fields, TYPES)
    names = [c.name for c in columns]
    if REGION_COLUMN not in names:
        raise fields.fail("columns", f"every model has a {REGION_COLUMN!r} column: windows rebuild per region")
    unique_key = fields.names("unique_key")
    depends = raw.get("depends_on") or {}
    depends_fields = _Fields(depends, f"{where}, depends_on", {"sources", "models"})
    incremental = raw.get("incremental")
    if not isinstance(incremental, dict):
        raise fields.fail("incremental", "expected {key: [...], touched: <select of the window's keys>}")
    incremental_fields = _Fields(incremental, f"{where}, incremental", {"key", "touched"})
    key = incremental_fields.names("key")
    for group, group_name in ((unique_key, "unique_key"), (key, "incremental.key")):
        if not group:
            raise fields.fail(group_name, "missing")
        for column in group:
            if column not in names:
                raise fields.fail(group_name, f"{column!r} is not a column")
    if REGION_COLUMN not in unique_key:
        raise fields.fail("unique_key", f"must include {REGION_COLUMN!r}: windows rebuild one region at a time")
    if not set(key) <= set(unique_key):
        raise fields.fail("unique_key", f"must include the incremental key ({', '.join(key)}): a window rebuilds "
                                        f"whole key slices, so rows of two slices must never collide")
    tests = [DataTest("unique", unique_key)]
    tests += [_parse_test(column, test, fields_of_column) for column, test, fields_of_column in column_tests]
    tests += [_parse_test(None, test, fields) for test in raw.get("tests") or []]
    for test in tests:
        for column in test.columns:
            if column not in names:
                raise fields.fail("tests", f"{test.label}: {column!r} is not a column")
    sort_key, dist_key, indexes, encodings = _warehouse_hints(fields, tuple(names))
    return Model(
        name=name, description=fields.text("description"), grain=fields.text("grain"), unique_key=unique_key,
        key=key, touched_sql=incremental_fields.text("touched").strip().rstrip(";"),
        select_sql=(folder / "model.sql").read_text(encoding="utf-8").strip().rstrip(";"), columns=columns,
        depends_on_sources=depends_fields.names("sources"), depends_on_models=depends_fields.names("models"),
        tests=tuple(tests), sort_key=sort_key, dist_key=dist_key, path=where, indexes=indexes, encodings=encodings,
    )


def _parse_test(column: str | None, raw: Any, fields: _Fields) -> DataTest:
    """`not_null`, `unique`, {accepted_values: [...]}, {relationships: {to: source.x|model.x, field: f}};
    a mapping may add `severity: warn`. Model-level tests name their `column(s)`."""
    if isinstance(raw, str):
        kind, options = raw, {}
    elif isinstance(raw, dict) and len(raw) == 1:
        kind, options = next(iter(raw.items()))
        options = {"values": options} if isinstance(options, list) else options
    else:
        raise fields.fail("tests", f"expected a test name or a one-key mapping, got {raw!r}")
    if kind not in TEST_KINDS or not isinstance(options, dict):
        raise fields.fail("tests", f"{kind!r} is not one of {', '.join(TEST_KINDS)}")
    test_fields = _Fields(options, f"{fields.where}, test {kind}", {"values", "to", "field", "severity", "columns"})
    columns = (column,) if column else test_fields.names("columns")
    if not columns:
        raise test_fields.fail("columns", "missing")
    severity = options.get("severity", "error")
    if severity not in SEVERITIES:
        raise test_fields.fail("severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
    values: tuple = ()
    to_table = to_field = ""
    if kind == "accepted_values":
        if not isinstance(options.get("values"), list) or not options["values"]:
            raise test_fields.fail("values", "expected a list of accepted values")
        values = tuple(options["values"])
    if kind == "relationships":
        target = test_fields.text("to")
        layer, _, table = target.partition(".")
        if layer not in ("source", "model") or not is_identifier(table):
            raise test_fields.fail("to", f"expected source.<collection> or model.<model>, got {target!r}")
        to_table = f"{RAW_SCHEMA if layer == 'source' else ANALYTICS_SCHEMA}.{table}"
        to_field = test_fields.names("field")[0] if test_fields.names("field") else ""
        if not to_field:
            raise test_fields.fail("field", "missing")
    return DataTest(kind, columns, values, to_table, to_field, severity)


def _check_dependencies(model: Model, sources: dict[str, Source], models: dict[str, Model]) -> None:
    for name in model.depends_on_sources:
        if name not in sources:
            raise CatalogError(f"{model.path}, depends_on.sources: no sql/sources/{name}.yml")
    for name in model.depends_on_models:
        if name not in models or name == model.name:
            raise CatalogError(f"{model.path}, depends_on.models: no other model folder {name!r}")
    allowed = {"touched", *(f"touched_{name}" for name in model.depends_on_models),
               *(f"changed_{name}" for name in model.depends_on_sources)}
    for what, sql in (("incremental.touched", model.touched_sql), ("model.sql", model.select_sql)):
        try:
            used = {field for _, field, _, _ in string.Formatter().parse(sql) if field is not None}
        except ValueError as error:
            raise CatalogError(f"{model.path}, {what}: {error} (braces are placeholders)") from None
        if used - allowed:
            raise CatalogError(f"{model.path}, {what}: unknown placeholder {{{sorted(used - allowed)[0]}}}; known: "
                               f"{', '.join('{' + name + '}' for name in sorted(allowed))} (an upstream model's "
                               f"touched keys need it in depends_on.models, a source's changed rows in "
                               f"depends_on.sources)")
    for test in model.tests:
        if test.kind == "relationships":
            schema, table = test.to_table.split(".")
            declared = sources.get(table) if schema == RAW_SCHEMA else models.get(table)
            columns = (declared.raw_table() if isinstance(declared, Source) else declared.analytics_table()
                       ).column_names if declared else ()
            if test.to_field not in columns:
                raise CatalogError(f"{model.path}, test {test.label}: {test.to_table} has no column "
                                   f"{test.to_field!r}")


def dependency_order(depends_on: dict[str, tuple[str, ...]]) -> list[str]:
    """Names ordered so that each comes after what it depends on (those ready together by name); a cycle is an
    error naming it."""
    sorter = graphlib.TopologicalSorter(depends_on)
    try:
        sorter.prepare()
    except graphlib.CycleError as error:
        raise CatalogError(f"models depend on each other in a cycle: {' -> '.join(error.args[1])}") from None
    ordered: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        ordered += ready
        sorter.done(*ready)
    return ordered
