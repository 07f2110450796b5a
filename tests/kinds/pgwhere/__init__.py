"""A warehouse kind the suite alone uses: PostgreSQL under its own URL scheme (pgwhere://), wording one statement
its own way (no DELETE ... USING: its sql/model_delete.sql deletes by EXISTS, as a PostgreSQL-compatible database
without USING would). It reaches the pipeline the way a kind kept outside the product does, through the entry point
group pipeline.warehouse_kinds (tests/integration/test_new_kind.py registers it): proof that a new kind of the
PostgreSQL family is a folder and nothing else."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from pipeline.config import WarehouseUrl
from pipeline.warehouse.base import Warehouse
from pipeline.warehouse.postgresql import DIALECT as POSTGRESQL

SCHEMES = ("pgwhere",)
URL_FORM = "pgwhere:///db?host=/socket/dir"
DIALECT = dataclasses.replace(POSTGRESQL, kind="pgwhere", templates=Path(__file__).resolve().parent / "sql",
                              extends=POSTGRESQL)


def connect(url: WarehouseUrl) -> Warehouse:
    from pipeline.warehouse.postgresql.driver import PostgresWarehouse

    class PgWhereWarehouse(PostgresWarehouse):
        dialect = DIALECT

    return PgWhereWarehouse(dataclasses.replace(url, scheme="postgresql", url="postgresql" + url.url[len("pgwhere"):]))
