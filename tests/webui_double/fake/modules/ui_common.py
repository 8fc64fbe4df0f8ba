"""``modules.ui_common`` subset: ``create_refresh_button``."""

from modules.ui_components import ToolButton


def create_refresh_button(refresh_component, refresh_method, refreshed_args, elem_id):
    button = ToolButton(value="\U0001f504", elem_id=elem_id)
    button.click(fn=refresh_method, inputs=[], outputs=[refresh_component])
    return button
