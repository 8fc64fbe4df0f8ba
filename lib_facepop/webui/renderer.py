"""``WebUIRenderer``: the engine's renderer seam, implemented by a nested ``process_images``.

The engine (``FacePipeline``) calls ``render(canvas, mask, overrides, seed)`` once per face.
Here that builds a child img2img from the outer job (``child.build_child``), runs it
through the WebUI's own ``process_images`` with ``shared.state`` saved and restored around
it (``progress.JobProgress``), closes it, and returns its image.

Interrupt, Skip and Stop generating:

* pressed while a face renders, the child's sampler stops early. Interrupt and Skip make
  the half-rendered face worthless, so ``RenderInterrupted`` is raised: the engine keeps
  the faces already done and stops. Stop generating lets the child finish its image, so
  that face is kept and the engine stops before the next one (``should_stop``);
* the caller then decides what happens to the main pass (see ``flow``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image

from lib_facepop.render import RenderInterrupted
from lib_facepop.webui.child import ChildTemplate, build_child
from lib_facepop.webui.progress import JobProgress


class WebUIRenderer:
    """Renders face canvases through child ``process_images`` calls of the running WebUI.

    ``template`` carries the outer job's prompts, seeds and default knobs for one image;
    ``progress`` counts the passes; ``total`` is the number of face passes planned for the
    whole request and ``first_index`` the request-wide number of this image's first face
    (for "face i/k"); ``next_index`` moves on with every pass started.
    """

    def __init__(self, template: ChildTemplate, progress: JobProgress, *, total: int, first_index: int = 0) -> None:
        self.template = template
        self.progress = progress
        self.total = total
        self.next_index = first_index

    def render(self, canvas: np.ndarray, mask: np.ndarray | None, overrides: dict[str, Any], seed: int) -> np.ndarray:
        from modules import processing, shared

        state = shared.state
        init = Image.fromarray(np.ascontiguousarray(canvas[..., :3]), "RGB")
        pil_mask = None if mask is None else Image.fromarray(np.asarray(mask, dtype=np.uint8), "L")
        index = self.next_index
        self.next_index += 1
        child = build_child(processing, self.template, init, pil_mask, overrides, seed)
        try:
            with self.progress.face_pass(index, self.total):
                processed = processing.process_images(child)
        finally:
            child.close()
        if state.interrupted:
            raise RenderInterrupted("interrupted")
        if state.skipped:
            raise RenderInterrupted("skipped")
        images = list(getattr(processed, "images", None) or [])
        if not images:
            raise RenderInterrupted("the face pass returned no image")
        out = images[0].convert("RGB")
        if out.size != init.size:
            out = out.resize(init.size, Image.Resampling.LANCZOS)
        return np.asarray(out, dtype=np.uint8)
