"""The one place that names objects in the store, from a task's family and parameters."""

from __future__ import annotations

from pipeline.windows import Window


def window_prefix(region: str, collection: str, window: Window) -> str:
    """raw/<region>/<collection>/dt=YYYY-MM-DD/HHMM-<minutes>m"""
    return f"raw/{region}/{collection}/dt={window.start:%Y-%m-%d}/{window.start:%H%M}-{window.minutes}m"


def part_path(prefix: str, index: int) -> str:
    return f"{prefix}/part-{index:05d}.csv.gz"


def manifest_path(prefix: str) -> str:
    """Written last: its presence means the window's extract is complete."""
    return f"{prefix}/manifest.json"


def quarantine_path(prefix: str) -> str:
    return f"{prefix}/quarantine.jsonl.gz"


def undated_path(region: str, collection: str) -> str:
    """raw/<region>/<collection>/undated.jsonl.gz: the documents no window reads, as `pipeline verify` found
    them last."""
    return f"raw/{region}/{collection}/undated.jsonl.gz"


def export_path(name: str, interval_label: str, file_format: str) -> str:
    """exports/<name>/<interval>.<format>"""
    return f"exports/{name}/{interval_label}.{file_format}"


def rendered_path(export_file: str) -> str:
    """Beside an export's file, what RenderExport found (rows, bytes, columns); written after the file."""
    return export_file + ".json"
