"""Fake Forge built-in ControlNet script (``ControlNetForForgeOfficial``): title "ControlNet",
always-on, ``sorting_priority = 10``, one ``ControlNetUnit`` state per unit. Like the real one it
patches the UNet only in ``process_before_every_sampling`` (on ``p.sd_model.forge_objects``, which
Forge resets before each batch and each sampling), so nested jobs cannot leak it."""

import gradio as gr
from lib_controlnet import external_code
from modules import scripts, shared


class ControlNetForForgeOfficial(scripts.Script):
    """Forge's built-in ControlNet; its UI comes after the scripts with a lower sorting_priority."""

    sorting_priority = 10

    def title(self):
        return "ControlNet"

    def ui(self, is_img2img):
        count = shared.opts.data.get("control_net_unit_count", 3)
        return tuple(gr.State(value=external_code.ControlNetUnit(enabled=False)) for _ in range(count))

    @staticmethod
    def get_enabled_units(units):
        units = [external_code.ControlNetUnit.from_dict(u) if isinstance(u, dict) else u for u in units]
        return [u for u in units if isinstance(u, external_code.ControlNetUnit) and u.enabled]

    def process(self, p, *args):
        self.current_params = self.get_enabled_units(args)
        if self.current_params:
            p.extra_generation_params["ControlNet 0"] = ", ".join(f"{u.module}/{u.model}" for u in self.current_params)

    def process_before_every_sampling(self, p, *args, **kwargs):
        for unit in self.get_enabled_units(args):
            p.sd_model.forge_objects.unet.patches.append(("controlnet", unit.module, unit.model, unit.weight))

    def postprocess(self, p, processed, *args):
        self.current_params = []

    def show(self, is_img2img):
        return scripts.AlwaysVisible
