"""Redshift compatibility of SQL text: constructs PostgreSQL accepts and Redshift rejects, with file and line.

The transform, export and load SQL runs on both warehouses; PostgreSQL (the local default) would let these
through and the first run on Redshift would fail. Each statement is tokenized and parsed by sqlglot, and the
deny-list below is matched on the parse tree, so a construct is found however it is split over lines, and never
inside a literal, a quoted name or a comment. sqlglot's own Redshift reader accepts every one of these, so a clean
parse proves nothing: the deny-list is what the check adds. Operators (`::`, `->>`, `@>`) and `now()` leave no
trace of their spelling in the tree and are matched on the tokens; a statement sqlglot keeps as an unparsed
command (`lock`, `create temp table ... on commit drop`) is matched on its tokens too.

It is the Redshift dialect's `rejected` (pipeline.warehouse.sqlcheck): `pipeline sql-check` runs it over files,
the test command over every SQL file, model block and generated statement, and `pipeline doctor` over the same
(the configured SQL folder) when the warehouse is Redshift."""

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
    # Its words must be there too: the tree does not tell it from something Redshift runs (GENERATED ALWAYS AS
    # IDENTITY and Redshift's own IDENTITY(1, 1) make the same node).
    worded: bool = False
    # Its words alone find it in a statement with no tree; False where they also name ordinary things (a column
    # called json).
    by_words: bool = True


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
              lambda n: isinstance(n, exp.Create) and str(n.args.get("kind")).upper() == "INDEX",
              (("create", "index"), ("create", "unique", "index"))),
    Construct("FOR UPDATE / FOR SHARE", _is(exp.Lock),
              (("for", "update"), ("for", "share"), ("for", "no"), ("for", "key"))),
    Construct("RETURNING", _is(exp.Returning), (("returning",),)),
    Construct("jsonb", _typed(exp.DataType.Type.JSONB), (("jsonb",),)),
    Construct("the json type (Redshift has SUPER; keep JSON in varchar)", _typed(exp.DataType.Type.JSON),
              (("json",),), by_words=False),
    Construct("an array", lambda n: isinstance(n, exp.Array) or _typed(exp.DataType.Type.ARRAY)(n),
              (("array", "["), ("[", "]"), ("array", "("))),
    Construct("array_agg", _is(exp.ArrayAgg), (("array_agg",),)),
    Construct("string_agg (use listagg)", _is(exp.GroupConcat), (("string_agg",), ("group_concat",))),
    Construct("unnest", _is(exp.Explode, exp.Unnest), (("unnest",),)),
    Construct("regexp_matches (use regexp_substr)", _called("regexp_matches"), (("regexp_matches",),)),
    Construct("generate_series (leader node only: not with tables)",
              _is(exp.GenerateSeries, exp.ExplodingGenerateSeries), (("generate_series",),)),
    Construct("LATERAL", _is(exp.Lateral), (("lateral",),)),
    Construct("FILTER (WHERE ...) (use a CASE inside the aggregate)", _is(exp.Filter), (("filter", "("),)),
    Construct("ON COMMIT", _is(exp.OnCommitProperty), (("on", "commit"),)),
    Construct("GENERATED ALWAYS AS IDENTITY (write IDENTITY(seed, step))",
              _is(exp.GeneratedAsIdentityColumnConstraint), (("generated", "always"),), worded=True),
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
    tokens = _inner_statement(tokens, text)
    words = [token.text.lower() for token in tokens]
    for kinds, name in IN_THE_TOKENS:
        for index, token in enumerate(tokens):
            if (token.token_type in kinds if isinstance(kinds, frozenset)
                    else tuple(words[index:index + len(kinds)]) == kinds):
                yield token.line, name
    tree = _parsed(tokens, text)
    for construct in IN_THE_TREE:
        places = [tokens[index].line for index in range(len(words)) for anchor in construct.anchors
                  if tuple(words[index:index + len(anchor)]) == anchor]
        if tree is None or isinstance(tree, exp.Command):  # no tree: its words are all there is
            yield from ((line, construct.name) for line in (places if construct.by_words else []))
            continue
        nodes = [node for node in tree.walk() if construct.matches(node)]
        if construct.worded:
            nodes = nodes[:len(places)]
        for line in _lines(nodes, places, tokens[0].line):
            yield line, construct.name


def _inner_statement(tokens: list[Token], text: str) -> list[Token]:
    """The statement that EXPLAIN or PREPARE ... AS wraps, tokenized with its own lines (sqlglot keeps it as one
    string after the command word), else the tokens as they are."""
    if len(tokens) != 2 or tokens[0].token_type != TokenType.COMMAND or tokens[1].token_type != TokenType.STRING:
        return tokens
    if tokens[0].text.lower() not in ("explain", "prepare"):
        return tokens
    start, end = tokens[0].end + 1, tokens[1].end + 1
    inner = text[start:end]
    words = re.match(r"(\s*(analyze|verbose)\b)*\s*" if tokens[0].text.lower() == "explain" else
                     r"\s*\w+\s*(\([^)]*\))?\s*as\b", inner, re.IGNORECASE)
    start += words.end() if words else 0
    try:
        inner_tokens = READER.tokenize(text[start:end])
    except TokenError:
        return tokens
    below = text[:start].count("\n")
    for token in inner_tokens:
        token.line += below
    return inner_tokens


def _lines(nodes: list[exp.Expression], places: list[int], first_line: int) -> list[int]:
    """The line of each node: the place its words begin that fits where its own names and values are (the
    parser keeps lines for those only), each place used once; the statement's first line when none fits."""
    free = sorted(places)
    found = []
    for node in nodes:
        own = _first_line(node)
        if own:  # its words come before its first name or value
            fitting = [line for line in free if line <= own] or [line for line in free if line >= own]
            pick = (fitting[-1] if fitting[0] <= own else fitting[0]) if fitting else 0
        else:  # a clause without names (ON CONFLICT DO NOTHING): the first place after where its statement starts
            above = next((line for parent in _ancestors(node) if (line := _first_line(parent))), first_line)
            fitting = [line for line in free if line >= above] or free
            pick = fitting[0] if fitting else 0
        if pick:
            free.remove(pick)
        found.append(pick or first_line)
    return found


def _first_line(node: exp.Expression) -> int:
    lines = [n.meta["line"] for n in node.walk() if n.meta and "line" in n.meta]
    return min(lines) if lines else 0


def _ancestors(node: exp.Expression) -> Iterator[exp.Expression]:
    while node.parent is not None:
        node = node.parent
        yield node


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
