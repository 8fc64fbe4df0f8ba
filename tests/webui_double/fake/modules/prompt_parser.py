"""``modules.prompt_parser`` stand-in: conditioning objects that just carry the prompts.

``get_learned_conditioning``/``get_multicond_learned_conditioning`` return a ``DoubleConds``; each
call counts as one text-encoder run in ``Double.counters.cond_computations`` (the real
cond cache, processing.py L460-491, decides whether they are called).
"""

from __future__ import annotations

import dataclasses

from modules import _double


class SdConditioning(list):
    """A list of prompts with ``width``/``height``/``is_negative_prompt`` (prompt_parser.py)."""

    def __init__(self, prompts, is_negative_prompt: bool = False, width=None, height=None, copy_from=None,
                 distilled_cfg_scale=None) -> None:
        super().__init__(prompts)
        source = prompts if copy_from is None else copy_from  # unset values come from there
        given = (("is_negative_prompt", is_negative_prompt, False), ("width", width, None), ("height", height, None))
        for name, value, fallback in given:
            setattr(self, name, value or getattr(source, name, fallback))
        self.distilled_cfg_scale = distilled_cfg_scale


@dataclasses.dataclass
class DoubleConds:
    prompts: list[str]
    steps: int
    width: int | None
    height: int | None
    is_negative: bool


def _compute(prompts, steps: int) -> DoubleConds:
    double = _double()
    if double is not None:
        double.counters.cond_computations += 1
    return DoubleConds(list(prompts), steps, getattr(prompts, "width", None), getattr(prompts, "height", None),
                       getattr(prompts, "is_negative_prompt", False))


def get_learned_conditioning(model, prompts, steps, hires_steps=None, use_old_scheduling=False) -> DoubleConds:
    return _compute(prompts, steps)


def get_multicond_learned_conditioning(model, prompts, steps, hires_steps=None, use_old_scheduling=False) -> DoubleConds:
    return _compute(prompts, steps)


def parse_prompt_attention(text: str) -> list:
    return [[text, 1.0]]
