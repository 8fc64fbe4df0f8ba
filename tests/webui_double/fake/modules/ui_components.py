"""``modules.ui_components``: the WebUI's gradio helpers as thin subclasses of (fake or real) gradio.

``InputAccordion(value, **kwargs)`` is a hidden checkbox whose value is the accordion's open
state; ``with InputAccordion(...) as acc:`` returns the checkbox (A1111 v1.10.1 L103-145).
"""

from __future__ import annotations

import gradio as gr


class FormComponent:
    def get_expected_parent(self):
        return getattr(gr.components, "Form", None)


class ToolButton(FormComponent, gr.Button):
    def __init__(self, *args, **kwargs) -> None:
        classes = kwargs.pop("elem_classes", [])
        super().__init__(*args, elem_classes=["tool", *classes], **kwargs)

    def get_block_name(self) -> str:
        return "button"


class ResizeHandleRow(gr.Row):
    def get_block_name(self) -> str:
        return "row"


class FormRow(FormComponent, gr.Row):
    def get_block_name(self) -> str:
        return "row"


class FormColumn(FormComponent, gr.Column):
    def get_block_name(self) -> str:
        return "column"


class FormGroup(FormComponent, gr.Group):
    def get_block_name(self) -> str:
        return "group"


class FormHTML(FormComponent, gr.HTML):
    def get_block_name(self) -> str:
        return "html"


class FormColorPicker(FormComponent, gr.ColorPicker):
    def get_block_name(self) -> str:
        return "colorpicker"


class DropdownMulti(FormComponent, gr.Dropdown):
    def __init__(self, **kwargs) -> None:
        super().__init__(multiselect=True, **kwargs)


class DropdownEditable(FormComponent, gr.Dropdown):
    def __init__(self, **kwargs) -> None:
        super().__init__(allow_custom_value=True, **kwargs)


class InputAccordion(gr.Checkbox):
    global_index = 0

    def __init__(self, value, **kwargs) -> None:
        self.accordion_id = kwargs.get("elem_id")
        if self.accordion_id is None:
            self.accordion_id = f"input-accordion-{InputAccordion.global_index}"
            InputAccordion.global_index += 1
        kwargs_checkbox = {**kwargs, "elem_id": f"{self.accordion_id}-checkbox", "visible": False}
        super().__init__(value, **kwargs_checkbox)
        self.change(fn=None, _js=f'function(checked){{ inputAccordionChecked("{self.accordion_id}", checked); }}',
                    inputs=[self])
        kwargs_accordion = {**kwargs, "elem_id": self.accordion_id, "label": kwargs.get("label", "Accordion"),
                            "elem_classes": ["input-accordion"], "open": value}
        self.accordion = gr.Accordion(**kwargs_accordion)

    def extra(self):
        return gr.Column(elem_id=self.accordion_id + "-extra", elem_classes="input-accordion-extra", min_width=0)

    def __enter__(self):
        self.accordion.__enter__()
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        self.accordion.__exit__(exc_type, exc_val, exc_tb)

    def get_block_name(self) -> str:
        return "checkbox"
