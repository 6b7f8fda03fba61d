"""Helpers for the app tests: a tiny random pipeline folder with examples, test pictures, a live server."""

from __future__ import annotations

import contextlib
import os
import socket
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import numpy as np
from PIL import Image

from artzoo import WorkflowPipeline

PIPELINE = "tiny"
FOUR_STAGES = "tiny4"


def make_checkpoints(root: Path, four_stages: bool = False) -> Path:
    """A checkpoints folder with a tiny 32 px pipeline (learned regulariser included) and examples;
    with ``four_stages``, also a second pipeline of four stages and no regulariser or examples."""
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny",
                                        regularizer=True, seed=0)
    folder = pipe.save_pretrained(root / PIPELINE)
    for stage, image in (("sketch", sketch_image()), ("detail", artwork_image())):
        (folder / "examples" / stage).mkdir(parents=True)
        image.save(folder / "examples" / stage / "example.png")
    if four_stages:
        WorkflowPipeline.from_config(["sketch", "normals", "colour", "shaded"], image_size=32, preset="tiny",
                                     seed=1).save_pretrained(root / FOUR_STAGES)
    return root


def sketch_image(width: int = 60, height: int = 90) -> Image.Image:
    """Black lines on white, taller than wide (outputs must keep that aspect)."""
    a = np.full((height, width), 255, np.uint8)
    a[height // 9: height - height // 9, width // 2] = 0
    a[height // 2, width // 12: width - width // 12] = 0
    a[height // 4: height // 4 + 4, width // 6: width - width // 6] = 0
    return Image.fromarray(a, "L")


def artwork_image() -> Image.Image:
    a = np.full((48, 64, 3), 255, np.uint8)
    a[8:40, 10:54] = (240, 180, 40)
    a[16:30, 20:44] = (200, 60, 60)
    return Image.fromarray(a, "RGB")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(checkpoints: Path):
    """The app on a free loopback port, in this process; yields its URL."""
    from artzoo.app import PipelineRegistry, build_demo, launch_kwargs

    registry = PipelineRegistry(checkpoints)
    demo = build_demo(registry)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                **launch_kwargs(registry))
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


DRAWN = "tiny-drawn"


def add_drawn_pipeline(root: Path) -> Path:
    """A tiny 32 px pipeline whose stages are drawn at the sketch's size (render kinds, like fluent-emoji's),
    with a 512 px example sketch of closed shapes and an example artwork."""
    pipe = WorkflowPipeline.from_config(["sketch", "flat", "detail"], image_size=32, preset="tiny", seed=2,
                                        render_kinds=["sketch", "regions", "continuous"])
    folder = pipe.save_pretrained(root / DRAWN)
    for stage, image in (("sketch", shapes_sketch()), ("detail", artwork_image())):
        (folder / "examples" / stage).mkdir(parents=True)
        image.save(folder / "examples" / stage / "shapes.png")
    return root


def shapes_sketch(side: int = 512) -> Image.Image:
    """Closed black outlines (a box with a circle inside) on white: line regions to fill."""
    from PIL import ImageDraw

    image = Image.new("L", (side, side), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle((side // 8, side // 8, side * 7 // 8, side * 7 // 8), outline=0, width=max(2, side // 128))
    draw.ellipse((side // 3, side // 3, side * 2 // 3, side * 2 // 3), outline=0, width=max(2, side // 128))
    return image
