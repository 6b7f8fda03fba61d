"""Full-resolution, line-true rendering of workflow stages.

The stage networks work at 64 px; they decide *which* colours and shading go where. This package draws
the stages at the sketch's own size: regions closed by the user's lines (gaps included) each take one
colour, later stages shade those colours edge-aware, and the user's own lines are drawn back on top.

    from artzoo.rendering import render_stages
    wf = pipe.generate(sketch)
    out = render_stages(sketch, wf.images, wf.placement, ["sketch", "regions", "continuous"])
    out.images[-1].save("detail.png"); out.write_psd("layers.psd", wf.stages)

Building blocks: `segment` → `Regions`; `render_flat`, `render_continuous`, `overlay_lines`,
`apply_hints`; `apply_change` for edits of an upload at its own size; `write_psd`; metrics in
`artzoo.rendering.metrics`. See docs/RENDERING.md.
"""

from .colour import to_uint8
from .export import line_layer, write_psd
from .regions import Regions, segment
from .render import MAX_SIDE, Rendered, render_stages, segment_sketch
from .resample import model_crop
from .stages import apply_change, apply_hints, overlay_lines, region_colours, render_continuous, render_flat

__all__ = ["MAX_SIDE", "Regions", "Rendered", "apply_change", "apply_hints", "line_layer", "model_crop",
           "overlay_lines", "region_colours", "render_continuous", "render_flat", "render_stages", "segment", "segment_sketch", "to_uint8",
           "write_psd"]
