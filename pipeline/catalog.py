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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any, ClassVar

import yaml
from pydantic import AfterValidator, PlainValidator, field_validator, model_validator

from pipeline.declarations import Invalid, Name, Names, Spec, SpecT, Text, Words, one_of, validate
from pipeline.sqlfiles import is_identifier, parse_yaml, sql_dir

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


def _read_yaml(path: Path) -> Any:
    try:
        return parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CatalogError(f"{path}: not valid YAML: {str(error).splitlines()[0]}") from None


def _validated(spec: type[SpecT], raw: Any, where: str) -> SpecT:
    """The spec of a declaration file, or CatalogError naming its file, the first wrong field and its line."""
    validated, found = validate(spec, raw)
    if validated is None:
        raise CatalogError(found[0].message(where))
    return validated


def _data_test(raw: Any, in_column: bool) -> DataTest:
    """`not_null`, `unique`, {accepted_values: [...]}, {relationships: {to: source.x|model.x, field: f}};
    a mapping may add `severity: warn`. Model-level tests name their `columns` (a column's test has its column)."""
    if isinstance(raw, str):
        kind, options = raw, {}
    elif isinstance(raw, Mapping) and len(raw) == 1:
        kind, options = next(iter(raw.items()))
        options = {"values": options} if isinstance(options, list) else options
    else:
        raise Invalid(f"expected a test name or a one-key mapping, got {raw!r}")
    if kind not in TEST_KINDS or not isinstance(options, Mapping):
        raise Invalid(f"{kind!r} is not one of {', '.join(TEST_KINDS)}")
    spec, found = validate(_TestOptions, options)
    if spec is None:  # named below the test's kind, where its options are
        raise Invalid(found[0].problem, at=(kind, *found[0].field.split(".")))
    if not in_column and not spec.columns:
        raise Invalid("missing", at=(kind, "columns"))
    if kind == "accepted_values" and not spec.values:
        raise Invalid("expected a list of accepted values", at=(kind, "values"))
    to_table = to_field = ""
    if kind == "relationships":
        if not spec.to:
            raise Invalid("missing", at=(kind, "to"))
        layer, _, table = spec.to.partition(".")
        if layer not in ("source", "model") or not is_identifier(table):
            raise Invalid(f"expected source.<collection> or model.<model>, got {spec.to!r}", at=(kind, "to"))
        to_table = f"{RAW_SCHEMA if layer == 'source' else ANALYTICS_SCHEMA}.{table}"
        if not spec.field:
            raise Invalid("missing", at=(kind, "field"))
        to_field = spec.field[0]
    return DataTest(kind, spec.columns, tuple(spec.values), to_table, to_field, spec.severity)


DeclaredTest = Annotated[DataTest, PlainValidator(lambda raw: _data_test(raw, in_column=False))]
ColumnTest = Annotated[DataTest, PlainValidator(lambda raw: _data_test(raw, in_column=True))]


class _TestOptions(Spec):
    values: list[Any] = []
    to: Words = ""
    field: Names = ()
    severity: one_of(*SEVERITIES) = "error"  # type: ignore[valid-type]
    columns: Names = ()


class _ColumnSpec(Spec):
    types: ClassVar[tuple[str, ...]] = TYPES
    what = "a mapping per column (name, type, description)"

    name: Name
    type: str
    description: Words = ""
    max_length: int | None = None  # text and json only
    required: bool = False
    tests: list[ColumnTest] = []

    @field_validator("type")
    @classmethod
    def _known_type(cls, kind: str) -> str:
        if kind not in cls.types:
            raise Invalid(f"{kind!r} is not one of {', '.join(cls.types)}")
        return kind

    @model_validator(mode="after")
    def _max_length_fits(self) -> _ColumnSpec:
        if self.max_length is not None and (self.type not in ("text", "json") or not 1 <= self.max_length <= 65535):
            raise Invalid("a number of bytes from 1 to 65535, for text and json columns", at="max_length")
        return self

    def column(self, nullable: bool | None = None) -> Column:
        return Column(self.name, self.type, self.description, self.max_length,
                      not self.required if nullable is None else nullable)


class _SourceColumnSpec(_ColumnSpec):
    types = SOURCE_TYPES


# What an expression index may use besides the table's columns (a model filters on e.g. a message's day).
_INDEX_WORDS = frozenset({"cast", "coalesce", "as", "date", "timestamp", "lower", "upper"})


def _index_item(item: Any, names: tuple[str, ...]) -> str:
    """A column name, or a parenthesized expression over the table's columns: `(cast(created_at as date))`
    indexes what a model compares by equality, so PostgreSQL estimates and serves it."""
    if isinstance(item, str) and item.startswith("(") and item.endswith(")"):
        unknown = [word for word in re.findall(r"[a-z_][a-z0-9_]*", item.lower())
                   if word not in names and word not in _INDEX_WORDS]
        if unknown or re.search(r"[^a-z0-9_(), ]", item):
            raise Invalid(f"{item!r}: an expression uses the table's columns and "
                          f"{', '.join(sorted(_INDEX_WORDS))} only", at="indexes")
        return item
    if not isinstance(item, str) or item not in names:
        raise Invalid(f"{item!r} is not a column", at="indexes")
    return item


class _Hints(Spec):
    """sort_key and dist_key, indexes (a list of column lists), encode (a column's compression encoding, one
    word: the kinds that use it check its name, Dialect.check_table). Each kind reads the hints it has."""

    sort_key: Names = ()
    dist_key: Names = ()
    indexes: list[Any] = []
    encode: dict[str, Any] = {}

    def checked(self, names: tuple[str, ...]) -> dict[str, Any]:
        """The hints as a table takes them, each checked against the table's column names (`names`)."""
        if not all(isinstance(columns, list) for columns in self.indexes):
            raise Invalid("expected a list of column lists, e.g. [[conversation_id]]", at="indexes")
        indexes = tuple(tuple(_index_item(item, names) for item in columns) for columns in self.indexes)
        for hint in ("sort_key", "dist_key"):
            for column in getattr(self, hint):
                if column not in names:
                    raise Invalid(f"{column!r} is not a column", at=hint)
        if len(self.dist_key) > 1:
            raise Invalid("one column", at="dist_key")
        for column, encoding in self.encode.items():
            if column not in names:
                raise Invalid(f"{column!r} is not a column", at="encode")
            if not isinstance(encoding, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", encoding):
                raise Invalid(f"{column}: {encoding!r} is not an encoding's name", at="encode")
        return {"sort_key": self.sort_key, "dist_key": self.dist_key[0] if self.dist_key else None,
                "indexes": indexes, "encodings": tuple(self.encode.items())}


def _column_list(columns: list[Any]) -> list[Any]:
    if not columns:
        raise Invalid("expected a list of {name, type, description}")
    seen: set[str] = set()
    for index, column in enumerate(columns):
        if column.name in seen:
            raise Invalid("declared twice", at=(index, "name"))
        seen.add(column.name)
    return columns


class _TableSpec(Spec):
    """`sql/schema/<schema>.<table>.yml`: one of the pipeline's own tables."""

    description: Words = ""
    columns: Annotated[list[_ColumnSpec], AfterValidator(_column_list)]
    warehouse: _Hints = _Hints()

    tested: ClassVar[bool] = False  # whether its columns may have data tests (a model's)

    @model_validator(mode="after")
    def _consistent(self) -> _TableSpec:
        if not self.tested and any(column.tests for column in self.columns):
            raise Invalid("data tests belong to models", at="columns")
        self.check()
        _ = self.hints  # checked now, kept for the table
        return self

    def check(self) -> None:
        """The rules of this kind of declaration across its fields (Invalid naming the field)."""

    def hinted_columns(self) -> tuple[str, ...]:
        """The columns a warehouse hint may name."""
        return tuple(column.name for column in self.columns)

    @cached_property
    def hints(self) -> dict[str, Any]:
        try:
            return self.warehouse.checked(self.hinted_columns())
        except Invalid as error:
            raise Invalid(error.problem, at=("warehouse", *error.at)) from None


class _SourceSpec(_TableSpec):
    """`sql/sources/<collection>.yml`."""

    description: Text
    key: Text
    cursor: Text
    columns: Annotated[list[_SourceColumnSpec], AfterValidator(_column_list)]
    extract_priority: int = 0  # larger collections first: their longer loads overlap smaller extracts

    def check(self) -> None:
        types = {column.name: column.type for column in self.columns}
        for named in ("key", "cursor"):
            if getattr(self, named) not in types:
                raise Invalid("must be one of the declared columns", at=named)
        if types[self.cursor] != "timestamp":
            raise Invalid(f"{self.cursor!r} is {types[self.cursor]}: windows are time ranges, the cursor must be a "
                          f"timestamp", at="cursor")
        if types[self.key] not in KEY_TYPES:
            raise Invalid(f"{self.key!r} is {types[self.key]}; a key is one of {', '.join(KEY_TYPES)}", at="key")
        if any(name == REGION_COLUMN or (name.startswith("_") and name != "_id") for name in types):
            raise Invalid(f"{REGION_COLUMN!r} and names starting with '_' (but _id) are the pipeline's own columns",
                          at="columns")

    def hinted_columns(self) -> tuple[str, ...]:
        return (REGION_COLUMN, *super().hinted_columns())


class _DependsOn(Spec):
    sources: Names = ()
    models: Names = ()


class _Incremental(Spec):
    what = "{key: [...], touched: <select of the window's keys>}"

    key: Names = ()
    touched: Text


class _ModelSpec(_TableSpec):
    """`sql/models/<model>/model.yml`, beside its model.sql."""

    description: Text
    grain: Text
    unique_key: Names = ()
    depends_on: _DependsOn = _DependsOn()
    incremental: _Incremental
    tests: list[DeclaredTest] = []
    tested = True

    def check(self) -> None:
        names = {column.name for column in self.columns}
        if REGION_COLUMN not in names:
            raise Invalid(f"every model has a {REGION_COLUMN!r} column: windows rebuild per region", at="columns")
        for group, named in ((self.unique_key, "unique_key"), (self.incremental.key, "incremental.key")):
            if not group:
                raise Invalid("missing", at=named)
            for column in group:
                if column not in names:
                    raise Invalid(f"{column!r} is not a column", at=named)
        if REGION_COLUMN not in self.unique_key:
            raise Invalid(f"must include {REGION_COLUMN!r}: windows rebuild one region at a time", at="unique_key")
        if not set(self.incremental.key) <= set(self.unique_key):
            raise Invalid(f"must include the incremental key ({', '.join(self.incremental.key)}): a window "
                          f"rebuilds whole key slices, so rows of two slices must never collide", at="unique_key")
        for test in self.data_tests:
            for column in test.columns:
                if column not in names:
                    raise Invalid(f"{test.label}: {column!r} is not a column", at="tests")

    @cached_property
    def data_tests(self) -> tuple[DataTest, ...]:
        """The unique key's test, each column's tests, then the model's own."""
        return (DataTest("unique", self.unique_key),
                *(replace(test, columns=(column.name,)) for column in self.columns for test in column.tests),
                *self.tests)


def parse_pipeline_table(name: str, raw: Any, where: str) -> Table:
    """One of the pipeline's own tables: `<schema>.<table>.yml` with a description and columns."""
    schema, _, table = name.partition(".")
    if not (is_identifier(schema) and is_identifier(table)):
        raise CatalogError(f"{where}: the file name must be <schema>.<table>.yml, in lowercase")
    spec = _validated(_TableSpec, raw, where)
    return Table(name, tuple(column.column() for column in spec.columns), declared_in=where,
                 description=spec.description, **spec.hints)


def parse_source(name: str, raw: Any, where: str) -> Source:
    if not is_identifier(name):
        raise CatalogError(f"{where}: the file name must be a lowercase collection name")
    spec = _validated(_SourceSpec, raw, where)
    columns = tuple(column.column(nullable=column.name not in (spec.key, spec.cursor)) for column in spec.columns)
    return Source(name, spec.description, spec.key, spec.cursor, columns, spec.extract_priority, path=where,
                  **spec.hints)


def parse_model(folder: Path, root: Path) -> Model:
    name = folder.name
    if not is_identifier(name):
        raise CatalogError(f"{_shown(folder, root)}: a model folder name must be a lowercase table name")
    if not (folder / "model.yml").is_file() or not (folder / "model.sql").is_file():
        raise CatalogError(f"{_shown(folder, root)}: a model folder holds model.yml and model.sql")
    where = _shown(folder / "model.yml", root)
    spec = _validated(_ModelSpec, _read_yaml(folder / "model.yml"), where)
    return Model(
        name=name, description=spec.description, grain=spec.grain, unique_key=spec.unique_key,
        key=spec.incremental.key, touched_sql=spec.incremental.touched.strip().rstrip(";"),
        select_sql=(folder / "model.sql").read_text(encoding="utf-8").strip().rstrip(";"),
        columns=tuple(column.column() for column in spec.columns), depends_on_sources=spec.depends_on.sources,
        depends_on_models=spec.depends_on.models, tests=spec.data_tests, path=where, **spec.hints,
    )


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
