"""Training artzoo pipelines (the paper's three phases) and exporting them; see train/README.md."""

from .config import load_config
from .export import export_pipeline
from .loop import train_phase

__all__ = ["load_config", "export_pipeline", "train_phase"]
