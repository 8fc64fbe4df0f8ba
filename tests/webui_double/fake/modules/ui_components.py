"""``modules.ui_components``: the WebUI's gradio helpers as thin subclasses of (fake or real) gradio.

Facts reproduced (A1111 v1.10.1 ``modules/ui_components.py`` L1-145): the ``Form*`` helpers are
gradio layout/components that report a fixed block name and sit in a form; ``ToolButton`` adds the
``tool`` class; ``InputAccordion(value, **kwargs)`` is an invisible checkbox (id ``<id>-checkbox``)
whose value mirrors an accordion (id ``<id>``, class ``input-accordion``, open = value); entering
it enters the accordion and yields the checkbox; ``extra()`` is a column ``<id>-extra`` for
controls shown in the accordion's header.
"""

from __future__ import annotations

import json
from itertools import count

import gradio as gr


class FormComponent:
    def get_expected_parent(self):
        return getattr(gr.components, "Form", None)


def _named(base: type, block: str, *, form: bool = True, doc: str = "") -> type:
    """A subclass of ``base`` whose gradio block name is ``block`` (a form member unless told)."""
    bases = (FormComponent, base) if form else (base,)
    return type(base.__name__ + "Named", bases, {"get_block_name": lambda self: block, "__doc__": doc})


FormRow = type("FormRow", (_named(gr.Row, "row"),), {})
FormColumn = type("FormColumn", (_named(gr.Column, "column"),), {})
FormGroup = type("FormGroup", (_named(gr.Group, "group"),), {})
FormHTML = type("FormHTML", (_named(gr.HTML, "html"),), {})
FormColorPicker = type("FormColorPicker", (_named(gr.ColorPicker, "colorpicker"),), {})
ResizeHandleRow = type("ResizeHandleRow", (_named(gr.Row, "row", form=False),), {})


class ToolButton(_named(gr.Button, "button")):
    """A small icon button: gradio's Button with the ``tool`` CSS class first."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["elem_classes"] = ["tool", *kwargs.get("elem_classes", [])]
        super().__init__(*args, **kwargs)


class DropdownMulti(FormComponent, gr.Dropdown):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("multiselect", True)
        super().__init__(**kwargs)


class DropdownEditable(FormComponent, gr.Dropdown):
    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("allow_custom_value", True)
        super().__init__(**kwargs)


_accordion_numbers = count()


class InputAccordion(gr.Checkbox):
    """Checkbox-valued accordion: scripts read the checkbox, users see the accordion."""

    def __init__(self, value, **kwargs) -> None:
        own_id = kwargs.get("elem_id") or f"input-accordion-{next(_accordion_numbers)}"
        self.accordion_id = own_id
        super().__init__(value, **{**kwargs, "elem_id": own_id + "-checkbox", "visible": False})
        # the browser keeps the accordion in step with the hidden checkbox
        self.change(fn=None, inputs=[self],
                    _js="function(checked){ inputAccordionChecked(" + json.dumps(own_id) + ", checked); }")
        self.accordion = gr.Accordion(**{
            **kwargs,
            "label": kwargs.get("label", "Accordion"),
            "elem_id": own_id,
            "elem_classes": ["input-accordion"],
            "open": value,
        })

    def extra(self):
        return gr.Column(elem_id=f"{self.accordion_id}-extra", elem_classes="input-accordion-extra", min_width=0)

    def __enter__(self):
        self.accordion.__enter__()
        return self

    def __exit__(self, *exc_info):
        self.accordion.__exit__(*exc_info)

    def get_block_name(self) -> str:
        return "checkbox"
