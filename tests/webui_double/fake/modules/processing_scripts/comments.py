"""Built-in "Comments" script (A1111 v1.10.1 modules/processing_scripts/comments.py), from behaviour.

Always-on, no UI (``ui()`` returns None -> empty arg slice). ``process()`` removes ``#...`` comments
from ``p.all_prompts``/``p.all_negative_prompts``/``main_*`` when ``opts.enable_prompt_comments``.
"""

import re

from modules import scripts, shared


def strip_comments(text):
    text = re.sub("(^|\n)#[^\n]*(\n|$)", "\n", text)
    return re.sub("#[^\n]*(\n|$)", "\n", text)


class ScriptStripComments(scripts.Script):
    def title(self):
        return "Comments"

    def show(self, is_img2img):
        return scripts.AlwaysVisible

    def process(self, p, *args):
        if not shared.opts.enable_prompt_comments:
            return
        p.all_prompts = [strip_comments(x) for x in p.all_prompts]
        p.all_negative_prompts = [strip_comments(x) for x in p.all_negative_prompts]
        p.main_prompt = strip_comments(p.main_prompt)
        p.main_negative_prompt = strip_comments(p.main_negative_prompt)
        if getattr(p, "enable_hr", False):
            p.all_hr_prompts = [strip_comments(x) for x in p.all_hr_prompts]
            p.all_hr_negative_prompts = [strip_comments(x) for x in p.all_hr_negative_prompts]
