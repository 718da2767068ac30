"""Watching a run: TensorBoard + JSONL metrics, and a terminal progress bar."""

from rlagent.monitor.logger import METRICS_FILE, SB3_TAGS, RunLogger, flatten_hparams, read_metrics
from rlagent.monitor.progress import Progress

__all__ = ["METRICS_FILE", "SB3_TAGS", "Progress", "RunLogger", "flatten_hparams", "read_metrics"]
