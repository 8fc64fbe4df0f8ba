"""The engine caches of one Script instance: mediapipe graphs and the matting sessions.

Loading the mediapipe graphs costs about a second and MODNet's ONNX session more, so
they are created once, on first use, and then reused by every generation of that tab.
The cache is an explicit object held by the Script instance (one per tab); nothing is
kept at module level. Where MODNet lives is the WebUI's business: the
``--facepop-models-dir`` flag (``preload.py``), else the "FacePop models folder" setting,
else ``<models_path>/facepop``; ``--facepop-no-download`` keeps it offline.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from lib_facepop.detect import Models
from lib_facepop.pipeline import FacePipeline


def webui_models_dir() -> str:
    """Folder for FacePop's model files inside this WebUI install: the flag, else the
    Settings option, else ``FACEPOP_MODELS_DIR``, else ``<models_path>/facepop``
    (``lib_facepop.models.resolve_models_dir`` does the last two)."""
    from modules import shared

    from lib_facepop.models import resolve_models_dir
    from lib_facepop.webui import settings_section

    explicit = getattr(shared.cmd_opts, "facepop_models_dir", None) or settings_section.get_option("facepop_models_dir")
    models_path = getattr(shared, "models_path", None)
    if not models_path:
        from modules import paths

        models_path = paths.models_path
    return os.path.abspath(str(resolve_models_dir(explicit or None, webui_models_path=models_path)))


def downloads_allowed() -> bool:
    """False when the WebUI was started with ``--facepop-no-download``."""
    from modules import shared

    return not bool(getattr(shared.cmd_opts, "facepop_no_download", False))


class FaceEngine:
    """Lazily built ``FacePipeline`` (detection graphs + matting) for one Script instance.

    ``models`` and ``matter`` may be injected (tests share one ``Models`` per session);
    otherwise they are created on first use with the WebUI's models folder. Thread-safe:
    the WebUI may run a preview and a generation at the same time; mediapipe graphs
    serialise themselves through ``Models.lock``.
    """

    def __init__(self, models: Models | None = None, matter: Any = None) -> None:
        self._models = models
        self._matter = matter
        self._pipeline: FacePipeline | None = None
        self._lock = threading.Lock()

    def use_models(self, models: Models) -> None:
        """Reuse already-loaded detection graphs (drops the pipeline built so far)."""
        with self._lock:
            self._models = models
            self._pipeline = None

    def use_matter(self, matter: Any) -> None:
        """Reuse an already-built ``Matter`` (drops the pipeline built so far)."""
        with self._lock:
            self._matter = matter
            self._pipeline = None

    @property
    def pipeline(self) -> FacePipeline:
        with self._lock:
            if self._pipeline is None:
                if self._models is None:
                    self._models = Models()
                if self._matter is None:
                    self._matter = self._make_matter()
                self._pipeline = FacePipeline(self._models, self._matter)
            return self._pipeline

    @staticmethod
    def _make_matter() -> Any:
        from lib_facepop.matting import Matter

        return Matter(models_dir=webui_models_dir(), allow_download=downloads_allowed())
