"""`pipeline lake prune`: extracted windows leave the lake after `[storage] retention_days`. This is how a
document deleted in MongoDB (or personal data a customer asked to erase) leaves the part files too; on S3
the lifecycle rule in deploy/s3/lifecycle.json does the same without this command."""

from __future__ import annotations

import datetime as dt

from pipeline.storage import ObjectStore

DAY_FOLDER = "dt="


def expired_days(store: ObjectStore, regions: list[str], collections: list[str], before: dt.date) -> list[str]:
    """The day folders (raw/<region>/<collection>/dt=YYYY-MM-DD) of days before `before`."""
    expired = []
    for region in regions:
        for collection in collections:
            base = f"raw/{region}/{collection}"
            for name in store.folders(base):
                try:
                    day = dt.date.fromisoformat(name.removeprefix(DAY_FOLDER))
                except ValueError:
                    continue  # not a day folder: left alone
                if name.startswith(DAY_FOLDER) and day < before:
                    expired.append(f"{base}/{name}")
    return expired


def prune(store: ObjectStore, folders: list[str]) -> None:
    for folder in folders:
        store.remove_folder(folder)
