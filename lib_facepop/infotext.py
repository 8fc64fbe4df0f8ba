"""PNG infotext in the WebUI's own format, so FacePop's outputs paste back anywhere.

The WebUI writes ``prompt\\nNegative prompt: ...\\nKey: value, Key: value`` into a PNG
text chunk named ``parameters``. A value containing ``,``, ``:`` or a newline is written
as a JSON string literal; everything is read back as text. These functions follow that
format (``modules/infotext_utils.py`` in A1111 v1.10.1) so that a CLI output opened in
the WebUI's PNG Info tab, or sent to img2img, restores FacePop's settings.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from PIL import Image, PngImagePlugin

#: one ``Key: value`` pair of the params line (same grammar as the WebUI's)
RE_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def quote(value: Any) -> str:
    text = str(value)
    if "," not in text and "\n" not in text and ":" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def unquote(text: str) -> str:
    if len(text) == 0 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        return json.loads(text)
    except ValueError:
        return text


def format_params(params: Mapping[str, Any]) -> str:
    """``{"A": 1, "B": "x, y"}`` -> ``A: 1, B: "x, y"`` (None values skipped)."""
    return ", ".join(k if k == v else f"{k}: {quote(v)}" for k, v in params.items() if v is not None)


def parse_params(line: str) -> dict[str, str]:
    """The params line -> ``{key: text}``, values unquoted, as the WebUI parses them."""
    return {k: unquote(v) for k, v in RE_PARAM.findall(line)}


def build_infotext(params: Mapping[str, Any], prompt: str = "", negative_prompt: str = "") -> str:
    lines = []
    if prompt:
        lines.append(prompt)
    if negative_prompt:
        lines.append(f"Negative prompt: {negative_prompt}")
    lines.append(format_params(params))
    return "\n".join(lines)


def parse_infotext(text: str) -> dict[str, str]:
    """Only the params (last) line of an infotext -> dict; prompt lines are ignored."""
    # split on "\n" only, as the WebUI does: other Unicode line breaks belong to values
    last = text.strip().split("\n")[-1] if text.strip() else ""
    return parse_params(last)


def pnginfo(infotext: str) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", infotext)
    return info


def read_png_parameters(path) -> str | None:
    with Image.open(path) as im:
        return im.info.get("parameters")
