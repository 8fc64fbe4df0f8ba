"""``modules.scripts_postprocessing``: base classes only (Extras-tab scripts are not run)."""

from __future__ import annotations


class PostprocessedImage:
    def __init__(self, image) -> None:
        self.image = image
        self.info: dict = {}
        self.shared = None
        self.extra_images: list = []
        self.nametags: list = []
        self.disable_processing = False
        self.caption = None


class ScriptPostprocessing:
    filename = None
    controls = None
    args_from = None
    args_to = None
    order = 1000
    name = None
    group = None

    def ui(self):
        pass

    def process(self, pp: PostprocessedImage, **args):
        pass

    def process_firstpass(self, pp: PostprocessedImage, **args):
        pass

    def image_changed(self):
        pass


class ScriptPostprocessingRunner:
    def __init__(self) -> None:
        self.scripts = None
        self.ui_created = False
