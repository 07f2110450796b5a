"""PostgreSQL warehouse kind (psycopg 3): URL scheme postgresql:// or postgres://."""

from pipeline.config import WarehouseUrl
from pipeline.warehouse.base import Warehouse
from pipeline.warehouse.postgresql.dialect import DIALECT

__all__ = ["DIALECT", "SCHEMES", "URL_FORM", "connect"]
SCHEMES = ("postgresql", "postgres")
URL_FORM = "postgresql://user@host:port/db or postgresql:///db?host=/socket/dir"


def connect(url: WarehouseUrl) -> Warehouse:
    from pipeline.warehouse.postgresql.driver import PostgresWarehouse

    return PostgresWarehouse(url)
