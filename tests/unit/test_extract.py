"""extract_window on in-memory documents and a local-folder store: parts, rotation, quarantine, manifest."""

import csv
import datetime as dt
import gzip
import json

from bson import ObjectId

from pipeline.catalog import catalog
from pipeline.config import parse_storage_url
from pipeline.convert import NULL
from pipeline.extract import extract_window, read_manifest
from pipeline.storage import ObjectStore
from pipeline.windows import window_at

WINDOW = window_at(dt.datetime(2026, 11, 20), 1440)


def answers(n):
    return [{"_id": ObjectId(), "client_id": "acme", "title": f"Answer {i} — ünïcode", "language": "fr",
             "active": True, "version": i, "created_at": WINDOW.start, "updated_at": WINDOW.start} for i in range(n)]


def read_rows(store, manifest):
    rows = []
    for part in manifest["parts"]:
        with gzip.open(store.url(part["path"]), "rt", encoding="utf-8", newline="") as stream:
            rows.extend(csv.reader(stream))
    return rows


def test_parts_rotate_by_rows_and_the_manifest_lists_them(tmp_path):
    store = ObjectStore(parse_storage_url(str(tmp_path)))
    docs = answers(2500)
    manifest = extract_window(docs, catalog().source("answers"), "eu", WINDOW, store, part_rows=1000,
                              part_bytes=2**30, compress_level=1)
    assert [p["rows"] for p in manifest["parts"]] == [1000, 1000, 500]
    assert (manifest["extracted"], manifest["written"], manifest["quarantined"]) == (2500, 2500, 0)
    rows = read_rows(store, manifest)
    assert [r[1] for r in rows] == [str(d["_id"]) for d in docs]
    assert rows[0][catalog().source("answers").file_column_names.index("_extra")] == NULL
    assert read_manifest(store, "eu", "answers", WINDOW) == manifest
    # Redshift's COPY manifest (written at load) needs each part's exact size.
    assert [store.size(p["path"]) for p in manifest["parts"]] == [p["bytes"] for p in manifest["parts"]]


def test_parts_rotate_by_size(tmp_path):
    store = ObjectStore(parse_storage_url(str(tmp_path)))
    manifest = extract_window(answers(5000), catalog().source("answers"), "eu", WINDOW, store, part_rows=10**6,
                              part_bytes=20_000, compress_level=1)
    assert len(manifest["parts"]) > 1
    assert sum(p["rows"] for p in manifest["parts"]) == 5000


def test_empty_window_still_gets_a_manifest(tmp_path):
    store = ObjectStore(parse_storage_url(str(tmp_path)))
    manifest = extract_window([], catalog().source("answers"), "eu", WINDOW, store, part_rows=10, part_bytes=10**6,
                              compress_level=1)
    assert manifest["parts"] == [] and manifest["extracted"] == 0
    assert store.exists("raw/eu/answers/dt=2026-11-20/0000-1440m/manifest.json")


def test_quarantined_documents_are_written_beside_the_parts(tmp_path):
    store = ObjectStore(parse_storage_url(str(tmp_path)))
    docs = answers(3)
    docs[1]["updated_at"] = "v2"
    docs[2]["version"] = "v2"  # drift: lands with version NULL
    manifest = extract_window(docs, catalog().source("answers"), "eu", WINDOW, store, part_rows=10, part_bytes=10**6,
                              compress_level=1)
    assert (manifest["written"], manifest["quarantined"]) == (2, 1)
    lines = gzip.decompress(store.read_bytes(manifest["quarantine"])).decode().splitlines()
    assert json.loads(lines[0])["_id"] == str(docs[1]["_id"])
    assert "field 'updated_at'" in manifest["quarantine_reasons"][0]
    assert manifest["drift"] == [{"field": "version", "type": "string", "documents": 1, "nulled": 1,
                                  "examples": [str(docs[2]["_id"])]}]
