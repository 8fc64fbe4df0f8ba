"""The ControlNet tile unit of the upscale passes (sd-webui-controlnet on A1111, lib_controlnet on Forge).

Every upscale tile goes through ``process_images(p)``, so ControlNet's always-on script
runs on each tile and conditions on ``p.init_images[0]`` (the tile itself) when a unit
has no image of its own. That is how a tile unit should work here: the unit is written
into ControlNet's slice of ``p.script_args`` before each render, with ``image=None``.

* A1111 (Mikubill sd-webui-controlnet): ``external_code.update_cn_script_in_processing``
  (API v3); the module comes from the loaded ControlNet script's own globals, so it works
  whatever the extension's folder is called.
* Forge: ``lib_controlnet.external_code.ControlNetUnit`` (a dataclass, ``enabled=True`` by
  default); Forge has no ``update_cn_script``, so ControlNet's slice of ``p.script_args``
  is rebuilt with the same length.

When the user already enabled units of their own, those are used as they are and no
tile unit is added. The caller restores ``p.script_args`` (and the runner's arg slices,
which the A1111 update may shift) when the upscale ends.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

#: where sd-webui-controlnet's external_code usually lives when the script globals are not reachable
_A1111_MODULES = (
    "extensions.sd-webui-controlnet.scripts.external_code",
    "extensions-builtin.sd-webui-controlnet.scripts.external_code",
)


@dataclass(frozen=True)
class TileUnitSpec:
    """What one pass asks of ControlNet: preprocessor, model name as ControlNet lists it,
    weight (0-2) and control mode (a ``ControlMode`` value such as "Balanced")."""

    module: str
    model: str
    weight: float
    control_mode: str


def pick_tile_model(names: Sequence[str], sdxl: bool) -> str | None:
    """The first installed tile model of the checkpoint's family, or None.

    Tile models are those with "tile" in their name. SDXL ones carry "xl" in the name
    (xinsir controlnet-tile-sdxl, TTPlanet SDXL tile); the others are taken as SD1.5
    (control_v11f1e_sd15_tile). A model of the wrong family would fail inside ControlNet,
    so none is picked rather than a mismatched one.
    """
    tiles = [n for n in names if "tile" in n.lower() and n.strip().lower() != "none"]
    return next((n for n in tiles if ("xl" in n.lower()) == sdxl), None)


def find_controlnet_script(runner: Any) -> Any | None:
    """ControlNet's always-on script in ``runner`` (title "ControlNet"), or None."""
    for script in getattr(runner, "alwayson_scripts", None) or []:
        try:
            if script.title().lower() == "controlnet":
                return script
        except Exception:  # a broken script's title() must not stop the upscale
            continue
    return None


def _script_global(script: Any, name: str) -> Any | None:
    """A module-level name of the file that defined ``script``'s class (WebUI script files
    are not in ``sys.modules``, but their functions keep their globals)."""
    for value in vars(type(script)).values():
        g = getattr(value, "__globals__", None)
        if isinstance(g, dict) and name in g:
            return g[name]
    return None


class ControlNetLink:
    """The ControlNet found for one ``p``: list models, read the user's units, write units."""

    def __init__(self, flavour: str, script: Any, external_code: Any, global_state: Any = None) -> None:
        self.flavour = flavour  # "a1111" or "forge"
        self.script = script
        self.external_code = external_code
        self.global_state = global_state

    # ---- discovery ---------------------------------------------------------------
    @classmethod
    def find(cls, p: Any) -> ControlNetLink | None:
        """The ControlNet of ``p.scripts``, or None when it is not loaded (or has no API)."""
        script = find_controlnet_script(p.scripts)
        if script is None:
            return None
        try:
            ext = importlib.import_module("lib_controlnet.external_code")
            state = importlib.import_module("lib_controlnet.global_state")
            return cls("forge", script, ext, state)
        except ImportError:
            pass
        ext = _script_global(script, "external_code")
        if ext is None or not hasattr(ext, "update_cn_script_in_processing"):
            for name in _A1111_MODULES:
                try:
                    ext = importlib.import_module(name)
                    break
                except ImportError:
                    ext = None
        if ext is None or not hasattr(ext, "update_cn_script_in_processing"):
            return None
        return cls("a1111", script, ext)

    def model_names(self) -> list[str]:
        if self.flavour == "forge":
            return list(self.global_state.get_all_controlnet_names())
        return list(self.external_code.get_models())

    # ---- units -------------------------------------------------------------------
    def _slice(self, p: Any) -> list[Any]:
        args = p.script_args or ()
        return list(args[self.script.args_from:self.script.args_to])

    def _as_unit(self, value: Any) -> Any | None:
        unit_cls = self.external_code.ControlNetUnit
        if isinstance(value, dict):
            return unit_cls.from_dict(value)
        return value if hasattr(value, "enabled") else None

    def user_units(self, p: Any) -> list[Any]:
        """The units the user enabled for this job (dicts from the API converted)."""
        if self.flavour == "a1111":
            units = self.external_code.get_all_units_in_processing(p)
        else:
            units = [self._as_unit(v) for v in self._slice(p)]
        return [u for u in units if u is not None and getattr(u, "enabled", False)]

    def make_unit(self, spec: TileUnitSpec) -> Any:
        ext = self.external_code
        return ext.ControlNetUnit(
            enabled=True,
            module=spec.module,
            model=spec.model,
            weight=float(spec.weight),
            image=None,  # ControlNet then uses p.init_images[0]: the tile being rendered
            resize_mode=ext.ResizeMode.INNER_FIT,
            pixel_perfect=True,
            control_mode=ext.ControlMode(spec.control_mode),
            guidance_start=0.0,
            guidance_end=1.0,
        )

    def set_units(self, p: Any, units: list[Any]) -> None:
        """Replace ControlNet's units for the next ``process_images(p)`` (padded with disabled ones)."""
        if self.flavour == "a1111":
            self.external_code.update_cn_script_in_processing(p, units)
            return
        width = self.script.args_to - self.script.args_from
        unit_cls = self.external_code.ControlNetUnit
        padded = list(units[:width]) + [unit_cls(enabled=False) for _ in range(width - len(units[:width]))]
        args = list(p.script_args)
        args[self.script.args_from:self.script.args_to] = padded
        p.script_args = type(p.script_args)(args) if isinstance(p.script_args, tuple) else args


class TileControl:
    """Decides, once per upscale, how ControlNet takes part, then applies it per render.

    ``mode`` is "user" (the user's enabled units are used unchanged), "tile" (FacePop adds
    one tile unit per pass, weight from the pass plan), or "off" (no ControlNet, no tile
    model of the checkpoint's family, or the pass weights are all 0). ``describe()`` is a
    short line for the infotext.
    """

    def __init__(self, link: ControlNetLink | None, module: str, control_mode: str, model: str | None,
                 mode: str, note: str) -> None:
        self.link = link
        self.module = module
        self.control_mode = control_mode
        self.model = model
        self.mode = mode
        self.note = note

    @classmethod
    def setup(cls, p: Any, module: str, control_mode: str, weights: Sequence[float], sdxl: bool) -> TileControl:
        link = ControlNetLink.find(p)
        if link is None:
            return cls(None, module, control_mode, None, "off", "not installed")
        if link.user_units(p):
            return cls(link, module, control_mode, None, "user", "your units")
        if not any(w > 0 for w in weights):
            return cls(link, module, control_mode, None, "off", "weight 0")
        model = pick_tile_model(link.model_names(), sdxl)
        if model is None:
            family = "SDXL" if sdxl else "SD1.5"
            return cls(link, module, control_mode, None, "off", f"no {family} tile model installed")
        return cls(link, module, control_mode, model, "tile", f"{module}/{model}")

    def describe(self) -> str:
        return self.note

    def apply(self, p: Any, weight: float | None) -> None:
        """Before a render: a tile unit of ``weight`` (None or 0: no tile unit, e.g. face passes)."""
        if self.mode != "tile" or self.link is None:
            return
        units = []
        if weight:
            units.append(self.link.make_unit(TileUnitSpec(self.module, self.model or "", float(weight),
                                                          self.control_mode)))
        self.link.set_units(p, units)
