"""Built-in "Comments" script (A1111 v1.10.1 modules/processing_scripts/comments.py), from behaviour.

Always-on, no UI (``ui()`` returns None -> empty arg slice). ``process()`` removes ``#...`` comments
from ``p.all_prompts``/``p.all_negative_prompts``/``main_*`` when ``opts.enable_prompt_comments``.
"""

import re

from modules import scripts, shared


def strip_comments(text):
    text = re.sub("(^|\n)#[^\n]*(\n|$)", "\n", text)
    return re.sub("#[^\n]*(\n|$)", "\n", text)


_PROMPT_LISTS = ("all_prompts", "all_negative_prompts")
_MAIN_PROMPTS = ("main_prompt", "main_negative_prompt")
_HIRES_PROMPT_LISTS = ("all_hr_prompts", "all_hr_negative_prompts")


class ScriptStripComments(scripts.Script):
    """No UI: ``ui()`` returns None, so its argument slice is empty."""

    def process(self, p, *args):
        enabled = shared.opts.enable_prompt_comments
        if not enabled:
            return
        lists = _PROMPT_LISTS + (_HIRES_PROMPT_LISTS if getattr(p, "enable_hr", False) else ())
        for name in lists[:2]:
            setattr(p, name, [strip_comments(text) for text in getattr(p, name)])
        for name in _MAIN_PROMPTS:
            setattr(p, name, strip_comments(getattr(p, name)))
        for name in lists[2:]:  # hires prompts, when hires fix is on
            setattr(p, name, [strip_comments(text) for text in getattr(p, name)])

    def title(self):
        return "Comments"

    def show(self, is_img2img):
        return scripts.AlwaysVisible
