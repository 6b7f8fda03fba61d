"""chairs: procedural chairs ray-cast in numpy, as sketch -> normal -> colour -> light.

A chair is a handful of boxes and elliptic cylinders (legs, seat, back, arms), each an
affine image of a unit shape, so a ray hits it by a slab test in the shape's own frame.
Each chair is drawn from two random viewpoints; sample i is view i % 2 of chair i // 2,
and everything random comes from a generator seeded by (seed, chair, view).

normal = camera-space normals as RGB, colour = flat albedo, light = albedo under a random
directional light with ambient, specular and cast shadows, sketch = lines along part
boundaries, creases and the silhouette. All on white; rendered at 4x and area-downsampled.
"""

import colorsys
from dataclasses import dataclass

import numpy as np
from PIL import Image

from artzoo.data.imaging import to_image
from artzoo.data.lines import draw_lines, label_edges
from artzoo.data.recipes.base import Job, Option, Plan, Recipe

DEFAULT_COUNT = 10_000
VIEWS = 2
SCALE = 4  # render at this multiple of the output size, then area-downsample
BOX, CYLINDER = 0, 1
CREASE_COS = np.cos(np.radians(30))  # normals turning more than this between pixels draw a line


@dataclass
class Part:
    kind: int  # BOX: unit cube [-1, 1]^3; CYLINDER: unit radius around y, y in [-1, 1]
    centre: np.ndarray  # (3,)
    linear: np.ndarray  # (3, 3) rotation @ diag(half sizes): unit shape -> world, before the shift
    material: str  # which colour group: seat, back, frame, arm


def rotation(axis: str, degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return {
        "x": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
        "y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
        "z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]),
    }[axis]


def part(kind, centre, half, material, rot=None) -> Part:
    rot = np.eye(3) if rot is None else rot
    return Part(kind, np.asarray(centre, float), rot @ np.diag(np.asarray(half, float)), material)


def perpendiculars(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors that make a right-handed orthonormal frame (a, v, b) with unit vector v."""
    helper = np.array([1.0, 0, 0]) if abs(v[0]) < 0.9 else np.array([0, 0, 1.0])
    a = np.cross(v, helper)
    a /= np.linalg.norm(a)
    return a, np.cross(a, v)


def bar(start, end, thickness, material, round_: bool) -> Part:
    """A leg or rail from start to end: a cylinder or square-section box along the segment."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    axis = end - start
    length = np.linalg.norm(axis)
    y = axis / length
    x, z = perpendiculars(y)
    rot = np.stack([x, y, z], axis=1)
    return part(CYLINDER if round_ else BOX, (start + end) / 2, (thickness, length / 2, thickness), material, rot)


# ---------------------------------------------------------------- chair generator


def make_chair(rng: np.random.Generator) -> list[Part]:
    width, depth = rng.uniform(0.8, 1.2), rng.uniform(0.7, 1.1)
    height, thick = rng.uniform(0.75, 1.05), rng.uniform(0.05, 0.14)
    round_frame = rng.random() < 0.5
    seat_shape = rng.choice(["box", "round", "cushion"], p=[0.5, 0.2, 0.3])
    parts = []
    seat_centre = (0, height - thick / 2, 0)
    if seat_shape == "round":
        parts.append(part(CYLINDER, seat_centre, (width / 2, thick / 2, depth / 2), "seat"))
    else:
        parts.append(part(BOX, seat_centre, (width / 2, thick / 2, depth / 2),
                          "frame" if seat_shape == "cushion" else "seat"))
    if seat_shape == "cushion":
        pad = rng.uniform(0.06, 0.14)
        inset = rng.uniform(0.0, 0.05)
        parts.append(part(BOX, (0, height + pad / 2, 0), (width / 2 - inset, pad / 2, depth / 2 - inset), "seat"))
        height += pad
    bottom = seat_centre[1] - thick / 2
    parts += make_legs(rng, width, depth, bottom, seat_shape == "round", round_frame)
    parts += make_back(rng, width, depth, height)
    if rng.random() < 0.35:
        parts += make_arms(rng, width, depth, height, round_frame)
    return parts


def make_legs(rng, width, depth, bottom, round_seat, round_frame) -> list[Part]:
    style = rng.choice(["four", "pedestal", "sled"], p=[0.6, 0.2, 0.2])
    leg = rng.uniform(0.03, 0.07)
    parts = []
    if style == "pedestal":
        parts.append(bar((0, 0.04, 0), (0, bottom, 0), rng.uniform(0.04, 0.09), "frame", True))
        reach = rng.uniform(0.3, 0.5)
        if rng.random() < 0.5:  # disc foot
            parts.append(part(CYLINDER, (0, 0.02, 0), (reach, 0.02, reach), "frame"))
        else:  # star foot, like an office chair
            spokes, turn = int(rng.integers(4, 6)), rng.uniform(0, 90)
            for k in range(spokes):
                angle = np.radians(turn + 360 * k / spokes)
                tip = (reach * np.cos(angle), 0.03, reach * np.sin(angle))
                parts.append(bar((0, 0.05, 0), tip, 0.03, "frame", round_frame))
        return parts
    # Corner positions, pulled in from the seat edge (further for round seats).
    inset = rng.uniform(0.02, 0.1)
    pull = 0.72 if round_seat else 1.0
    x, z = pull * (width / 2) - inset - leg, pull * (depth / 2) - inset - leg
    if style == "four":
        splay = rng.uniform(0, 0.12) if rng.random() < 0.4 else 0.0
        for sx in (-1, 1):
            for sz in (-1, 1):
                foot = (sx * (x + splay), 0, sz * (z + splay))
                parts.append(bar(foot, (sx * x, bottom, sz * z), leg, "frame", round_frame))
        if rng.random() < 0.4:  # stretchers between the legs
            y = rng.uniform(0.15, 0.35) * bottom
            out = splay * (1 - y / bottom)
            for sx in (-1, 1):
                parts.append(bar((sx * (x + out), y, -(z + out)), (sx * (x + out), y, z + out), leg * 0.6, "frame", round_frame))
            parts.append(bar((-(x + out), y, z + out), (x + out, y, z + out), leg * 0.6, "frame", round_frame))
    else:  # sled: a runner along each side on the floor, posts up to the seat
        for sx in (-1, 1):
            parts.append(bar((sx * x, leg, -z - 0.08), (sx * x, leg, z + 0.08), leg, "frame", True))
            for sz in (-1, 1):
                parts.append(bar((sx * x, leg, sz * z), (sx * x, bottom, sz * z * 0.85), leg, "frame", True))
    return parts


def make_back(rng, width, depth, seat_top) -> list[Part]:
    style = rng.choice(["slats", "solid", "rounded"])
    tall, thick = rng.uniform(0.6, 1.1), rng.uniform(0.04, 0.09)
    wide = width * rng.uniform(0.75, 1.0)
    tilt = rotation("x", -rng.uniform(0, 15))  # leaning backwards, about the seat's back edge
    pivot = np.array([0, seat_top, -depth / 2 + thick])

    def place(kind, centre, half, material, rot=None):
        rot = np.eye(3) if rot is None else rot
        return part(kind, pivot + tilt @ np.asarray(centre, float), half, material, tilt @ rot)

    if style == "solid":
        return [place(BOX, (0, tall / 2, 0), (wide / 2, tall / 2, thick / 2), "back")]
    if style == "rounded":
        gap = rng.uniform(0, 0.25) * tall
        panel = tall - gap
        parts = [place(CYLINDER, (0, gap + panel / 2, 0), (wide / 2, thick / 2, panel / 2), "back", rotation("x", 90))]
        if gap > 0:
            for sx in (-1, 1):
                parts.append(place(BOX, (sx * wide / 4, gap / 2 + 0.02, 0), (0.03, gap / 2 + 0.02, thick / 3), "frame"))
        return parts
    post = rng.uniform(0.025, 0.05)
    rail = rng.uniform(0.06, 0.16)
    parts = [place(BOX, (sx * (wide / 2 - post), tall / 2, 0), (post, tall / 2, thick / 2), "frame") for sx in (-1, 1)]
    parts.append(place(BOX, (0, tall - rail / 2, 0), (wide / 2, rail / 2, thick / 2), "back"))
    inner = wide / 2 - 2 * post
    count = int(rng.integers(2, 6))
    if rng.random() < 0.5:  # vertical slats between seat and top rail
        slat = min(0.05, inner / count / 2.5)
        for k in range(count):
            sx = -inner + (2 * k + 1) * inner / count
            parts.append(place(BOX, (sx, (tall - rail) / 2, 0), (slat, (tall - rail) / 2, thick / 3), "back"))
    else:  # horizontal rails below the top one
        step = (tall - rail) / (count + 1)
        for k in range(1, count + 1):
            parts.append(place(BOX, (0, k * step, 0), (inner, min(0.03, step / 4), thick / 3), "back"))
    return parts


def make_arms(rng, width, depth, seat_top, round_frame) -> list[Part]:
    rise, arm = rng.uniform(0.18, 0.3), rng.uniform(0.03, 0.06)
    x = width / 2 + arm
    parts = []
    for sx in (-1, 1):
        top = seat_top + rise
        parts.append(part(BOX, (sx * x, top, -0.05 * depth), (arm, arm * 0.7, depth * 0.45), "arm"))
        parts.append(bar((sx * x, seat_top - 0.05, depth * 0.33), (sx * x, top, depth * 0.33), arm * 0.7, "arm", round_frame))
    return parts


# ---------------------------------------------------------------- materials and lights

MATERIALS = {  # hue range (degrees), saturation, value, specular strength, shininess
    "wood": ((18, 40), (0.4, 0.75), (0.3, 0.8), 0.15, 12),
    "metal": ((0, 360), (0.0, 0.08), (0.45, 0.85), 0.7, 40),
    "plastic": ((0, 360), (0.45, 0.9), (0.55, 0.95), 0.4, 24),
    "fabric": ((0, 360), (0.2, 0.6), (0.3, 0.8), 0.0, 1),
    "leather": ((0, 40), (0.3, 0.7), (0.12, 0.5), 0.25, 16),
}


def pick_material(rng) -> tuple[np.ndarray, float, float]:
    hue, sat, val, specular, shininess = MATERIALS[rng.choice(list(MATERIALS))]
    rgb = colorsys.hsv_to_rgb(rng.uniform(*hue) / 360, rng.uniform(*sat), rng.uniform(*val))
    return np.array(rgb), specular, shininess


def pick_materials(rng) -> dict[str, tuple]:
    frame = pick_material(rng)
    seat = frame if rng.random() < 0.3 else pick_material(rng)
    back = seat if rng.random() < 0.7 else pick_material(rng)
    arm = frame if rng.random() < 0.6 else seat
    return {"frame": frame, "seat": seat, "back": back, "arm": arm}


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


# ---------------------------------------------------------------- ray casting


def intersect(part: Part, origins: np.ndarray, directions: np.ndarray):
    """Entry distance (inf on a miss) and outward local normal of rays (N, 3) against one part.

    Works in the unit shape's frame: the affine map keeps ray parameters, so distances
    compare across parts. Rays start outside every part (camera, or nudged off a surface).
    """
    inverse = np.linalg.inv(part.linear)
    o = (origins - part.centre) @ inverse.T
    d = directions @ inverse.T
    d = np.where(np.abs(d) < 1e-12, 1e-12, d)
    near, far = (-1 - o) / d, (1 - o) / d
    lo, hi = np.minimum(near, far), np.maximum(near, far)
    if part.kind == BOX:
        entry, exit_ = lo.max(axis=1), hi.min(axis=1)
        axis = lo.argmax(axis=1)
        normal = np.zeros_like(o)
        normal[np.arange(len(o)), axis] = -np.sign(d[np.arange(len(o)), axis])
    else:
        a = d[:, 0] ** 2 + d[:, 2] ** 2
        b = o[:, 0] * d[:, 0] + o[:, 2] * d[:, 2]
        c = o[:, 0] ** 2 + o[:, 2] ** 2 - 1
        disc = b * b - a * c
        root = np.sqrt(np.maximum(disc, 0))
        side_in = np.where(disc >= 0, (-b - root) / a, np.inf)
        side_out = np.where(disc >= 0, (-b + root) / a, -np.inf)
        entry, exit_ = np.maximum(side_in, lo[:, 1]), np.minimum(side_out, hi[:, 1])
        on_side = side_in > lo[:, 1]
        point = o + np.where(disc >= 0, side_in, 0)[:, None] * d  # finite, to keep NaNs out
        normal = np.where(on_side[:, None], point * [1, 0, 1], [0, 1, 0] * -np.sign(d[:, 1:2]))
    hit = (entry <= exit_) & (entry > 0)
    # Normals transform by the inverse transpose of the shape's linear map.
    return np.where(hit, entry, np.inf), normal @ inverse


def corners(p: Part) -> np.ndarray:
    """The 8 corners of the part's bounding box (the unit cube's image), (8, 3)."""
    cube = np.stack(np.meshgrid([-1, 1], [-1, 1], [-1, 1]), -1).reshape(-1, 3)
    return p.centre + cube @ p.linear.T


class Camera:
    """A random perspective view looking at the chair's centre, framed to fit it."""

    def __init__(self, rng, parts: list[Part], resolution: int):
        points = np.concatenate([corners(p) for p in parts])
        target = (points.min(0) + points.max(0)) / 2
        azimuth, elevation = np.radians(rng.uniform(-160, 160)), np.radians(rng.uniform(8, 40))
        back = np.array([np.sin(azimuth) * np.cos(elevation), np.sin(elevation), np.cos(azimuth) * np.cos(elevation)])
        self.origin = target + back * rng.uniform(3.5, 6.0)  # closer means stronger perspective
        self.forward = -back
        self.right = unit(np.cross(self.forward, [0, 1, 0]))
        self.up = np.cross(self.right, self.forward)
        self.resolution = resolution
        # Fit the projected bounding box into the frame with a margin, centred.
        u, v = self.plane(points)
        self.extent = max(u.max() - u.min(), v.max() - v.min()) / 0.88
        self.centre = ((u.max() + u.min()) / 2, (v.max() + v.min()) / 2)

    def plane(self, points: np.ndarray):
        """Coordinates on the image plane at unit distance."""
        rel = points - self.origin
        depth = rel @ self.forward
        return rel @ self.right / depth, rel @ self.up / depth

    def pixels(self, points: np.ndarray):
        """Column and row (continuous, pixel centres at k + 0.5) of points."""
        u, v = self.plane(points)
        return ((u - self.centre[0]) / self.extent + 0.5) * self.resolution, \
               (0.5 - (v - self.centre[1]) / self.extent) * self.resolution

    def rays(self) -> np.ndarray:
        """Un-normalised ray directions through the pixel centres, (R, R, 3)."""
        steps = ((np.arange(self.resolution) + 0.5) / self.resolution - 0.5) * self.extent
        u, v = self.centre[0] + steps, self.centre[1] - steps
        return self.forward + u[None, :, None] * self.right + v[:, None, None] * self.up


def cast(camera: Camera, parts: list[Part]):
    """Nearest hit per pixel: ray directions, distance (inf = background), unit normal, part label."""
    grid = camera.rays()
    shape = grid.shape[:2]
    depth = np.full(shape, np.inf)
    normals = np.zeros((*shape, 3))
    labels = np.zeros(shape, int)  # 0 = background, k = parts[k - 1]
    for k, p in enumerate(parts, 1):
        # Only rays through the part's projected bounding box can hit it.
        cols, rows = camera.pixels(corners(p))
        c0, c1 = max(int(cols.min()), 0), min(int(np.ceil(cols.max())) + 1, shape[1])
        r0, r1 = max(int(rows.min()), 0), min(int(np.ceil(rows.max())) + 1, shape[0])
        if c0 >= c1 or r0 >= r1:
            continue
        window = grid[r0:r1, c0:c1].reshape(-1, 3)
        t, n = intersect(p, np.broadcast_to(camera.origin, window.shape), window)
        t, n = t.reshape(r1 - r0, c1 - c0), n.reshape(r1 - r0, c1 - c0, 3)
        closer = t < depth[r0:r1, c0:c1]
        depth[r0:r1, c0:c1][closer] = t[closer]
        normals[r0:r1, c0:c1][closer] = n[closer]
        labels[r0:r1, c0:c1][closer] = k
    hit = labels > 0
    normals[hit] = unit(normals[hit])
    return grid, depth, normals, labels


def in_light(points: np.ndarray, to_light: np.ndarray, parts: list[Part]) -> np.ndarray:
    """1 where a shadow ray from each point (already nudged off its surface) escapes, else 0."""
    lit = np.ones(len(points))
    beam = np.broadcast_to(to_light, points.shape)
    # A part can only shadow points that its bounding box covers, seen along the light.
    across = np.stack(perpendiculars(to_light), axis=1)
    flat, height = points @ across, points @ to_light
    for p in parts:
        box = corners(p)
        box_flat = box @ across
        near = np.all((flat >= box_flat.min(0)) & (flat <= box_flat.max(0)), axis=1)
        near &= (height < (box @ to_light).max()) & (lit > 0)
        t, _ = intersect(p, points[near], beam[near])
        lit[np.flatnonzero(near)[np.isfinite(t)]] = 0
    return lit


def render_view(parts: list[Part], materials: dict, rng, resolution: int) -> dict[str, np.ndarray]:
    camera = Camera(rng, parts, resolution)
    rays, depth, normals, labels = cast(camera, parts)
    hit = labels > 0
    n = normals[hit]

    # Per-label material tables (label 0, the background, is white and matte), gathered once.
    table = [(np.ones(3), 0.0, 1.0)] + [materials[p.material] for p in parts]
    albedo = np.array([colour for colour, _, _ in table])[labels]
    specular = np.array([spec for _, spec, _ in table])[labels]
    shininess = np.array([shine for _, _, shine in table])[labels]

    # Light from a random direction above the horizon, more often from the camera's side.
    azimuth = np.arctan2(-camera.forward[0], -camera.forward[2]) + rng.uniform(-1.8, 1.8)
    elevation = rng.uniform(0.35, 1.2)
    to_light = np.array([np.sin(azimuth) * np.cos(elevation), np.sin(elevation), np.cos(azimuth) * np.cos(elevation)])
    light_colour = np.array(colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0, 0.25), rng.uniform(0.8, 1.1)))
    ambient = rng.uniform(0.4, 0.6) * np.array(colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0, 0.2), 1))

    points = camera.origin + depth[hit, None] * rays[hit]
    lit = in_light(points + n * 1e-3, to_light, parts)
    diffuse = np.clip(n @ to_light, 0, None) * lit
    halfway = unit(unit(-rays[hit]) + to_light)
    gloss = specular[hit] * np.clip(np.sum(n * halfway, axis=1), 0, None) ** shininess[hit] * lit
    light = np.ones_like(albedo)
    light[hit] = albedo[hit] * (ambient + diffuse[:, None] * light_colour) + gloss[:, None] * light_colour

    camera_normals = np.ones_like(albedo)
    camera_normals[hit] = np.stack([n @ camera.right, n @ camera.up, -(n @ camera.forward)], axis=1) * 0.5 + 0.5

    crease = np.zeros(labels.shape, bool)
    crease[:, 1:] |= np.sum(normals[:, 1:] * normals[:, :-1], axis=-1) < CREASE_COS
    crease[1:] |= np.sum(normals[1:] * normals[:-1], axis=-1) < CREASE_COS
    return {
        "edges": label_edges(labels) | (crease & hit),
        "normal": camera_normals,
        "colour": albedo,
        "light": light,
    }


# ---------------------------------------------------------------- recipe


def plan(size: int, limit: int | None, seed: int) -> Plan:
    count = DEFAULT_COUNT if limit is None else limit
    jobs = [Job(f"chair{i // VIEWS:05d}_v{i % VIEWS}", f"chair{i // VIEWS:05d}", (seed, i // VIEWS, i % VIEWS))
            for i in range(count)]
    return Plan(jobs, [{"name": "artzoo.data.recipes.chairs (procedural)", "version": "1", "licence": "MIT"}], "MIT (generated)")


def render(payload, size: int, **options) -> dict[str, Image.Image]:
    seed, chair, view = payload
    chair_rng = np.random.default_rng([seed, chair])
    parts = make_chair(chair_rng)
    materials = pick_materials(chair_rng)
    images = render_view(parts, materials, np.random.default_rng([seed, chair, view + 1]), size * SCALE)
    return {
        "sketch": Image.fromarray(draw_lines(images["edges"], size, min_length=SCALE)),
        "normal": to_image(images["normal"], size),
        "colour": to_image(images["colour"], size),
        "light": to_image(images["light"], size),
    }


RECIPE = Recipe(
    name="chairs",
    stages=("sketch", "normal", "colour", "light"),
    channels=(1, 3, 3, 3),
    description="procedural chairs (numpy ray casting), 2 views each: sketch -> normal -> colour -> light; "
                "--limit = number of samples (default 10000)",
    plan=plan,
    render=render,
    options=(Option("seed", 0, "chairs: random seed of the generator", type=int),),
)
