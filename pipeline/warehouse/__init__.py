"""Warehouse drivers behind one interface: PostgreSQL (psycopg 3) and Redshift (redshift-connector)."""

from __future__ import annotations

from pipeline.config import WarehouseUrl, warehouse, warehouse_url
from pipeline.warehouse.base import LoadResult, Warehouse, WarehouseError

__all__ = ["LoadResult", "Warehouse", "WarehouseError", "connect"]


def connect(url: WarehouseUrl | None = None) -> Warehouse:
    """A connection to the configured warehouse (PIPELINE_WAREHOUSE_URL or luigi.cfg)."""
    url = url or warehouse_url()
    if url.kind == "redshift":
        from pipeline.warehouse.redshift import RedshiftWarehouse

        return RedshiftWarehouse(url, iam_role=warehouse().iam_role)
    from pipeline.warehouse.postgresql import PostgresWarehouse

    return PostgresWarehouse(url)
