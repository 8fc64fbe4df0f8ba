"""``modules.options`` (A1111 v1.10.1 modules/options.py), written from its behaviour.

Faithful: ``opts.<key>`` reads ``data`` then ``data_labels[key].default`` (L131-142); unknown
keys raise AttributeError; assigning an unknown attribute silently creates a plain attribute
(L90-129 fall through to object.__setattr__); ``set()`` returns False when unchanged, raises
KeyError for an unknown key, honours ``restrict_api`` (L144-171); ``get_default`` returns None
for unknown keys (L173-180); ``add_option`` fills ``data`` with the default (L256-259).
"""

from __future__ import annotations

import json
from typing import Any

from modules import errors


class OptionInfo:
    def __init__(self, default=None, label="", component=None, component_args=None, onchange=None, section=None,
                 refresh=None, comment_before="", comment_after="", infotext=None, restrict_api=False, category_id=None):
        self.default, self.label, self.component, self.component_args = default, label, component, component_args
        self.onchange, self.section, self.category_id, self.refresh = onchange, section, category_id, refresh
        self.do_not_save = False  # OptionHTML sets it: a text block, not a setting
        self.comment_before, self.comment_after = comment_before, comment_after
        self.infotext, self.restrict_api = infotext, restrict_api

    # The builders below add HTML next to the setting's label and return the option, for chaining.
    def link(self, label: str, url: str) -> OptionInfo:
        return _commented(self, "comment_before", f"[<a href='{url}' target='_blank'>{label}</a>]")

    def js(self, label: str, js_func: str) -> OptionInfo:
        return _commented(self, "comment_before", f"[<a onclick='{js_func}(); return false'>{label}</a>]")

    def info(self, info: str) -> OptionInfo:
        return _commented(self, "comment_after", f"<span class='info'>({info})</span>")

    def html(self, html: str) -> OptionInfo:
        return _commented(self, "comment_after", html)

    def needs_restart(self) -> OptionInfo:
        return _commented(self, "comment_after", f" {_INFO_SPAN.format('requires restart')}")

    def needs_reload_ui(self) -> OptionInfo:
        return _commented(self, "comment_after", f" {_INFO_SPAN.format('requires Reload UI')}")


_INFO_SPAN = "<span class='info'>({})</span>"


def _commented(option: OptionInfo, side: str, text: str) -> OptionInfo:
    setattr(option, side, getattr(option, side) + text)
    return option


class OptionHTML(OptionInfo):
    def __init__(self, text: str) -> None:
        super().__init__(str(text).strip(), label="")
        self.do_not_save = True


def options_section(section_identifier: tuple, options_dict: dict[str, OptionInfo]) -> dict[str, OptionInfo]:
    """Tag every option with ``section`` (and ``category_id`` for 3-tuples), options.py L68-77."""
    if len(section_identifier) == 2:
        tags = {"section": section_identifier}
    elif len(section_identifier) == 3:  # (id, label, category id)
        tags = {"section": section_identifier[:2], "category_id": section_identifier[2]}
    else:
        tags = {}
    for info in options_dict.values():
        for attribute, value in tags.items():
            setattr(info, attribute, value)
    return options_dict


_builtin_fields = {"data_labels", "data", "restricted_opts", "typemap"}


def _refuse(key: str, how: str = "") -> None:
    raise RuntimeError(f"not possible to set '{key}' because it is restricted{how}")


class Options:
    typemap = {int: float}

    def __init__(self, data_labels: dict[str, OptionInfo], restricted_opts: set[str]) -> None:
        self.data_labels = data_labels
        self.data = {k: v.default for k, v in data_labels.items() if not v.do_not_save}
        self.restricted_opts = restricted_opts

    def __setattr__(self, key: str, value: Any) -> None:
        if key in _builtin_fields:
            return object.__setattr__(self, key, value)
        if self.data is not None and (key in self.data or key in self.data_labels):
            from modules import shared

            assert not shared.cmd_opts.freeze_settings, "changing settings is disabled"
            info = self.data_labels.get(key)
            if info is not None and info.do_not_save:
                return None
            comp_args = info.component_args if info else None
            if isinstance(comp_args, dict) and comp_args.get("visible", True) is False:
                _refuse(key)  # a hidden setting
            if shared.cmd_opts.hide_ui_dir_config and key in self.restricted_opts:
                _refuse(key, " with --hide_ui_dir_config")
            self.data[key] = value
            return None
        return object.__setattr__(self, key, value)

    def __getattr__(self, item: str) -> Any:
        if item in _builtin_fields:
            return object.__getattribute__(self, item)
        if self.data is not None and item in self.data:
            return self.data[item]
        labels = self.data_labels
        if item in labels:  # never saved: the declared default
            return labels[item].default
        return object.__getattribute__(self, item)

    def set(self, key: str, value: Any, is_api: bool = False, run_callbacks: bool = True) -> bool:
        """Set an option, run its onchange; True if it changed (options.py L144-171)."""
        previous = self.data.get(key, None)
        if previous == value:
            return False
        option = self.data_labels[key]
        if option.do_not_save or (is_api and option.restrict_api):
            return False
        try:
            setattr(self, key, value)
        except RuntimeError:  # restricted: refused quietly
            return False
        if not run_callbacks or option.onchange is None:
            return True
        try:
            option.onchange()
        except Exception as e:
            errors.display(e, f"changing setting {key} to {value}")
            setattr(self, key, previous)  # a failing onchange undoes the change
            return False
        return True

    def get_default(self, key: str) -> Any:
        info = self.data_labels.get(key)
        return None if info is None else info.default

    def save(self, filename: str) -> None:
        text = json.dumps(self.data, indent=4, ensure_ascii=False)
        with open(filename, "w", encoding="utf8") as target:
            target.write(text)

    def load(self, filename: str) -> None:
        try:
            with open(filename, encoding="utf8") as source:
                loaded = json.load(source)
        except FileNotFoundError:
            loaded = {}  # no config file yet: everything at its default
        self.data = loaded

    def onchange(self, key: str, func, call: bool = True) -> None:
        self.data_labels[key].onchange = func
        if call:
            func()

    def add_option(self, key: str, info: OptionInfo) -> None:
        self.data_labels[key] = info
        if not info.do_not_save:
            self.data.setdefault(key, info.default)

    def reorder(self) -> None:
        """No-op: settings page order does not matter to the double."""

    def dumpjson(self) -> str:
        return json.dumps({k: self.data.get(k, v.default) for k, v in self.data_labels.items()}, default=str)

    def same_type(self, x: Any, y: Any) -> bool:
        if x is None or y is None:
            return True
        return self.typemap.get(type(x), type(x)) == self.typemap.get(type(y), type(y))

    def cast_value(self, key: str, value: Any) -> Any:
        """Cast to the default's type; bool special-cases "False" (options.py L297-318)."""
        if value is None:
            return None
        reference = self.data_labels[key].default
        if reference is None:
            reference = getattr(self, key, None)  # no declared default: the current value decides
        if reference is None:
            return None
        kind = type(reference)
        if kind is bool and value == "False":  # bool("False") would be True
            return False
        return kind(value)


class OptionsCategories:
    def __init__(self) -> None:
        self.mapping: dict[str, Any] = {}

    def register_category(self, category_id: str, label: str) -> str:
        self.mapping.setdefault(category_id, label)
        return category_id


categories = OptionsCategories()
