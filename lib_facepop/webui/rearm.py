"""Scripts whose per-job state a face pass overwrites, set aside and re-armed for the outer job.

A face pass runs the allow-listed always-on scripts on a child ``p`` with the *same script
instances* as the outer job. Two kinds keep per-job state there or in the model, so the
child leaves them configured for itself:

* ControlNet (see ``controlnet``): A1111 unhooks the UNet in the child's ``postprocess()``;
  Forge empties its ``current_params`` there. Only when the user enabled a unit;
* Hypertile (A1111 built-in ``hypertile_script``, title "Hypertile"): ``process()``
  configures the UNet's attention tiles for ``p.width x p.height``, so after a face pass
  the main pass would run with tiles sized for the face canvas.

``OuterJobGuard`` lists those of the outer job's scripts whose ``process`` already ran on
it (in "before" mode: the ones ordered before FacePop; in "after" mode: all of them),
calls ControlNet's ``postprocess`` before the face passes (an unhook with an empty
``Processed``, as ADetailer does; it also keeps A1111's global hook out of face passes
when ControlNet is not on their allow-list), and afterwards re-runs each one's
``before_process`` and ``process`` on the outer job. Other scripts are left alone: re-running, say, dynamic
prompts would draw new prompts for a job whose prompts are already fixed.
"""

from __future__ import annotations

from typing import Any

from lib_facepop.webui.child import script_key_names
from lib_facepop.webui.controlnet import enabled_units

#: allow-listed scripts to re-arm, by file stem or lower-case title
REARM_NAMES = frozenset({"controlnet", "hypertile", "hypertile_script"})


def _overrides(script: Any, method: str) -> bool:
    from modules import scripts

    impl = getattr(type(script), method, None)
    return impl is not None and impl is not getattr(scripts.Script, method, None)


def _call(script: Any, method: str, p: Any, *extra: Any) -> None:
    if not _overrides(script, method):
        return
    args = tuple(p.script_args[script.args_from:script.args_to])
    getattr(script, method)(p, *extra, *args)


def _is_controlnet(script: Any) -> bool:
    return "controlnet" in script_key_names(script)


class OuterJobGuard:
    """The outer job's re-armable scripts around a series of face passes.

    ``before_facepop_only`` keeps only the scripts whose ``process`` runs before FacePop's
    ("before" mode).
    """

    def __init__(self, p: Any, facepop_script: Any, *, before_facepop_only: bool) -> None:
        candidates = [s for s in getattr(p.scripts, "alwayson_scripts", None) or []
                      if s is not facepop_script and not script_key_names(s).isdisjoint(REARM_NAMES)]
        candidates = [s for s in candidates if not _is_controlnet(s) or enabled_units(s, p.script_args or ())]
        if before_facepop_only:
            order = _process_order(p.scripts)
            mine = order.index(facepop_script) if facepop_script in order else len(order)
            candidates = [s for s in candidates if s in order and order.index(s) < mine]
        self.scripts = candidates

    def suspend(self, p: Any) -> None:
        """Before the face passes: unhook ControlNet from the outer job."""
        from modules import processing

        for script in self.scripts:
            if _is_controlnet(script):
                _call(script, "postprocess", p, processing.Processed(p, [], p.seed, ""))

    def resume(self, p: Any) -> None:
        """After the face passes: each script's ``before_process`` and ``process`` on the outer job."""
        for script in self.scripts:
            _call(script, "before_process", p)
            _call(script, "process", p)


def _process_order(runner: Any) -> list[Any]:
    try:
        return list(runner.ordered_scripts("process"))
    except Exception:  # noqa: BLE001 - a runner without callback ordering: list order
        return list(getattr(runner, "alwayson_scripts", []))
