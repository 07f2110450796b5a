"""A new warehouse kind is a folder: tests/kinds/pgwhere (PostgreSQL under its own scheme, its own DELETE), kept
outside the product and registered the way any outside kind is, by an entry point of an installed distribution.
The whole pipeline then runs on it, and its statements are its own."""

from __future__ import annotations

import datetime as dt

import pytest
from pymongo import MongoClient

from pipeline.catalog import catalog
from pipeline.cli import main
from pipeline.config import warehouse_url
from pipeline.transform import model_statements
from pipeline.warehouse import ENTRY_POINTS, _plugin_kinds, connection, dialect, kind_of, kinds
from tests.integration.test_end_to_end import assert_matches_documents, seed

pytestmark = pytest.mark.integration


@pytest.fixture
def pgwhere_env(local_env, monkeypatch, tmp_path):
    """local_env with the warehouse reached as pgwhere://, the kind installed as a distribution whose entry point
    names it (a .dist-info folder on sys.path, which importlib.metadata reads as pip leaves it)."""
    site = tmp_path / "site"
    info = site / "pgwhere_kind-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pgwhere-kind\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINTS}]\npgwhere = tests.kinds.pgwhere\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("PIPELINE_WAREHOUSE_URL", "pgwhere" + local_env.warehouse_url.removeprefix("postgresql"))
    _plugin_kinds.cache_clear()
    yield local_env
    _plugin_kinds.cache_clear()


def test_a_kind_outside_the_product_runs_the_whole_pipeline_with_its_own_statements(pgwhere_env):
    assert "pgwhere" in kinds() and kind_of(warehouse_url()) == "pgwhere"
    model = catalog().model("conversations")
    own, shared = (model_statements(model, catalog(), dialect(kind)).delete for kind in ("pgwhere", "postgresql"))
    assert "exists" in own.split() and "using" not in own.split() and "using" in shared.split()
    assert dialect("pgwhere").template("lock.sql") == dialect("postgresql").template("lock.sql")  # the parent's

    seed(pgwhere_env, per_day=30, days=2)
    args = ["--start", "2026-11-20", "--end", "2026-11-22"]
    assert main(["backfill", *args, "--local-scheduler", "--workers", "1"]) == 0
    assert connection().dialect.kind == "pgwhere"
    assert_matches_documents(pgwhere_env)

    # Changed documents move conversations between languages: the window rebuild deletes through pgwhere's own
    # statement, and the models still equal the documents.
    region, uri = next(iter(pgwhere_env.mongo_uris.items()))
    database = MongoClient(uri).get_default_database()
    for conversation in database.conversations.find({"language": "fr"}):
        database.conversations.update_one({"_id": conversation["_id"]}, {"$set": {
            "language": "de", "updated_at": conversation["updated_at"] + dt.timedelta(milliseconds=1)}})
    assert main(["backfill", "--rerun", *args, "--local-scheduler", "--workers", "1"]) == 0
    assert_matches_documents(pgwhere_env)
    assert main(["verify", *args]) == 0


@pytest.mark.parametrize("entry_point, problem", [
    ("pgwhere = no_such_module_xyz", "does not load: ModuleNotFoundError"),
    ("pgwhere = json", "a kind.s module gives DIALECT, SCHEMES, URL_FORM, connect; it lacks DIALECT"),
    ("postgresql = tests.kinds.pgwhere", "postgresql is a kind of the pipeline's own"),
])
def test_a_broken_outside_kind_is_named_and_never_breaks_classifying_an_error(tmp_path, monkeypatch, entry_point,
                                                                              problem):
    from pipeline.config import ConfigError, parse_warehouse_url
    from pipeline.warehouse import is_transient

    info = tmp_path / "broken_kind-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-kind\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINTS}]\n{entry_point}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _plugin_kinds.cache_clear()
    try:
        assert kind_of(parse_warehouse_url("postgresql:///dw")) == "postgresql"  # a folder's kind needs no plugin
        assert is_transient(RuntimeError("x")) is False
        with pytest.raises(ConfigError, match=rf"^entry point {entry_point} \({ENTRY_POINTS}\): {problem}"):
            kind_of(parse_warehouse_url("mysql://dw"))
    finally:
        _plugin_kinds.cache_clear()
