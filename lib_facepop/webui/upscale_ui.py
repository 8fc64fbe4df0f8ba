"""The upscale script's controls, generated from ``UpscaleSettings.fields_info()``.

One control per setting, returned in field order, so the script's args are exactly
``UpscaleSettings.to_args()`` and ``UpscaleSettings.from_args`` reads both the UI's
values and an API caller's list or dict. Around them, outside the args: a preset
dropdown (Creative / Faithful / Fast) that rewrites the controls it covers, and the plan
table, recomputed whenever a control (or the img2img width/height) changes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import gradio as gr

from lib_facepop.settings import FieldInfo, SettingsError, UpscaleSettings
from lib_facepop.upscale import PRESETS, TABLE_COLUMNS, plan_upscale

SECTION_TITLES = MappingProxyType({
    "schedule": "Schedule: denoise, steps, CFG, seed, LoRA, ControlNet",
    "tiles": "Tiles",
    "colour": "Colour",
    "output": "Output",
})
NO_PRESET = "Custom"
#: source size the plan is shown for when the img2img width/height are not known
PREVIEW_SOURCE = (512, 512)
#: int settings with a range wider than this get a number box instead of a slider (the seed)
_SLIDER_SPAN = 100_000


@dataclass
class UpscaleControls:
    """What ``build_controls`` made: the arg controls (field order) and the extras."""

    controls: list[Any]
    preset: Any
    plan: Any
    infotext_fields: list[tuple[Any, Any]] = field(default_factory=list)


def upscaler_names() -> list[str]:
    """Pixel upscalers to offer: the WebUI's list without "None" (a pass must enlarge)."""
    try:
        from modules import shared

        names = [str(u.name) for u in shared.sd_upscalers or [] if str(u.name) != "None"]
    except Exception:  # the UI must build even if the upscaler list is not ready
        names = []
    return names if "Lanczos" in names else ["Lanczos", *names]


def _control(info: FieldInfo, elem_id: str) -> Any:
    common = {"label": info.label, "elem_id": elem_id, "tooltip": info.hint}
    if info.name == UpscaleSettings.ENABLE_FIELD:  # picking the script in the dropdown enables it
        return gr.Checkbox(value=True, visible=False, **common)
    if info.type is bool:
        return gr.Checkbox(value=info.default, **common)
    if info.name == "pixel_upscaler":
        return gr.Dropdown(choices=upscaler_names(), value=info.default, allow_custom_value=True, **common)
    if info.choices:
        return gr.Dropdown(choices=list(info.choices), value=info.default, **common)
    if info.type is list:
        return gr.Textbox(value="\n".join(info.default), lines=3, **common)
    if info.type in (int, float):
        if info.maximum - info.minimum > _SLIDER_SPAN:
            return gr.Number(value=info.default, precision=0 if info.type is int else None, **common)
        return gr.Slider(minimum=info.minimum, maximum=info.maximum, step=info.step, value=info.default, **common)
    return gr.Textbox(value=info.default, **common)


def paste_value(info: FieldInfo) -> Callable[[dict], Any]:
    """Paste-field reader for one setting: the infotext's value, or the default when the
    infotext is FacePop Upscale's but left this setting out (only non-defaults are written),
    or None (leave the control alone) for an infotext without FacePop Upscale."""
    prefix = UpscaleSettings.INFOTEXT_PREFIX + " "

    def read(params: dict) -> Any:
        if not any(str(k).startswith(prefix) for k in params):
            return None
        if info.name == UpscaleSettings.ENABLE_FIELD:
            return True
        if info.infotext_key not in params:
            value = info.default
        else:
            value = params[info.infotext_key]
            if info.type is list and isinstance(value, str):
                value = json.loads(value) if value.strip().startswith("[") else value.splitlines()
        if info.type is list:
            return "\n".join(value)
        return value

    return read


def plan_html(values: Sequence[Any], source: tuple[int, int] = PREVIEW_SOURCE) -> str:
    """The pass table for the controls' ``values`` and a ``source`` (width, height) image, as HTML.

    Bad settings give the error message instead of a table, so the user sees what to fix.
    """
    try:
        settings = UpscaleSettings.from_args(list(values))
        plan = plan_upscale(settings, (int(source[0]), int(source[1])))
    except (SettingsError, ValueError) as exc:
        return f"<p class='facepop-upscale-error'><b>Cannot plan:</b> {html.escape(str(exc))}</p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in TABLE_COLUMNS)
    rows = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in TABLE_COLUMNS) + "</tr>" for r in plan.table()
    )
    total = (f"{len(plan.passes)} pass(es) for a {source[0]}x{source[1]} image -> {plan.target_size[0]}x"
             f"{plan.target_size[1]}: {plan.tile_renders} tile renders, {plan.sampler_steps} sampler steps")
    warnings = "".join(f"<li>{html.escape(w)}</li>" for w in plan.warnings)
    return (f"<table class='facepop-upscale-plan'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
            f"<p>{html.escape(total)}</p>" + (f"<ul>{warnings}</ul>" if warnings else ""))


def preset_updates(name: str, infos: Sequence[FieldInfo]) -> list[Any]:
    """``gr.update`` per control: the preset's value for the settings it covers, no change elsewhere."""
    preset = PRESETS.get(name, {})
    return [gr.update(value=preset[i.name]) if i.name in preset else gr.update() for i in infos]


def build_controls(elem_id: Callable[[str], str], dims: Sequence[Any] = ()) -> UpscaleControls:
    """Create the controls inside the caller's gradio context.

    ``elem_id`` is the script's ``Script.elem_id``; ``dims`` the img2img width and height
    sliders when the script saw them being built (the plan is then shown for that size).
    """
    infos = UpscaleSettings.fields_info()
    made: dict[str, Any] = {}
    with gr.Group(elem_id=elem_id("group")):
        preset = gr.Dropdown(choices=[NO_PRESET, *PRESETS], value=NO_PRESET, label="Preset",
                             elem_id=elem_id("preset"),
                             tooltip="Creative: 8 passes, most new detail. Faithful: 4 gentle passes. Fast: 2 passes. "
                                     "Sets the schedule, tiles and colour fix; keeps the size, upscaler and LoRAs.")
        for info in infos:
            if info.section == "basic":
                made[info.name] = _control(info, elem_id(info.name))
        sections = [s for s in dict.fromkeys(i.section for i in infos) if s != "basic"]
        for section in sections:
            with gr.Accordion(SECTION_TITLES.get(section, section.title()), open=False):
                for info in infos:
                    if info.section == section:
                        made[info.name] = _control(info, elem_id(info.name))
        source = PREVIEW_SOURCE
        if len(dims) == 2 and all(isinstance(d.value, (int, float)) and d.value > 0 for d in dims):
            source = (int(dims[0].value), int(dims[1].value))
        plan = gr.HTML(value=plan_html([i.default for i in infos], source), elem_id=elem_id("plan"))
    controls = [made[i.name] for i in infos]

    preset.change(fn=lambda name: preset_updates(name, infos), inputs=[preset], outputs=controls)
    if len(dims) == 2:
        def refresh(*values: Any) -> str:
            return plan_html(values[:-2], (int(values[-2]), int(values[-1])))

        inputs = [*controls, *dims]
    else:
        def refresh(*values: Any) -> str:
            return plan_html(values)

        inputs = list(controls)
    for control in inputs:
        control.change(fn=refresh, inputs=inputs, outputs=[plan])
    fields = [(c, paste_value(i)) for c, i in zip(controls, infos, strict=True)]
    return UpscaleControls(controls=controls, preset=preset, plan=plan, infotext_fields=fields)
