"""PostgreSQL warehouse kind (psycopg 3): URL scheme postgresql:// or postgres://."""

from pipeline.config import WarehouseUrl
from pipeline.warehouse.base import Warehouse
from pipeline.warehouse.postgresql.dialect import DIALECT

__all__ = ["DIALECT", "connect"]


def connect(url: WarehouseUrl) -> Warehouse:
    from pipeline.warehouse.postgresql.driver import PostgresWarehouse

    return PostgresWarehouse(url)
