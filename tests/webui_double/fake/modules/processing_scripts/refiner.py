"""Built-in "Refiner" script (A1111 v1.10.1 modules/processing_scripts/refiner.py), from behaviour.

Section "accordions", ``setup_for_ui_only``. Controls: enable (InputAccordion), checkpoint, switch
at. ``setup()`` sets ``p.refiner_checkpoint``/``p.refiner_switch_at`` (None when disabled).
"""

import gradio as gr

from modules import scripts, sd_models
from modules.infotext_utils import PasteField
from modules.ui_components import InputAccordion


class ScriptRefiner(scripts.ScriptBuiltinUI):
    """An accordion with a checkbox in its header; its controls are not wrapped in a group."""

    create_group = False
    section = "accordions"

    def __init__(self):
        """Nothing to keep between calls."""

    def title(self):
        return "Refiner"

    def ui(self, is_img2img):
        enable_refiner = InputAccordion(False, label="Refiner", elem_id=self.elem_id("enable"))
        with enable_refiner:  # the accordion's header checkbox is the "enable" control
            with gr.Row():
                refiner_checkpoint = gr.Dropdown(label="Checkpoint", elem_id=self.elem_id("checkpoint"),
                                                 choices=sd_models.checkpoint_tiles(), value="")
                refiner_switch_at = gr.Slider(value=0.8, label="Switch at", minimum=0.01, maximum=1.0, step=0.01,
                                              elem_id=self.elem_id("switch_at"))
        self.infotext_fields = [
            PasteField(enable_refiner, lambda d: "Refiner" in d),
            PasteField(refiner_switch_at, "Refiner switch at", api="refiner_switch_at"),
        ]
        controls = (enable_refiner, refiner_checkpoint, refiner_switch_at)
        return controls

    def setup(self, p, enabled, checkpoint, switch_at):
        chosen = enabled and checkpoint not in (None, "", "None")
        p.refiner_checkpoint, p.refiner_switch_at = (checkpoint, switch_at) if chosen else (None, None)
