"""The user's ControlNet / IP-Adapter units on the face passes, without breaking the outer job.

How the units reach a face pass: ControlNet's always-on script is on the face passes'
allow-list (``settings_section``), and the child gets a copy of the outer script args, so
ControlNet reads the very units the user set. A unit without an image of its own takes
the child's init image, i.e. the upright face canvas; a unit with an image (an
IP-Adapter reference face, say) keeps it.

Why the outer job needs re-arming afterwards (both WebUIs keep per-job state on the one
ControlNet script instance the child shares):

* A1111 sd-webui-controlnet hooks the UNet globally in ``process()`` and unhooks it in
  ``postprocess()``. A child that runs ControlNet's hooks leaves the outer job unhooked, so
  the main pass would run without ControlNet (webui_api.md §7.6; ADetailer works around
  it the same way);
* Forge's built-in ControlNet caches ``current_params`` per unit in ``process()`` and reads
  ``current_params[i]`` in ``process_before_every_sampling``; the child's ``postprocess()``
  empties it, so the outer job's next sampling would raise KeyError.

So after the face passes FacePop re-runs ControlNet's ``before_process`` and ``process`` on
the outer job, but only when ControlNet had already processed it: in "before" mode when
ControlNet's ``process`` is ordered before FacePop's; in "after" mode always (FacePop
first calls ControlNet's ``postprocess`` to unhook the outer job cleanly, as ADetailer does).
``rearm.OuterJobGuard`` does that, for ControlNet and the other scripts with per-job state.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

#: where sd-webui-controlnet's external_code usually lives (A1111)
_A1111_EXTERNAL_CODE = (
    "extensions.sd-webui-controlnet.scripts.external_code",
    "extensions-builtin.sd-webui-controlnet.scripts.external_code",
)


def find_controlnet(runner: Any) -> Any | None:
    """ControlNet's always-on script in ``runner`` (title "ControlNet", case-insensitive), or None."""
    for script in getattr(runner, "alwayson_scripts", None) or []:
        try:
            if str(script.title()).lower() == "controlnet":
                return script
        except Exception:  # noqa: BLE001 - another script's broken title() is not our failure
            continue
    return None


def external_code(script: Any) -> Any | None:
    """ControlNet's ``external_code`` module: from the loaded script's own globals when it
    has one (whatever the extension's folder is called), else the usual import paths
    (A1111), else ``lib_controlnet.external_code`` (Forge). None when there is none."""
    method = getattr(type(script), "process", None)
    module = getattr(method, "__globals__", {}).get("external_code")
    if module is not None and hasattr(module, "ControlNetUnit"):
        return module
    for name in (*_A1111_EXTERNAL_CODE, "lib_controlnet.external_code"):
        try:
            return importlib.import_module(name)
        except Exception:  # noqa: BLE001 - absent or broken: try the next
            continue
    return None


def enabled_units(script: Any, script_args: Sequence[Any]) -> list[Any]:
    """The enabled units in ControlNet's slice of ``script_args`` (dicts from the API
    converted with ``ControlNetUnit.from_dict``)."""
    if script is None or script.args_from is None:
        return []
    ext = external_code(script)
    units = []
    for value in list(script_args)[script.args_from:script.args_to]:
        if isinstance(value, dict) and ext is not None:
            try:
                value = ext.ControlNetUnit.from_dict(value)
            except Exception:  # noqa: BLE001 - ControlNet will report its own bad units
                continue
        if getattr(value, "enabled", False):
            units.append(value)
    return units
