"""``modules.api.api``: base64 image helpers (api.py ``decode_base64_to_image``/``encode_pil_to_base64``)."""

from __future__ import annotations

import base64
import io

from PIL import Image


def decode_base64_to_image(encoding: str) -> Image.Image:
    """Plain base64, or a ``data:image/...;base64,<data>`` URL."""
    payload = encoding.split(";")[1].split(",")[1] if encoding.startswith("data:image/") else encoding
    return Image.open(io.BytesIO(base64.b64decode(payload)))


def encode_pil_to_base64(image: Image.Image) -> bytes:
    with io.BytesIO() as output_bytes:
        image.save(output_bytes, format="PNG")
        return base64.b64encode(output_bytes.getvalue())
