"""LoRA tags of one upscale pass, rebuilt from the user's own prompt (pure text, no WebUI imports).

The upscale schedules LoRA weights per pass (``UpscaleSettings.loras``). The WebUI applies a
LoRA only through a ``<lora:name:weight>`` tag in the prompt, parsed again on every
``process_images`` call. So each pass's prompt is built fresh from the prompt the user
typed: tags of scheduled LoRAs are taken out of it (the schedule owns their weight) and
the pass's tags are appended once. Appending to ``p.prompt`` pass after pass would stack
the tags (``<lora:x:0.8> <lora:x:0.6> ...``), and the WebUI would apply the LoRA twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

#: ``<lora:name:...>`` / ``<lyco:name:...>`` (the Lora extension accepts both) with the blanks
#: before it; group 1 = name
_TAG_RE = re.compile(r"[ \t]*<(?:lora|lyco):([^:>]+)(?::[^>]*)?>", re.IGNORECASE)


def lora_tag(name: str, weight: float) -> str:
    """``<lora:name:weight>`` with the weight written short (0.8, not 0.8000)."""
    return f"<lora:{name}:{weight:g}>"


def strip_lora_tags(prompt: str, names: Iterable[str]) -> str:
    """``prompt`` without the LoRA tags of ``names`` (compared case-insensitively, as LoRA
    file names are on Windows); other tags and text stay as typed."""
    wanted = {n.strip().casefold() for n in names}
    if not wanted:
        return prompt

    def drop(m: re.Match[str]) -> str:
        return "" if m.group(1).strip().casefold() in wanted else m.group(0)

    return _TAG_RE.sub(drop, prompt)


def pass_prompt(prompt: str, loras: Mapping[str, float], scheduled: Iterable[str]) -> str:
    """The prompt for one pass: ``prompt`` minus every scheduled LoRA's tag, plus one tag per
    LoRA active in this pass (``loras``: name -> weight). Idempotent: feeding the result back
    in gives the same text, so a tag is never appended twice."""
    names = set(scheduled) | set(loras)
    base = strip_lora_tags(prompt, names)
    tags = " ".join(lora_tag(n, w) for n, w in loras.items())
    if not tags:
        return base
    return f"{base.rstrip()} {tags}" if base.strip() else tags


def count_tags(prompt: str, name: str) -> int:
    """How many ``<lora:name:...>`` tags ``prompt`` holds (tests and sanity checks)."""
    key = name.strip().casefold()
    return sum(1 for m in _TAG_RE.finditer(prompt) if m.group(1).strip().casefold() == key)
