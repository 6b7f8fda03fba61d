"""artzoo.rendering: regions from line art, flat and continuous stages at the sketch's size, lines, hints,
edits at the upload's size, PSD export, metrics and bad inputs. Synthetic pictures only (fast)."""

import numpy as np
import pytest
import torch
from PIL import Image

from artzoo.errors import ArtzooError
from artzoo.images import fit_square, to_tensor
from artzoo.rendering import (apply_change, apply_hints, line_layer, model_crop, overlay_lines, render_continuous,
                              render_flat, render_stages, segment, write_psd)
from artzoo.rendering.colour import cbcr_to_rgb_offset, rgb_to_lab, to_uint8
from artzoo.rendering.metrics import chroma_shift, paper_tint, region_delta_e, region_purity

RED, BLUE, GREEN = (0.85, 0.2, 0.15), (0.2, 0.3, 0.85), (0.3, 0.7, 0.3)


def ring_sketch(n=512, radius=150, width=3.0, gaps=(2, 4, 6, 6), paper=1.0, ink=0.0, grain=0.0, seed=0):
    """A circle outline, anti-aliased, with gaps (px of arc) cut at 0°, 90°, 180°, 270°: float (n, n)."""
    yy, xx = np.mgrid[:n, :n] - (n - 1) / 2
    r, angle = np.hypot(yy, xx), np.arctan2(yy, xx)
    coverage = np.clip(width / 2 + 0.5 - np.abs(r - radius), 0, 1)
    for i, gap in enumerate(gaps):
        arc = np.abs(np.angle(np.exp(1j * (angle - i * np.pi / 2)))) * radius
        coverage[arc < gap / 2] = 0
    lighting = paper * (0.85 + 0.15 * (xx + n / 2) / n)  # unevenly lit, as scans are
    noise = np.random.default_rng(seed).normal(0, grain, (n, n))
    return np.clip(lighting * (1 - coverage * (1 - ink)) + noise, 0, 1).astype(np.float32)


def split_square_sketch(n=128):
    """A square split by a vertical line into left and right halves, on a white margin: uint8 (n, n)."""
    img = np.full((n, n), 255, np.uint8)
    a, b = n // 8, n - n // 8
    img[a:a + 2, a:b] = img[b - 2:b, a:b] = img[a:b, a:a + 2] = img[a:b, b - 2:b] = 0
    img[a:b, n // 2 - 1:n // 2 + 1] = 0
    return img


def model_tensor(rgb_small: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(rgb_small.astype(np.float32) * 2 - 1).permute(2, 0, 1)[None]


def paint_small(regions, colours: dict, size=64, blur=True) -> np.ndarray:
    """A fake 'network output' at model size: each region's colour, blurred across borders like a 64 px net."""
    labels = np.asarray(Image.fromarray(regions.labels.astype(np.uint8)).resize((size, size), Image.NEAREST))
    out = np.ones((size, size, 3), np.float32)
    for label, colour in colours.items():
        out[labels == label] = colour
    if blur:
        from scipy import ndimage
        out = ndimage.uniform_filter(out, size=(3, 3, 1))
    return out


# ---- regions --------------------------------------------------------------------------------------


def test_gaps_up_to_6px_keep_inside_and_outside_apart():
    regions = segment(ring_sketch())
    inside, outside = regions.labels[256, 256], regions.labels[3, 3]
    assert inside != outside
    assert regions.outside[outside] and not regions.outside[inside]
    yy, xx = np.mgrid[:512, :512] - 255.5
    disc = np.hypot(yy, xx) < 147
    assert (regions.labels[disc] == inside).mean() > 0.999  # nothing of the outside leaks in at the gaps
    assert (regions.labels[np.hypot(yy, xx) > 153] == outside).mean() > 0.999
    on_line = regions.lines
    assert set(np.unique(regions.labels[on_line])) <= {inside, outside}  # line pixels join a neighbour


def test_wider_gaps_than_the_limit_do_join():
    regions = segment(ring_sketch(gaps=(30,)))
    assert regions.labels[256, 256] == regions.labels[3, 3]


def test_pencil_scan_on_grey_uneven_paper():
    sketch = (ring_sketch(paper=0.75, ink=0.5, width=4, gaps=(), grain=0.02) * 255).astype(np.uint8)
    regions = segment(sketch)
    assert regions.count == 2 and regions.labels[256, 256] != regions.labels[3, 3]
    assert regions.lines.mean() < 0.03  # grain and the lighting gradient are not lines
    far = regions.depth > 6
    assert regions.alpha[far].max() == 0  # the paper's grain is not drawn back
    assert 0.3 < regions.alpha[regions.lines].max() <= 0.6  # pencil stays pencil-grey


def test_coloured_antialiased_lines_and_rgb_input():
    grey = ring_sketch(width=1.5, gaps=())
    rgb = np.stack([0.2 + 0.8 * grey, 0.3 + 0.7 * grey, np.ones_like(grey)], -1)  # blue ink
    regions = segment((rgb * 255).astype(np.uint8))
    assert regions.count == 2 and regions.labels[256, 256] != regions.labels[3, 3]


def test_tiny_regions_merge_into_a_neighbour():
    img = split_square_sketch(256)
    img[100:107, 60:67] = 0
    img[102:105, 62:65] = 255  # a 3×3 hole enclosed by ink: too small to colour
    regions = segment(img)
    assert regions.count == 3
    assert len(np.unique(regions.labels[100:107, 60:67])) == 1


def test_thin_closed_band_keeps_its_own_region():
    img = np.full((256, 256), 255, np.uint8)
    img[40:42, 40:216] = img[47:49, 40:216] = 0  # a 5 px band, closed at both ends
    img[40:49, 40:42] = img[40:49, 214:216] = 0
    regions = segment(img)
    band = regions.labels[44, 128]
    assert band != regions.labels[20, 128] and (regions.labels[43:46, 50:200] == band).all()


# ---- flat, continuous, lines ---------------------------------------------------------------------------


def test_render_flat_one_exact_colour_per_region_and_white_paper():
    regions = segment(split_square_sketch())
    left, right, out = regions.labels[64, 40], regions.labels[64, 90], regions.labels[2, 2]
    net = paint_small(regions, {left: RED, right: BLUE, out: (0.98, 0.97, 0.99)})
    flat = render_flat(regions, net)
    assert flat.shape == (128, 128, 3)
    assert region_purity(flat, regions) == 1.0
    assert (flat[regions.labels == out] == 1.0).all()  # near-white paper becomes pure white
    lab = rgb_to_lab(flat[64, 40])
    assert np.linalg.norm(lab - rgb_to_lab(np.array(RED))) < 3  # the interior colour, not the blurred rim
    mean_de, weighted_de = region_delta_e(flat, np.asarray(Image.fromarray((net * 255).astype(np.uint8)).resize(
        (128, 128), Image.BILINEAR)) / 255, regions)
    assert weighted_de < 5 and mean_de < 8


def test_painted_paper_outside_is_kept():
    regions = segment(split_square_sketch())
    out = regions.labels[2, 2]
    flat = render_flat(regions, paint_small(regions, {out: GREEN}, blur=False))
    assert np.abs(flat[2, 2] - GREEN).max() < 0.02


def test_render_continuous_shades_inside_regions_without_halo():
    regions = segment(split_square_sketch())
    left, right, out = regions.labels[64, 40], regions.labels[64, 90], regions.labels[2, 2]
    net_prev = paint_small(regions, {left: RED, right: BLUE})
    net_out = net_prev.copy()
    net_out[:, :32] *= np.linspace(0.4, 0.9, 64)[:, None, None]  # the left half shaded top to bottom ...
    net_out[:, :32] += cbcr_to_rgb_offset(np.array([0.0, -0.12]))  # ... and re-coloured: bounded
    net_out = np.clip(net_out, 0, 1)
    flat = render_flat(regions, net_prev)
    detail = render_continuous(flat, net_prev, net_out, regions)
    right_px = regions.labels == right
    assert np.abs(detail[right_px] - flat[right_px]).max() < 0.02  # no halo across the line
    assert (detail[regions.labels == out] == 1.0).all()  # paper stays white
    assert detail[30, 40].mean() < detail[100, 40].mean() < flat[100, 40].mean()  # shading follows the network
    left_px = regions.labels == left
    network_shift = chroma_shift(net_out[:, 8:28], net_prev[:, 8:28])
    assert chroma_shift(detail, flat, left_px) < network_shift / 2  # a bounded tint, not the re-colouring


def test_overlay_lines_multiplies_the_line_alpha():
    regions = segment(split_square_sketch())
    colour = np.full((128, 128, 3), 0.5, np.float32)
    drawn = overlay_lines(colour, regions)
    assert (drawn[regions.alpha == 0] == 0.5).all()
    assert drawn[regions.alpha == 1].max() == 0.0


# ---- hints and edits ----------------------------------------------------------------------------------


def test_apply_hints_sets_touched_regions_exactly():
    regions = segment(split_square_sketch())
    left, right = regions.labels[64, 40], regions.labels[64, 90]
    flat = render_flat(regions, paint_small(regions, {left: RED, right: BLUE}))
    hints = np.full((128, 128, 3), 255, np.uint8)
    hints[60:66, 30:50] = (20, 200, 90)  # a scribble inside the left half
    out = apply_hints(regions, flat, hints)
    assert (to_uint8(out[regions.labels == left]) == (20, 200, 90)).all()
    assert (out[regions.labels != left] == flat[regions.labels != left]).all()
    with pytest.raises(ArtzooError, match="no colour hints"):
        apply_hints(regions, flat, np.full((128, 128, 3), 255, np.uint8))
    with pytest.raises(ArtzooError, match="sketch is"):
        apply_hints(regions, flat, hints[:64])


def test_apply_change_leaves_untouched_pixels_identical():
    rng = np.random.default_rng(0)
    original = (rng.random((300, 200, 3)) * 255).astype(np.uint8)  # not square: the upload had a margin
    fitted, placement = fit_square(Image.fromarray(original), 64)
    before = to_tensor(fitted, 3)
    noisy = before + 1e-4 * torch.randn_like(before)
    assert (apply_change(original, before, noisy, placement) == original).all()  # numerical noise moves nothing
    after = before.clone()
    after[..., 8:16, 25:35] = 0.8  # an edit in one place (model pixels)
    out = apply_change(original, before, after, placement)
    assert out.shape == original.shape
    changed = (out != original).any(-1)
    # model rows 8–16, columns 25–35 are rows 37–75, columns 70–116 of the 300×200 picture (box left 10)
    assert changed[40:72, 72:114].mean() > 0.9
    assert not changed[100:].any() and not changed[:, :45].any() and not changed[:, 145:].any()


# ---- stages end to end, export ----------------------------------------------------------------------


def fake_stages(sketch: np.ndarray, size=64):
    fitted, placement = fit_square(Image.fromarray(sketch), size)
    regions = segment(np.asarray(fitted.convert("L")))
    flat = paint_small(regions, {0: (1, 1, 1), 1: RED, 2: BLUE}, size=size)
    detail = flat * np.linspace(0.6, 1.0, size)[:, None, None]
    return [to_tensor(fitted, 1), model_tensor(flat), model_tensor(detail)], placement


def test_render_stages_at_the_sketch_size_with_placement():
    sketch = np.asarray(Image.fromarray(split_square_sketch(256)).resize((256, 180)))  # wider than tall
    images, placement = fake_stages(sketch)
    out = render_stages(sketch, images, placement, ["sketch", "regions", "continuous"])
    assert [im.size for im in out.images] == [(256, 180)] * 3 and out.notes == []
    assert np.array_equal(np.asarray(out.images[0].convert("L")), sketch)
    flat = np.asarray(out.images[1])
    assert paper_tint(flat, out.regions.outside[out.regions.labels] & (out.regions.alpha == 0)) == 0.0
    assert region_purity(out.colours[1], out.regions) == 1.0
    assert model_crop(images[1], placement).shape[:2] == (placement.box[3] - placement.box[1],
                                                           placement.box[2] - placement.box[0])


def test_a_continuous_stage_right_after_the_sketch_leaves_the_paper_white():
    # The network shades the whole square, paper included; the paper around the drawing must stay paper.
    sketch = split_square_sketch(256)
    images, placement = fake_stages(sketch)
    tinted = np.full((64, 64, 3), (0.75, 0.8, 0.95), np.float32)
    out = render_stages(sketch, [images[0], model_tensor(tinted), model_tensor(tinted * 0.9)], placement,
                        ["sketch", "continuous", "continuous"])
    paper = out.regions.outside[out.regions.labels] & (out.regions.alpha == 0)
    assert paper.mean() > 0.2
    for image in out.images[1:]:
        assert paper_tint(np.asarray(image), paper) == 0.0


def test_render_stages_rejects_bad_kinds():
    sketch = split_square_sketch()
    images, placement = fake_stages(sketch)
    with pytest.raises(ArtzooError, match="one kind per stage"):
        render_stages(sketch, images, placement, ["sketch", "regions"])
    with pytest.raises(ArtzooError, match="unknown stage kind"):
        render_stages(sketch, images, placement, ["sketch", "regions", "painting"])
    with pytest.raises(ArtzooError, match="first stage"):
        render_stages(sketch, images, placement, ["continuous", "regions", "continuous"])


def test_write_psd_round_trip(tmp_path):
    from psd_tools import PSDImage

    sketch = split_square_sketch()
    images, placement = fake_stages(sketch)
    out = render_stages(sketch, images, placement)
    path = out.write_psd(tmp_path / "art.psd", ["sketch", "flat", "detail"])
    assert not list(tmp_path.glob("*.tmp"))
    psd = PSDImage.open(path)
    assert psd.size == (128, 128)
    assert [layer.name for layer in psd] == ["flat", "detail", "lines"]
    assert all(layer.size == (128, 128) for layer in psd)
    flat = np.asarray(psd[0].topil().convert("RGB"))
    assert np.array_equal(flat, (np.clip(out.colours[1], 0, 1) * 255 + 0.5).astype(np.uint8))
    lines = np.asarray(psd[2].topil())
    assert lines.shape[-1] == 4 and np.array_equal(lines[..., 3], np.asarray(line_layer(out.regions))[..., 3])
    assert lines[..., 3][sketch == 0].min() == 255 and lines[..., 3][sketch == 255].max() == 0
    with pytest.raises(ArtzooError, match="one size"):
        write_psd(tmp_path / "bad.psd", [("a", Image.new("RGB", (8, 8))), ("b", Image.new("RGB", (9, 8)))])


# ---- bad input ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sketch, message", [
    (np.full((200, 200), 255, np.uint8), "blank"),
    (np.full((200, 200), 0, np.uint8), "dark all over"),
    (np.full((1, 8000), 255, np.uint8), "at least 8 px"),
    (np.full((8, 8000), 255, np.uint8), "strip"),
])
def test_bad_sketches_give_a_clear_error(sketch, message):
    images = [torch.zeros(1, 1, 64, 64), torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64)]
    with pytest.raises(ArtzooError, match=message):
        render_stages(sketch, images)


def test_a_photo_is_not_line_art():
    from skimage import data

    with pytest.raises(ArtzooError, match="photo"):
        segment(data.astronaut())


def test_one_giant_region_renders():
    sketch = np.full((300, 300), 255, np.uint8)
    sketch[150:153, 20:280] = 0  # one stroke: it closes nothing
    images = [torch.zeros(1, 1, 64, 64), torch.ones(1, 3, 64, 64) * 0.98, torch.ones(1, 3, 64, 64) * 0.9]
    out = render_stages(sketch, images)
    assert out.regions.count == 1 and out.regions.outside.all()
    flat = np.asarray(out.images[1])
    assert (flat[out.regions.alpha == 0] == 255).all() and flat[151, 100].max() == 0


def test_huge_scan_is_scaled_down_with_a_note():
    scan = np.full((3648, 5472), 200, np.uint8)  # 20 MP, grey paper
    scan[495:505, 800:4600] = 60
    scan[3095:3105, 800:4600] = 60
    scan[500:3100, 795:805] = 60
    scan[500:3100, 4595:4605] = 60
    images = [torch.zeros(1, 1, 64, 64), torch.zeros(1, 3, 64, 64), torch.zeros(1, 3, 64, 64)]
    out = render_stages(scan, images)
    assert out.images[1].size == (2048, 1365)
    assert "5472×3648" in out.notes[0] and "2048" in out.notes[0]
    assert out.regions.count == 2
