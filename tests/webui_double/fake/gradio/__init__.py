"""Minimal stand-in for `gradio`, installed by the WebUI double only when real gradio is absent.

Components are plain objects that record their constructor kwargs (``.kwargs``) and the
handlers attached to their events (``.events``: list of ``(event, fn, kwargs)``). Only what a
Script's ``ui()`` needs is modelled: no rendering, no queue, no server.

Faithful bits (A1111 v1.10.1 ``modules/gradio_extensons.py``): every *input/output* component
(not layout blocks) calls ``scripts.scripts_current.before_component/after_component`` and the
``script_callbacks`` before/after component callbacks around its construction; ``tooltip=`` is
popped into ``webui_tooltip``. The double installs that dispatcher in ``_component_hook``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__version__ = "3.41.2-webui-double"

_component_hook: Callable[[str, Any, dict], None] | None = None
"""Set by the double: called as hook("before"|"after", component, kwargs)."""

_context_stack: list[Block] = []


class _Dependency:
    """Returned by event registration; supports chained ``.then()``/``.success()``."""

    def __init__(self, owner: Block) -> None:
        self.owner = owner

    def then(self, fn: Callable | None = None, **kwargs: Any) -> _Dependency:
        self.owner.events.append(("then", fn, kwargs))
        return self

    success = then


def _event(name: str) -> Callable:
    def register(self: Block, fn: Callable | None = None, inputs: Any = None, outputs: Any = None, **kwargs: Any) -> _Dependency:
        self.events.append((name, fn, {"inputs": inputs, "outputs": outputs, **kwargs}))
        return _Dependency(self)

    register.__name__ = name
    return register


class Block:
    """Base of everything: records kwargs, supports ``with`` (layout) and event registration."""

    _positional: tuple[str, ...] = ()
    _default_value: Any = None
    _is_io = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(self._positional):
            raise TypeError(f"{type(self).__name__}() takes at most {len(self._positional)} positional arguments")
        for name, value in zip(self._positional, args, strict=False):
            kwargs[name] = value
        self.webui_tooltip = kwargs.pop("tooltip", None)
        if self._is_io and _component_hook is not None:
            _component_hook("before", self, kwargs)
        self.kwargs = dict(kwargs)
        self.events: list[tuple[str, Callable | None, dict]] = []
        self.children: list[Block] = []
        self.elem_id = kwargs.get("elem_id")
        classes = kwargs.get("elem_classes") or []
        self.elem_classes = [classes] if isinstance(classes, str) else list(classes)
        self.visible = kwargs.get("visible", True)
        self.label = kwargs.get("label")
        self.interactive = kwargs.get("interactive")
        self.value = self._initial_value(kwargs)
        self.parent = _context_stack[-1] if _context_stack else None
        if self.parent is not None:
            self.parent.children.append(self)
        for key, value in kwargs.items():
            if not hasattr(self, key):
                setattr(self, key, value)
        if self._is_io and _component_hook is not None:
            _component_hook("after", self, kwargs)

    def _initial_value(self, kwargs: dict) -> Any:
        value = kwargs.get("value", self._default_value)
        return value() if callable(value) else value

    def __enter__(self) -> Block:
        _context_stack.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if _context_stack and _context_stack[-1] is self:
            _context_stack.pop()

    def __repr__(self) -> str:
        return f"<gr.{type(self).__name__} label={self.label!r} elem_id={self.elem_id!r} value={self.value!r}>"

    click = _event("click")
    change = _event("change")
    input = _event("input")
    release = _event("release")
    select = _event("select")
    submit = _event("submit")
    upload = _event("upload")
    clear = _event("clear")
    blur = _event("blur")
    focus = _event("focus")
    edit = _event("edit")

    def update(self, **kwargs: Any) -> dict:
        return update(**kwargs)


class BlockContext(Block):
    """Layout block (Row, Column, Group, Accordion, Tabs, Tab, Blocks)."""


class Blocks(BlockContext):
    def load(self, fn: Callable | None = None, **kwargs: Any) -> _Dependency:
        self.events.append(("load", fn, kwargs))
        return _Dependency(self)


class Row(BlockContext):
    pass


class Column(BlockContext):
    pass


class Group(BlockContext):
    pass


Box = Group


class Accordion(BlockContext):
    _positional = ("label",)


class Tabs(BlockContext):
    pass


class Tab(BlockContext):
    _positional = ("label",)


TabItem = Tab


class Component(Block):
    """Input/output component (gradio 3 ``IOComponent``)."""

    _positional = ("value",)
    _is_io = True


IOComponent = Component
FormComponent = Component


class Checkbox(Component):
    _default_value = False


class CheckboxGroup(Component):
    _positional = ("choices", "value")

    def _initial_value(self, kwargs: dict) -> Any:
        value = super()._initial_value(kwargs)
        return [] if value is None else value


class Slider(Component):
    _positional = ("minimum", "maximum", "value")

    def _initial_value(self, kwargs: dict) -> Any:
        value = super()._initial_value(kwargs)
        return kwargs.get("minimum", 0) if value is None else value


class Number(Component):
    pass


class Textbox(Component):
    _default_value = ""


class Dropdown(Component):
    _positional = ("choices", "value")


class Radio(Component):
    _positional = ("choices", "value")


class Button(Component):
    _default_value = "Run"


class UploadButton(Button):
    pass


class Image(Component):
    pass


class Gallery(Component):
    pass


class HTML(Component):
    _default_value = ""


class Markdown(Component):
    _default_value = ""


class JSON(Component):
    pass


class State(Component):
    pass


class File(Component):
    pass


class ColorPicker(Component):
    pass


class Label(Component):
    pass


class Dataframe(Component):
    pass


class Code(Component):
    pass


class Video(Component):
    pass


class Audio(Component):
    pass


class Model3D(Component):
    pass


class Plot(Component):
    pass


class Form(BlockContext):
    pass


class _Themes:
    class Base:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.kwargs = kwargs

    Default = Base
    Soft = Base


themes = _Themes()


class _Namespace:
    pass


blocks = _Namespace()
blocks.Block = Block
blocks.BlockContext = BlockContext
blocks.Blocks = Blocks
components = _Namespace()
components.Component = Component
components.IOComponent = Component
components.FormComponent = Component
components.Form = Form
layouts = _Namespace()
for _cls in (Row, Column, Group, Accordion, Tabs, Tab, Form):
    setattr(layouts, _cls.__name__, _cls)


def update(**kwargs: Any) -> dict:
    """gradio 3 ``gr.update``: a dict tagged ``__type__ == "update"``."""
    return {"__type__": "update", **kwargs}


class Request:
    """Stand-in for ``gr.Request`` (the UI passes one to img2img(); ``username`` is read)."""

    def __init__(self, username: str | None = None) -> None:
        self.username = username


class Error(Exception):
    pass


def Warning(message: str = "") -> None:  # noqa: N802 - gradio's own name
    """Records nothing; gradio shows a toast."""


def Info(message: str = "") -> None:  # noqa: N802 - gradio's own name
    """Records nothing; gradio shows a toast."""


def on(*args: Any, **kwargs: Any) -> None:
    """``gr.on`` (gradio 4): accepted and ignored."""
