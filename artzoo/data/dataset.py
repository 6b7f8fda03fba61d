"""WorkflowDataset: the aligned stage images of a built dataset as tensors in [-1, 1]."""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from artzoo.data.layout import SPLITS, aligned_ids, read_meta
from artzoo.errors import ArtzooError


class WorkflowDataset(Dataset):
    """Samples of `root` (built by `artzoo.data.build`) in `split`.

    Each item is a tuple with one float tensor per stage, shape (C, H, W) in [-1, 1], where
    C is 1 for the sketch and 3 otherwise. `flip` mirrors all stages of a sample together
    with probability 1/2. `alt_prob` swaps a stage for its alternative drawing (an extra
    folder such as fluent-emoji's sketch_alt) with that probability, where one exists. `preload`
    decodes every picture once, in threads, and keeps them as uint8 (a GPU step is shorter than
    decoding its batch's PNGs).
    """

    def __init__(self, root, split: str = "train", flip: bool = False, alt_prob: float = 0.0, preload: bool = False):
        if split not in SPLITS:
            raise ArtzooError(f"split must be one of {', '.join(SPLITS)}, not {split!r}")
        self.root = Path(root)
        meta = read_meta(self.root)
        if not meta.get("complete"):
            raise ArtzooError(f"{self.root} is only partly built; run its build command again to finish it")
        self.meta = meta
        self.split = split
        self.stages: tuple[str, ...] = tuple(meta["stages"])
        self.channels: tuple[int, ...] = tuple(meta["channels"])
        self.size: int = meta["size"]
        self.flip = flip
        self.alt_prob = alt_prob
        self.ids = aligned_ids(self.root, split, self.stages)
        if not self.ids:
            raise ArtzooError(f"{self.root / split} has no complete samples")
        # stage -> folder of alternatives, limited to the ids that have one.
        self.alternatives = {
            stage: (folder, {p.stem for p in (self.root / split / folder).glob("*.png")})
            for folder, stage in meta.get("extras", {}).items()
        }
        self.preloaded: list[torch.Tensor] | None = None
        if preload:
            with ThreadPoolExecutor(min(16, os.cpu_count() or 1)) as pool:
                self.preloaded = [
                    torch.from_numpy(np.stack(list(pool.map(
                        lambda i, folder=stage, c=channels: self._read(self.root / split / folder / f"{i}.png", c),
                        self.ids))))
                    for stage, channels in zip(self.stages, self.channels)]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, ...]:
        sample_id = self.ids[index]
        # torch's generator, so torch.manual_seed and DataLoader worker seeding govern augmentation.
        mirror = self.flip and torch.rand(()).item() < 0.5
        tensors = []
        for stage, channels in zip(self.stages, self.channels):
            folder = stage
            if stage in self.alternatives and self.alt_prob > 0:
                alt_folder, alt_ids = self.alternatives[stage]
                if sample_id in alt_ids and torch.rand(()).item() < self.alt_prob:
                    folder = alt_folder
            if self.preloaded is not None and folder == stage:
                pixels = self.preloaded[self.stages.index(stage)][index]
            else:
                pixels = torch.from_numpy(self._read(self.root / self.split / folder / f"{sample_id}.png", channels))
            if mirror:
                pixels = pixels.flip(-1)
            tensors.append(pixels.float() / 127.5 - 1)
        return tuple(tensors)

    @staticmethod
    def _read(path: Path, channels: int) -> np.ndarray:
        """uint8 (C, H, W)."""
        with Image.open(path) as image:
            array = np.array(image.convert("L" if channels == 1 else "RGB"))  # a writable copy
        array = array[..., None] if channels == 1 else array
        return np.ascontiguousarray(array.transpose(2, 0, 1))
