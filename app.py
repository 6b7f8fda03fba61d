"""artzoo's web app: `python app.py` here, or this file as a Hugging Face Space (sdk: gradio).

Serves the pipelines published in checkpoints/ (or $ARTZOO_CHECKPOINTS) on GRADIO_SERVER_NAME and
GRADIO_SERVER_PORT (default 127.0.0.1:7860). Needs no network: nothing is downloaded at run time.
"""

import os
import tempfile
import time

start = time.perf_counter()
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no calls home, the app must run offline
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Visitors' uploads and results are theirs: every file this server writes is private to its user (0600),
# and Gradio's cache is a fresh private folder of this process, not the shared /tmp/gradio.
os.umask(0o077)
os.environ.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp(prefix="artzoo-gradio-"))

from artzoo.app import PipelineRegistry, build_demo, launch_kwargs  # noqa: E402

registry = PipelineRegistry()
registry.get(registry.default)  # load the default pipeline now, so the first request is not slow
demo = build_demo(registry)

if __name__ == "__main__":
    print(f"artzoo app ready in {time.perf_counter() - start:.1f} s (import + default pipeline + layout)", flush=True)
    demo.launch(**launch_kwargs(registry))
