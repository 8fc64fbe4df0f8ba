"""Built-in "Sampler" script (A1111 v1.10.1 modules/processing_scripts/sampler.py), from behaviour.

Section "sampler", ``setup_for_ui_only``. Controls: steps (default 20), sampler name (first visible
sampler), scheduler ("Automatic") — in that order (L124-145; ``samplers_in_dropdown`` only changes
the widgets). ``setup()`` overwrites ``p.steps``, ``p.sampler_name``, ``p.scheduler`` (L147-150).
"""

import gradio as gr

from modules import scripts, sd_samplers, sd_schedulers, shared
from modules.infotext_utils import PasteField
from modules.ui_components import FormGroup, FormRow


class ScriptSampler(scripts.ScriptBuiltinUI):
    """Steps, sampler and schedule type: the first controls of the generation settings."""

    section = "sampler"

    def __init__(self):
        self.steps = self.sampler_name = self.scheduler = None  # the controls, once ui() ran

    def title(self):
        return "Sampler"

    def ui(self, is_img2img):
        sampler_names = [data.name for data in sd_samplers.visible_samplers()]
        scheduler_names = [scheduler.label for scheduler in sd_schedulers.schedulers]
        container = FormRow if shared.opts.samplers_in_dropdown else FormGroup
        with container(elem_id=f"sampler_selection_{self.tabname}"):
            self.steps = gr.Slider(minimum=1, maximum=150, step=1, elem_id=f"{self.tabname}_steps",
                                   label="Sampling steps", value=20)
            widget = gr.Dropdown if shared.opts.samplers_in_dropdown else gr.Radio
            self.sampler_name = widget(label="Sampling method", elem_id=f"{self.tabname}_sampling",
                                       choices=sampler_names, value=sampler_names[0])
            self.scheduler = gr.Dropdown(label="Schedule type", elem_id=f"{self.tabname}_scheduler",
                                         choices=scheduler_names, value=scheduler_names[0])
        pasted = (("Steps", "steps"), (sd_samplers.get_sampler_from_infotext, "sampler_name"),
                  (sd_samplers.get_scheduler_from_infotext, "scheduler"))
        controls = (self.steps, self.sampler_name, self.scheduler)
        self.infotext_fields = [PasteField(control, source, api=api)
                                for control, (source, api) in zip(controls, pasted, strict=True)]
        return controls

    def setup(self, p, steps, sampler_name, scheduler):
        p.steps, p.sampler_name, p.scheduler = steps, sampler_name, scheduler
