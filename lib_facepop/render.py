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


class RendererError(Exception):
    """A renderer could not render (WebUI unreachable, HTTP error...); the message is for the user."""


def _within_mask(original: np.ndarray, result: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Keep ``result`` only where ``mask`` says repaint (255), like an inpaint pass would."""
    if mask is None:
        return result
    a = (mask.astype(np.float32) / 255.0)[..., None]
    return np.clip(result * a + original * (1.0 - a) + 0.5, 0, 255).astype(np.uint8)


class PreviewRenderer:
    """CPU-only stand-in for diffusion: the original FacePop's enhancement filters.

    Visible on purpose, so a preview shows exactly which pixels FacePop would replace:
    ``Unsharp Mask`` (sharpen details), ``Bilateral Filter`` (smooth skin, keep edges),
    ``Median Filter`` (denoise), ``Hybrid`` (bilateral, then unsharp). The filter radius
    scales with the canvas so a 720 px canvas and a 360 px one look alike.
    """

    def __init__(self, enhancement: str = "Unsharp Mask") -> None:
        self.enhancement = enhancement

    def render(self, canvas: np.ndarray, mask: np.ndarray | None, overrides: dict[str, Any], seed: int) -> np.ndarray:
        import cv2

        method = overrides.get("facepop_enhancement", self.enhancement)
        k = max(canvas.shape[:2]) / 720.0
        if method == "Unsharp Mask":
            out = self._unsharp(canvas, 2.0 * k, 1.2)
        elif method == "Bilateral Filter":
            out = cv2.bilateralFilter(canvas, d=max(3, int(9 * k)) | 1, sigmaColor=60, sigmaSpace=8 * k)
        elif method == "Median Filter":
            out = cv2.medianBlur(canvas, max(3, int(5 * k)) | 1)
        elif method == "Hybrid":
            smooth = cv2.bilateralFilter(canvas, d=max(3, int(9 * k)) | 1, sigmaColor=50, sigmaSpace=8 * k)
            out = self._unsharp(smooth, 1.5 * k, 0.8)
        else:
            raise RendererError(f"unknown preview enhancement {method!r}")
        return _within_mask(canvas, out, mask)

    @staticmethod
    def _unsharp(img: np.ndarray, sigma: float, amount: float) -> np.ndarray:
        import cv2

        blur = cv2.GaussianBlur(img, (0, 0), sigma)
        return cv2.addWeighted(img, 1.0 + amount, blur, -amount, 0)
