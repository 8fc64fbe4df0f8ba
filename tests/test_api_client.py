"""The webui-api renderer against a real HTTP server on 127.0.0.1 that speaks /sdapi/v1/img2img."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from PIL import Image

from lib_facepop.api_client import WebUIAPIRenderer, decode_image, encode_png
from lib_facepop.render import RendererError


class FakeWebUI(BaseHTTPRequestHandler):
    """Inverts the init image inside the mask (or everywhere), like a toy img2img; records requests."""

    mode = "ok"
    requests: list[dict] = []

    def log_message(self, *a):  # keep pytest output clean
        pass

    def do_POST(self):  # noqa: N802 - http.server API
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        mode = type(self).mode
        if self.path != "/sdapi/v1/img2img":
            return self._send(404, {"detail": "Not Found"})
        if mode == "auth" and self.headers.get("Authorization") != "Basic " + base64.b64encode(b"me:pw").decode():
            return self._send(401, {"detail": "Not authenticated"})
        if mode == "error":
            return self._send(500, {"error": "OutOfMemoryError", "detail": "CUDA out of memory"})
        if mode == "garbage":
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"<html>oops</html>")
            return
        if mode == "empty":
            return self._send(200, {"images": [], "info": "{}"})
        img = decode_image(body["init_images"][0])
        out = 255 - img
        if "mask" in body:
            m = decode_image(body["mask"])[..., 0:1] > 127
            out = np.where(m, out, img)
        if mode == "resized":
            out = np.asarray(Image.fromarray(out).resize((out.shape[1] + 8, out.shape[0] + 8)))
        self._send(200, {"images": [encode_png(out)], "parameters": {}, "info": "{}"})

    def _send(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def server():
    FakeWebUI.requests = []
    FakeWebUI.mode = "ok"
    srv = ThreadingHTTPServer(("127.0.0.1", 0), FakeWebUI)
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _canvas():
    rng = np.random.default_rng(1)
    return rng.integers(0, 255, (64, 48, 3), dtype=np.uint8)


def test_render_round_trip_and_payload(server):
    r = WebUIAPIRenderer(server, payload={"prompt": "main prompt", "steps": 30})
    canvas = _canvas()
    out = r.render(canvas, None, {"denoising_strength": 0.35, "prompt": "face prompt", "facepop_face": 2}, seed=77)
    np.testing.assert_array_equal(out, 255 - canvas)
    body = FakeWebUI.requests[-1]["body"]
    assert body["prompt"] == "face prompt" and body["steps"] == 30 and body["denoising_strength"] == 0.35
    assert (body["width"], body["height"], body["seed"]) == (48, 64, 77)
    assert "facepop_face" not in body and "mask" not in body
    assert np.array_equal(decode_image(body["init_images"][0]), canvas)


def test_mask_is_sent_and_respected(server):
    r = WebUIAPIRenderer(server)
    canvas = _canvas()
    mask = np.zeros(canvas.shape[:2], np.uint8)
    mask[:, :24] = 255
    out = r.render(canvas, mask, {}, 1)
    np.testing.assert_array_equal(out[:, :24], 255 - canvas[:, :24])
    np.testing.assert_array_equal(out[:, 24:], canvas[:, 24:])
    assert FakeWebUI.requests[-1]["body"]["inpainting_fill"] == 1


def test_reply_of_another_size_is_resized(server):
    FakeWebUI.mode = "resized"
    out = WebUIAPIRenderer(server).render(_canvas(), None, {}, 1)
    assert out.shape == (64, 48, 3)


def test_basic_auth(server):
    FakeWebUI.mode = "auth"
    with pytest.raises(RendererError, match="401.*--auth"):
        WebUIAPIRenderer(server).render(_canvas(), None, {}, 1)
    WebUIAPIRenderer(server, auth="me:pw").render(_canvas(), None, {}, 1)


@pytest.mark.parametrize(("mode", "needle"), [("error", "HTTP 500.*CUDA out of memory"), ("garbage", "not JSON"),
                                              ("empty", "no image")])
def test_server_errors_are_clear(server, mode, needle):
    FakeWebUI.mode = mode
    with pytest.raises(RendererError, match=needle):
        WebUIAPIRenderer(server).render(_canvas(), None, {}, 1)


def test_wrong_path_hints_at_api_flag(server):
    with pytest.raises(RendererError, match="404.*--api"):
        WebUIAPIRenderer(server + "/prefix").render(_canvas(), None, {}, 1)


def test_unreachable_webui():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RendererError, match="unreachable"):
        WebUIAPIRenderer(f"http://127.0.0.1:{port}", timeout=5).render(_canvas(), None, {}, 1)


def test_slow_webui_times_out():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)  # accepts the connection but never answers
    try:
        with pytest.raises(RendererError, match="did not answer|unreachable"):
            WebUIAPIRenderer(f"http://127.0.0.1:{srv.getsockname()[1]}", timeout=0.5).render(_canvas(), None, {}, 1)
    finally:
        srv.close()


def test_data_url_images_decode():
    canvas = _canvas()
    buf = io.BytesIO()
    Image.fromarray(canvas).save(buf, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    np.testing.assert_array_equal(decode_image(url), canvas)
