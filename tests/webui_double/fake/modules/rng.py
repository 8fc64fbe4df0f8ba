"""``modules.rng.ImageRNG`` stand-in: seeded numpy noise, one array per image.

Latents in the double are pixel-space float arrays (see modules.sd_samplers); ``shape`` is
``(H, W, 3)`` and ``next()`` returns ``(B, H, W, 3)`` standard-normal noise.
"""

from __future__ import annotations

import numpy as np


class ImageRNG:
    def __init__(self, shape, seeds, subseeds=None, subseed_strength: float = 0.0, seed_resize_from_h: int = 0,
                 seed_resize_from_w: int = 0) -> None:
        self.shape = tuple(int(v) for v in shape)
        self.seeds, self.subseeds = list(seeds), list(subseeds or [])
        self.subseed_strength = subseed_strength  # recorded only: variation seeds are not modelled
        self.seed_resize_from_h, self.seed_resize_from_w = seed_resize_from_h, seed_resize_from_w
        self.generators = [np.random.default_rng(int(s) & 0xFFFFFFFF) for s in self.seeds]
        self.is_first = True

    def first(self) -> np.ndarray:
        return self.next()

    def next(self) -> np.ndarray:
        self.is_first = False
        return np.stack([g.standard_normal(self.shape).astype(np.float32) for g in self.generators]) if self.generators \
            else np.zeros((0, *self.shape), dtype=np.float32)
