"""artzoo's Gradio app (run `python app.py` at the repository root, or deploy that file as a Space).

    from artzoo.app import PipelineRegistry, build_demo, launch_kwargs
    registry = PipelineRegistry()          # the pipelines in checkpoints/ (or an untrained stand-in)
    build_demo(registry).launch(**launch_kwargs(registry))
"""

from .registry import DEMO_NAME, PipelineRegistry
from .ui import build_demo, launch_kwargs

__all__ = ["DEMO_NAME", "PipelineRegistry", "build_demo", "launch_kwargs"]
