"""``modules.api.api``: base64 image helpers (api.py ``decode_base64_to_image``/``encode_pil_to_base64``)."""

from __future__ import annotations

import base64
import io

from PIL import Image


def decode_base64_to_image(encoding: str) -> Image.Image:
    if encoding.startswith("data:image/"):
        encoding = encoding.split(";")[1].split(",")[1]
    return Image.open(io.BytesIO(base64.b64decode(encoding)))


def encode_pil_to_base64(image: Image.Image) -> bytes:
    with io.BytesIO() as output_bytes:
        image.save(output_bytes, format="PNG")
        return base64.b64encode(output_bytes.getvalue())
