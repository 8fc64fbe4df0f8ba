"""A renderer that asks a running WebUI to do the diffusion, over its HTTP API.

``POST {base}/sdapi/v1/img2img`` with the canvas (and the inpaint mask, if any) as
base64 PNG; the reply's first image is the refined canvas. This lets the CLI run
FacePop's real pipeline against a user's own WebUI and models from a shell.
"""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request
from typing import Any

import numpy as np
from PIL import Image

from lib_facepop.render import RendererError


def encode_png(arr: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def decode_image(data: str) -> np.ndarray:
    if "," in data[:100] and data.startswith("data:"):
        data = data.split(",", 1)[1]
    with Image.open(io.BytesIO(base64.b64decode(data))) as im:
        return np.asarray(im.convert("RGB"))


class WebUIAPIRenderer:
    """Renders canvases through ``/sdapi/v1/img2img`` of a WebUI started with ``--api``.

    ``payload`` holds defaults for every call (prompt, steps, sampler...); per-face
    overrides win over it. ``auth`` is ``user:password`` for ``--api-auth``. Every
    failure becomes a RendererError with one line saying what to check.
    """

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:7860",
        *,
        auth: str | None = None,
        timeout: float = 600.0,
        payload: dict[str, Any] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.timeout = timeout
        self.payload = dict(payload or {})

    def build_payload(self, canvas: np.ndarray, mask: np.ndarray | None, overrides: dict[str, Any], seed: int) -> dict:
        h, w = canvas.shape[:2]
        body: dict[str, Any] = {
            "denoising_strength": 0.4,
            "steps": 20,
            "cfg_scale": 7.0,
            **self.payload,
            **{k: v for k, v in overrides.items() if not k.startswith("facepop_")},
            "init_images": [encode_png(canvas)],
            "width": w,
            "height": h,
            "seed": int(seed),
            "batch_size": 1,
            "n_iter": 1,
            "send_images": True,
            "save_images": False,
        }
        if mask is not None:
            body.update({"mask": encode_png(mask), "inpainting_fill": 1, "inpaint_full_res": False, "mask_blur": 4})
        return body

    def render(self, canvas: np.ndarray, mask: np.ndarray | None, overrides: dict[str, Any], seed: int) -> np.ndarray:
        url = f"{self.base_url}/sdapi/v1/img2img"
        data = json.dumps(self.build_payload(canvas, mask, overrides, seed)).encode("utf-8")
        req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
        if self.auth:
            token = base64.b64encode(self.auth.encode("utf-8")).decode("ascii")
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                reply = json.loads(resp.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = ""
            try:
                body = json.loads(exc.read().decode("utf-8", "replace"))
                detail = body.get("detail") or body.get("error") or body.get("errors") or ""
            except (ValueError, AttributeError):
                pass
            hint = " (check --auth)" if exc.code == 401 else (" (is the WebUI started with --api?)" if exc.code == 404 else "")
            raise RendererError(f"WebUI at {self.base_url} answered HTTP {exc.code}{hint}: {detail or exc.reason}") from None
        except urllib.error.URLError as exc:
            raise RendererError(
                f"WebUI at {self.base_url} is unreachable ({exc.reason}); start it with --api or pass --url"
            ) from None
        except TimeoutError:
            raise RendererError(f"WebUI at {self.base_url} did not answer within {self.timeout:g} s") from None
        except ValueError as exc:
            raise RendererError(f"WebUI at {self.base_url} sent a reply that is not JSON ({exc})") from None
        images = reply.get("images") or []
        if not images:
            raise RendererError(f"WebUI at {self.base_url} returned no image (was the job interrupted?)")
        try:
            out = decode_image(images[0])
        except Exception as exc:  # noqa: BLE001 - any decoding problem is the server's
            raise RendererError(f"WebUI at {self.base_url} returned an unreadable image ({exc})") from None
        if out.shape[:2] != canvas.shape[:2]:
            out = np.asarray(Image.fromarray(out).resize((canvas.shape[1], canvas.shape[0]), Image.LANCZOS))
        return out
