"""Built-in "Seed" script (A1111 v1.10.1 modules/processing_scripts/seed.py), written from behaviour.

Section "seed", ``setup_for_ui_only`` (ScriptBuiltinUI). Its ``setup()`` is what sets ``p.seed`` in
the UI path: ``p.seed = seed``; variation seed/strength only if the "Extra" checkbox is on and
strength > 0; seed-resize only if both sizes > 0 (L69-78). Controls: seed, Extra checkbox,
variation seed, variation strength, resize-from width, resize-from height.
"""

import gradio as gr

from modules import scripts
from modules.infotext_utils import PasteField
from modules.shared import cmd_opts
from modules.ui_components import ToolButton


def _extras_shown(d: dict) -> bool:
    """Pasting opens the "Extra" options when the infotext has a variation seed or a seed resize."""
    return "Variation seed" in d or "Seed resize from-1" in d


def _seed_input(elem_id: str):
    """A textbox with --use-textbox-seed (seeds beyond float precision), else a number field."""
    if not cmd_opts.use_textbox_seed:
        return gr.Number(label="Seed", value=-1, elem_id=elem_id, min_width=100, precision=0)
    return gr.Textbox(label="Seed", value="", elem_id=elem_id, min_width=100)


class ScriptSeed(scripts.ScriptBuiltinUI):
    """The seed row and its hidden "Extra" options; setup() is what sets ``p.seed`` from the UI."""

    create_group = False
    section = "seed"

    def __init__(self):
        self.seed = None  # the seed control, once ui() ran

    def title(self):
        return "Seed"

    def ui(self, is_img2img):
        seed_row = gr.Row(elem_id=self.elem_id("seed_row"))
        with seed_row:
            self.seed = _seed_input(self.elem_id("seed"))
            ToolButton("\U0001f3b2", elem_id=self.elem_id("random_seed"))
            ToolButton("\u267b\ufe0f", elem_id=self.elem_id("reuse_seed"))
            seed_checkbox = gr.Checkbox(label="Extra", elem_id=self.elem_id("subseed_show"), value=False)
        with gr.Group(visible=False, elem_id=self.elem_id("seed_extras")):
            subseed = gr.Number(label="Variation seed", value=-1, elem_id=self.elem_id("subseed"), precision=0)
            subseed_strength = gr.Slider(label="Variation strength", value=0.0, minimum=0, maximum=1, step=0.01,
                                         elem_id=self.elem_id("subseed_strength"))
            seed_resize_from_w = gr.Slider(minimum=0, maximum=2048, step=8, label="Resize seed from width", value=0,
                                           elem_id=self.elem_id("seed_resize_from_w"))
            seed_resize_from_h = gr.Slider(minimum=0, maximum=2048, step=8, label="Resize seed from height", value=0,
                                           elem_id=self.elem_id("seed_resize_from_h"))
        controls = (self.seed, seed_checkbox, subseed, subseed_strength, seed_resize_from_w, seed_resize_from_h)
        # (infotext key or function, API field) per control; the WebUI pairs "from-1" (the width)
        # with the API's seed_resize_from_h and vice versa, and so does the double.
        pasted = (("Seed", "seed"), (_extras_shown, None), ("Variation seed", "subseed"),
                  ("Variation seed strength", "subseed_strength"), ("Seed resize from-1", "seed_resize_from_h"),
                  ("Seed resize from-2", "seed_resize_from_w"))
        self.infotext_fields = [PasteField(control, source, api=api)
                                for control, (source, api) in zip(controls, pasted, strict=True)]
        return controls

    def setup(self, p, seed, extras_open, variation_seed, variation_strength, resize_w, resize_h):
        p.seed = seed
        if not extras_open:  # "Extra" closed: variation and resize stay as they are
            return
        if variation_strength > 0:
            p.subseed, p.subseed_strength = variation_seed, variation_strength
        if resize_w > 0 and resize_h > 0:
            p.seed_resize_from_w, p.seed_resize_from_h = resize_w, resize_h
