"""Shared fixtures: a tiny randomly initialised pipeline and simple test pictures."""

import atexit
import os
import shutil
import tempfile

# Tests never reach the Hub: huggingface_hub must answer from its cache or fail fast.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
# The in-process app servers get this session's own Gradio cache (as app.py's do), set before Gradio is
# imported: two suites on one machine must not share, or sweep, the common /tmp/gradio.
if "GRADIO_TEMP_DIR" not in os.environ:
    os.environ["GRADIO_TEMP_DIR"] = tempfile.mkdtemp(prefix="artzoo-tests-gradio-")
    atexit.register(shutil.rmtree, os.environ["GRADIO_TEMP_DIR"], ignore_errors=True)

import numpy as np
import pytest
import torch

from artzoo import WorkflowPipeline

# Tiny test models are overhead-bound: one thread is as fast and does not fight other processes.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_pipeline() -> WorkflowPipeline:
    """3 stages at 32 px with the tiny preset, discriminators and a learned regulariser."""
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny",
                                        discriminators=True, regularizer=True, seed=0)
    # Spread the regulariser's weights so "learned" differs visibly from no decay, and give each
    # transition its own θ, so a fit that used one transition's for another would show.
    for i, t in enumerate(pipe.transitions):
        t.regularizer.theta.data = torch.linspace(3.0, 6.0, t.regularizer.theta.numel()) + i
    return pipe


@pytest.fixture(scope="session")
def tiny_dir(tiny_pipeline, tmp_path_factory):
    path = tmp_path_factory.mktemp("pipe") / "tiny"
    tiny_pipeline.save_pretrained(path)
    return path


@pytest.fixture
def sketch() -> np.ndarray:
    """A 90×60 sketch: black lines on white (not square, to exercise fitting into the model square)."""
    img = np.full((90, 60), 255, np.uint8)
    img[10:80, 30] = 0
    img[45, 5:55] = 0
    img[20:25, 10:50] = 0
    return img


@pytest.fixture
def artwork() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = np.full((48, 64, 3), 255, np.uint8)
    img[8:40, 10:54] = (240, 180, 40)
    img[16:30, 20:44] = (200, 60, 60)
    img += rng.integers(0, 10, img.shape, dtype=np.uint8)
    return img
