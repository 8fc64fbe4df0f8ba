"""Fake sd-webui-controlnet script (A1111): title "ControlNet", always-on, one unit state per unit.

Like the real extension it hooks the (global) UNet in ``process()`` and unhooks in ``postprocess()``:
the hook lives on the Double (``Double.controlnet_hook``) and every sampler run records it, so a
nested ``process_images`` that re-runs ControlNet's process/postprocess visibly unhooks the outer
job (the reason ADetailer re-runs ``before_process``/``process`` afterwards, webui_api.md §7.6).
"""

import importlib

import gradio as gr
from modules import _double, scripts, shared

external_code = importlib.import_module("extensions.sd-webui-controlnet.scripts.external_code", "external_code")


class Script(scripts.Script):
    """The extension's always-on script (its class is really named ``Script``)."""

    def ui(self, is_img2img):
        count = shared.opts.data.get("control_net_unit_count", 3)
        return tuple(gr.State(value=external_code.ControlNetUnit(enabled=False)) for _ in range(count))

    def process(self, p, *args):
        enabled = [unit for unit in external_code.get_all_units_from(args) if unit.enabled]
        _double().controlnet_hook = {"p": p, "units": enabled} if enabled else None  # the global UNet hook
        if enabled:
            p.extra_generation_params["ControlNet 0"] = ", ".join(f"{u.module}/{u.model}" for u in enabled)

    def postprocess(self, p, processed, *args):
        _double().controlnet_hook = None

    def title(self):
        return "ControlNet"

    def show(self, is_img2img):
        return scripts.AlwaysVisible
