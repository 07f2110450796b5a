"""Amazon Redshift warehouse kind (redshift-connector): URL scheme redshift://."""

from pipeline.config import WarehouseSettings, WarehouseUrl
from pipeline.warehouse.base import Warehouse
from pipeline.warehouse.redshift.dialect import DIALECT

__all__ = ["DIALECT", "SCHEMES", "URL_FORM", "connect"]
SCHEMES = ("redshift",)
URL_FORM = "redshift://user@host:5439/db"


def connect(url: WarehouseUrl) -> Warehouse:
    from pipeline.warehouse.redshift.driver import RedshiftWarehouse

    settings = WarehouseSettings()
    return RedshiftWarehouse.connect(url, iam_role=settings.iam_role, query_group=settings.etl_query_group)
