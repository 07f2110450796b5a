"""Luigi tasks of the pipeline; `luigi --module pipeline.tasks Backfill --start ... --end ...` works."""

import pipeline.alerts  # noqa: F401  (registers the failure handler that feeds batched alerts)
from pipeline.secrets import redact_logs
from pipeline.tasks.exports import DeliverExport, ExportsDue, RenderExport
from pipeline.tasks.extract import ExtractWindow
from pipeline.tasks.flow import Backfill, Refresh, Sync, Transform
from pipeline.tasks.load import LoadWindow
from pipeline.tasks.transform import BuildModels, FullRefresh, TransformWindow

redact_logs()  # `luigi --module pipeline.tasks ...` logs through Luigi alone: no secret in its records either

__all__ = ["Backfill", "BuildModels", "DeliverExport", "ExportsDue", "ExtractWindow", "FullRefresh", "LoadWindow",
           "Refresh", "RenderExport", "Sync", "Transform", "TransformWindow"]
