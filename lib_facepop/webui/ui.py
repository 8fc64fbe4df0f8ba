"""FacePop's panel: an ``InputAccordion`` generated from ``FaceSettings.fields_info()``.

One control per setting, in field order (that order *is* the Script's argument order, see
``script_args``), laid out by section like the original FacePop: the basic settings in
the accordion, then "Separate Face Processing", "Advanced" and "Debugging" sub-accordions,
then the "Preview faces" tool. Labels, ranges, steps, choices and hover hints all come
from the settings declaration, so a new setting needs no UI code.

Choices are sent as their values (no ``type="index"``), so the UI and the API hand the
Script the same strings. The "Preview enhancement" setting belongs to the CLI preview
renderer and stays hidden here; in txt2img "When to refine" is fixed to "after".
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from lib_facepop.settings import FaceSettings, FieldInfo, SettingsError
from lib_facepop.webui import infotext, settings_section
from lib_facepop.webui.script_args import FIELD_NAMES, settings_from_args, to_ui_value

SECTION_TITLES = MappingProxyType({"face pass": "Separate Face Processing", "advanced": "Advanced", "debug": "Debugging"})
HIDDEN = frozenset({"enhancement"})
#: img2img components whose value is the init image (A1111 elem_ids; "img2maskimg" is the inpaint sketch)
INIT_IMAGE_ELEM_IDS = ("img2img_image", "img2maskimg", "inpaint_sketch", "img_inpaint_base")


def base_settings() -> FaceSettings:
    """The settings the panel starts with: the declared defaults, with the Settings-tab
    "Default face mask method" applied."""
    return FaceSettings().replace(matting=settings_section.default_matting())


def _sampler_choices() -> list[str]:
    try:
        from modules import sd_samplers

        return ["", *sd_samplers.visible_sampler_names()]
    except Exception:  # noqa: BLE001 - an older WebUI: a free text box is fine
        return []


def make_control(info: FieldInfo, value: Any, elem_id: str, *, is_img2img: bool) -> Any:
    """The gradio control of one setting."""
    import gradio as gr

    common = {"label": info.label, "elem_id": elem_id}
    if info.hint:
        common["tooltip"] = info.hint
    if info.name == "mode" and not is_img2img:
        return gr.Radio(choices=["after"], value="after", visible=False, **common)
    if info.name in HIDDEN:
        return gr.Dropdown(choices=list(info.choices or [value]), value=value, visible=False, **common)
    if info.type is bool:
        return gr.Checkbox(value=bool(value), **common)
    if info.type in (int, float) and info.minimum is not None and info.maximum is not None:
        return gr.Slider(minimum=info.minimum, maximum=info.maximum, step=info.step or (1 if info.type is int else 0.01),
                         value=value, **common)
    if info.type in (int, float):
        return gr.Number(value=value, precision=0 if info.type is int else None, **common)
    if info.choices:
        return gr.Radio(choices=list(info.choices), value=value, **common)
    if info.name == "sampler":
        choices = _sampler_choices()
        if choices:
            return gr.Dropdown(choices=choices, value=value, **common)
    if info.type is list or info.multiline:
        return gr.Textbox(value=to_ui_value(info.name, value), lines=3 if info.type is list else 2, **common)
    return gr.Textbox(value=value, **common)


def build(script: Any, is_img2img: bool, on_preview: Callable[..., Any],
          init_image_components: list[Any] | None = None) -> list[Any]:
    """Build the panel inside the current gradio block; returns the controls in field order
    and sets ``script.infotext_fields``. ``on_preview(image, *init_images, *controls)`` is
    the preview button's handler; ``init_image_components`` the img2img image inputs that
    were captured while the tab was built (the preview falls back on them)."""
    import gradio as gr
    from modules.ui_components import InputAccordion

    base = base_settings()
    infos = FaceSettings.fields_info()
    controls: dict[str, Any] = {}
    with InputAccordion(False, label="FacePop", elem_id=script.elem_id("enabled")) as enabled:
        controls["enabled"] = enabled
        if not is_img2img:
            gr.HTML(value="<p>txt2img: FacePop refines the faces of each generated image.</p>")
        for section, items in _sections(infos[1:]):
            if section == "basic":
                for info in items:
                    controls[info.name] = make_control(info, getattr(base, info.name), script.elem_id(info.name),
                                                       is_img2img=is_img2img)
                continue
            with gr.Accordion(SECTION_TITLES.get(section, section.title()), open=False,
                              elem_id=script.elem_id(f"section_{section.replace(' ', '_')}")):
                for info in items:
                    controls[info.name] = make_control(info, getattr(base, info.name), script.elem_id(info.name),
                                                       is_img2img=is_img2img)
        ordered = [controls[name] for name in FIELD_NAMES]
        with gr.Accordion("Preview faces", open=False, elem_id=script.elem_id("preview_section")):
            upload = gr.Image(label="Image to preview (empty: the img2img image)", type="pil",
                              elem_id=script.elem_id("preview_image"))
            button = gr.Button(value="Preview faces", elem_id=script.elem_id("preview"))
            annotated = gr.Image(label="Faces found", type="numpy", interactive=False,
                                 elem_id=script.elem_id("preview_annotated"))
            gallery = gr.Gallery(label="Upright face canvases", elem_id=script.elem_id("preview_crops"))
            message = gr.HTML(value="", elem_id=script.elem_id("preview_message"))
            sources = list(init_image_components or [])
            button.click(fn=on_preview, inputs=[upload, *sources, *ordered], outputs=[annotated, gallery, message])
    script.preview_button = button  # a UI handle (tests, other extensions); no generation state
    script.infotext_fields = infotext.paste_fields(ordered, report=_report)
    return ordered


def _sections(infos: list[FieldInfo]) -> list[tuple[str, list[FieldInfo]]]:
    """Consecutive fields of one section, in field order."""
    out: list[tuple[str, list[FieldInfo]]] = []
    for info in infos:
        if out and out[-1][0] == info.section:
            out[-1][1].append(info)
        else:
            out.append((info.section, [info]))
    return out


def preview_handler(pipeline_getter: Callable[[], Any], n_sources: int) -> Callable[..., tuple]:
    """The preview button's function: ``(upload, *init_images, *control values) ->
    (annotated image, gallery items, message html)``; never raises (the message says what failed)."""
    from lib_facepop.webui.preview import image_and_mask, preview_faces

    def handler(upload: Any, *values: Any) -> tuple:
        sources, args = values[:n_sources], values[n_sources:]
        try:
            settings = settings_from_args(list(args), base_settings())
        except SettingsError as exc:
            return None, [], _html(f"FacePop: {exc}")
        image, mask = image_and_mask(upload)
        if image is None:
            for source in sources:
                image, mask = image_and_mask(source)
                if image is not None:
                    break
        if image is None:
            return None, [], _html("Put an image into img2img (or the preview box) first.")
        try:
            result = preview_faces(pipeline_getter(), image, settings, mask)
        except Exception as exc:  # noqa: BLE001 - a preview must never take the UI down
            _report(f"FacePop preview failed: {exc}")
            return None, [], _html(f"FacePop preview failed: {exc}")
        return result.annotated, [(canvas, caption) for canvas, caption in result.crops], _html(result.message)

    return handler


def _html(text: str) -> str:
    import html

    return f"<p>{html.escape(text)}</p>"


def _report(message: str) -> None:
    try:
        from modules import errors

        errors.report(message, exc_info=True)
    except Exception:  # noqa: BLE001 - reporting must not fail
        print(message)
