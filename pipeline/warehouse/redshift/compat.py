"""Redshift compatibility of SQL text: constructs PostgreSQL accepts and Redshift rejects, with file and line.

The transform, export and load SQL runs on both warehouses; PostgreSQL (the local default) would let these
through and the first run on Redshift would fail. Each statement is tokenized and parsed by sqlglot, and the
deny-list below is matched on the parse tree, so a construct is found however it is split over lines, and never
inside a literal, a quoted name or a comment. sqlglot's own Redshift reader accepts every one of these, so a clean
parse proves nothing: the deny-list is what the check adds. Operators (`::`, `->>`, `@>`) and `now()` leave no
trace of their spelling in the tree and are matched on the tokens; a statement sqlglot keeps as an unparsed
command (`lock`, `create temp table ... on commit drop`) is matched on its tokens too.

It is the Redshift dialect's `rejected` (pipeline.warehouse.sqlcheck): `pipeline sql-check` runs it over files,
the test command over every SQL file, model block and generated statement, and `pipeline doctor` over the
configured SQL folder when the warehouse is Redshift."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

READER = Postgres()  # what the SQL is written in: PostgreSQL's syntax, bound with %(name)s


@dataclass(frozen=True)
class Construct:
    """One thing Redshift does not run: how the parse tree shows it, and the words that begin it in the text
    (to give its line, and to find it in a statement sqlglot could not parse)."""

    name: str
    matches: Callable[[exp.Expression], bool]
    anchors: tuple[tuple[str, ...], ...]


def _is(*kinds: type[exp.Expression]) -> Callable[[exp.Expression], bool]:
    return lambda node: isinstance(node, kinds)


def _typed(*types: exp.DataType.Type) -> Callable[[exp.Expression], bool]:
    return lambda node: isinstance(node, exp.DataType) and node.this in types


def _called(name: str) -> Callable[[exp.Expression], bool]:
    return lambda node: isinstance(node, exp.Anonymous) and str(node.this).lower() == name


IN_THE_TREE: tuple[Construct, ...] = (
    Construct("ON CONFLICT", _is(exp.OnConflict), (("on", "conflict"),)),
    Construct("DISTINCT ON", lambda n: isinstance(n, exp.Distinct) and n.args.get("on") is not None,
              (("distinct", "on"),)),
    Construct("CREATE INDEX (Redshift has sort keys)",
              lambda n: isinstance(n, exp.Create) and str(n.args.get("kind")).upper() == "INDEX", (("index",),)),
    Construct("FOR UPDATE / FOR SHARE", _is(exp.Lock), (("for", "update"), ("for", "share"), ("for", "no"))),
    Construct("RETURNING", _is(exp.Returning), (("returning",),)),
    Construct("jsonb", _typed(exp.DataType.Type.JSONB), (("jsonb",),)),
    Construct("the json type (Redshift has SUPER; keep JSON in varchar)", _typed(exp.DataType.Type.JSON),
              (("json",),)),
    Construct("an array", lambda n: isinstance(n, exp.Array) or _typed(exp.DataType.Type.ARRAY)(n),
              (("array",), ("[",))),
    Construct("array_agg", _is(exp.ArrayAgg), (("array_agg",),)),
    Construct("string_agg (use listagg)", _is(exp.GroupConcat), (("string_agg",), ("group_concat",))),
    Construct("unnest", _is(exp.Explode, exp.Unnest), (("unnest",),)),
    Construct("regexp_matches (use regexp_substr)", _called("regexp_matches"), (("regexp_matches",),)),
    Construct("generate_series (leader node only: not with tables)",
              _is(exp.GenerateSeries, exp.ExplodingGenerateSeries), (("generate_series",),)),
    Construct("LATERAL", _is(exp.Lateral), (("lateral",),)),
    Construct("FILTER (WHERE ...) (use a CASE inside the aggregate)", _is(exp.Filter), (("filter",),)),
    Construct("ON COMMIT", _is(exp.OnCommitProperty), (("on", "commit"),)),
    Construct("GENERATED ... AS IDENTITY (write IDENTITY(seed, step))",
              _is(exp.GeneratedAsIdentityColumnConstraint), (("generated",),)),
    Construct("AS MATERIALIZED", lambda n: isinstance(n, exp.CTE) and n.args.get("materialized") is not None,
              (("materialized",),)),
    Construct("concat of more than two arguments (use ||)",
              lambda n: isinstance(n, exp.Concat) and len(n.expressions) > 2, (("concat",),)),
)

# Spelled only in the tokens: `a::int` and cast(a as int) make the same tree, as do `a ->> 'k'` and
# json_extract_path_text(a, 'k'), and now() and current_timestamp.
IN_THE_TOKENS: tuple[tuple[frozenset[TokenType] | tuple[str, ...], str], ...] = (
    (frozenset({TokenType.DCOLON}), "a :: cast (write cast(x as type))"),
    (frozenset({TokenType.ARROW, TokenType.DARROW, TokenType.HASH_ARROW, TokenType.DHASH_ARROW, TokenType.AT_GT,
                TokenType.LT_AT, TokenType.QMARK_PIPE, TokenType.QMARK_AMP}),
     "a JSON operator (use json_extract_path_text)"),
    (("now", "("), "now() (use getdate(), or a bound value)"),
)

_TEMPLATE_NAME = re.compile(r"\{(\w+)\}")  # {target}, {columns}: identifiers the renderer fills in


def problems(text: str, where: str, first_line: int = 1) -> list[str]:
    """`where:line: construct` for each construct Redshift rejects in the SQL text (one or more statements)."""
    # A template's {name} becomes a plain name of the same length, so columns and lines stay where they were.
    text = _TEMPLATE_NAME.sub(lambda m: f" {m[1]} ", text)
    try:
        tokens = READER.tokenize(text)
    except TokenError as error:
        return [f"{where}:{first_line}: cannot be read as SQL ({error})"]
    found: list[str] = []
    for statement in _statements(tokens):
        found += [f"{where}:{line + first_line - 1}: {name}, which Redshift rejects"
                  for line, name in _found(statement, text)]
    return list(dict.fromkeys(found))


def _statements(tokens: list[Token]) -> Iterator[list[Token]]:
    statement: list[Token] = []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if statement:
                yield statement
            statement = []
        else:
            statement.append(token)
    if statement:
        yield statement


def _found(tokens: list[Token], text: str) -> Iterator[tuple[int, str]]:
    """(line, construct) of each construct in one statement's tokens."""
    words = [token.text.lower() for token in tokens]
    for kinds, name in IN_THE_TOKENS:
        for index, token in enumerate(tokens):
            if (token.token_type in kinds if isinstance(kinds, frozenset)
                    else tuple(words[index:index + len(kinds)]) == kinds):
                yield token.line, name
    tree = _parsed(tokens, text)
    for construct in IN_THE_TREE:
        places = sorted(index for anchor in construct.anchors for index in range(len(words))
                        if tuple(words[index:index + len(anchor)]) == anchor)
        if tree is None or isinstance(tree, exp.Command):  # no tree: its words are all there is
            count = len(places)
        else:
            count = sum(1 for node in tree.walk() if construct.matches(node))
        for nth in range(count):
            # The n-th occurrence in the tree is reported at the n-th place its words begin (else the statement's).
            yield (tokens[places[nth]].line if nth < len(places) else tokens[0].line), construct.name


def _parsed(tokens: list[Token], text: str) -> exp.Expression | None:
    with _quiet_sqlglot():
        try:
            parsed = READER.parser().parse(tokens, text)
        except ParseError:
            return None
    return parsed[0] if parsed else None


@contextmanager
def _quiet_sqlglot() -> Iterator[None]:
    """sqlglot warns on the log when it keeps a statement as an unparsed command; the check handles that."""
    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
