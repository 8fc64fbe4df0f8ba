"""The renderer seam: the engine asks a renderer to do diffusion on one canvas.

A renderer takes an RGB canvas (HxWx3 uint8), an optional inpaint mask (HxW uint8,
255 = repaint, None = the whole canvas), overrides named like the WebUI's img2img
payload (``prompt``, ``negative_prompt``, ``steps``, ``cfg_scale``,
``denoising_strength``, ``sampler_name``, ...), and a seed, and returns an RGB image of
the same size. The WebUI adapter, the HTTP API client, the CLI preview and the
deterministic test renderers all implement this one method.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Renderer(Protocol):
    def render(
        self,
        canvas: np.ndarray,
        mask: np.ndarray | None,
        overrides: dict[str, Any],
        seed: int,
    ) -> np.ndarray: ...


class RenderInterrupted(Exception):
    """Raised by a renderer when the user interrupted: the engine stops and keeps what it has."""


class IdentityRenderer:
    """Returns the canvas unchanged: proves the geometry round trip is exact."""

    def render(self, canvas: np.ndarray, mask: np.ndarray | None, overrides: dict[str, Any], seed: int) -> np.ndarray:
        return canvas.copy()
