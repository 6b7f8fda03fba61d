"""artzoo: model artistic workflows (sketch → flat colours → detail) as stage-wise networks.

    import artzoo
    pipe = artzoo.load("fluent-emoji")
    wf = pipe.generate("sketch.png", seed=0)
"""

from .errors import ArtzooError
from .pipeline import WorkflowPipeline
from .workflow import Workflow
from .zoo import list_pipelines, load

__version__ = "0.1.0"
__all__ = ["ArtzooError", "WorkflowPipeline", "Workflow", "list_pipelines", "load", "__version__"]
