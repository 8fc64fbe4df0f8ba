"""Model download against a real HTTP server on 127.0.0.1: good, corrupt, 404, dropped, refused."""

from __future__ import annotations

import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lib_facepop.models import MODNET, ModelSpec, ModelStore, ModelUnavailable, resolve_models_dir, sha256_of

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


class Server(BaseHTTPRequestHandler):
    hits: list[str] = []

    def log_message(self, *a):
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        type(self).hits.append(self.path)
        if self.path == "/good.bin":
            self._send(PAYLOAD)
        elif self.path == "/corrupt.bin":
            self._send(PAYLOAD[:-1] + b"X")
        elif self.path == "/drop.bin":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PAYLOAD)))
            self.end_headers()
            self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self.send_error(404, "Not Found")

    def _send(self, data: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture()
def base_url():
    Server.hits = []
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Server)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def spec(url: str) -> ModelSpec:
    return ModelSpec(name="Test", url=url, sha256=DIGEST, filename="model.bin")


def leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name != "model.bin")


def test_good_download_is_verified_and_reused(tmp_path, base_url):
    store = ModelStore(tmp_path / "models")
    seen = []
    path = store.ensure(spec(f"{base_url}/good.bin"), progress=lambda done, total: seen.append((done, total)))
    assert path == tmp_path / "models" / "model.bin" and path.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert leftovers(path.parent) == []
    # reused without any request, by this store and by a fresh one (hash check only)
    store.ensure(spec(f"{base_url}/good.bin"))
    ModelStore(tmp_path / "models").ensure(spec(f"{base_url}/good.bin"))
    assert Server.hits == ["/good.bin"]


def test_corrupt_download_is_rejected_and_removed(tmp_path, base_url):
    with pytest.raises(ModelUnavailable, match="sha256"):
        ModelStore(tmp_path).ensure(spec(f"{base_url}/corrupt.bin"))
    assert list(tmp_path.iterdir()) == []


def test_404(tmp_path, base_url):
    with pytest.raises(ModelUnavailable, match="HTTP 404"):
        ModelStore(tmp_path).ensure(spec(f"{base_url}/missing.bin"))
    assert list(tmp_path.iterdir()) == []


def test_connection_dropped_mid_transfer(tmp_path, base_url):
    with pytest.raises(ModelUnavailable, match="broke off"):
        ModelStore(tmp_path).ensure(spec(f"{base_url}/drop.bin"))
    assert list(tmp_path.iterdir()) == []


def test_connection_refused(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ModelUnavailable, match="cannot download.*by hand"):
        ModelStore(tmp_path, timeout=5).ensure(spec(f"http://127.0.0.1:{port}/good.bin"))
    assert list(tmp_path.iterdir()) == []


def test_existing_corrupt_file_is_replaced(tmp_path, base_url):
    (tmp_path / "model.bin").write_bytes(b"half a file")
    path = ModelStore(tmp_path).ensure(spec(f"{base_url}/good.bin"))
    assert sha256_of(path) == DIGEST


def test_downloads_off(tmp_path, base_url):
    with pytest.raises(ModelUnavailable, match="downloads are off"):
        ModelStore(tmp_path, allow_download=False).ensure(spec(f"{base_url}/good.bin"))
    (tmp_path / "model.bin").write_bytes(b"damaged")
    with pytest.raises(ModelUnavailable, match="damaged"):
        ModelStore(tmp_path, allow_download=False).ensure(spec(f"{base_url}/good.bin"))
    assert Server.hits == []


def test_models_dir_resolution(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert resolve_models_dir(env=env) == tmp_path / "cache" / "facepop"
    assert resolve_models_dir(webui_models_path=tmp_path / "models", env=env) == tmp_path / "models" / "facepop"
    env2 = {**env, "FACEPOP_MODELS_DIR": str(tmp_path / "envdir")}
    assert resolve_models_dir(webui_models_path=tmp_path / "models", env=env2) == tmp_path / "envdir"
    assert resolve_models_dir(tmp_path / "flag", webui_models_path="x", env=env2) == tmp_path / "flag"


def test_modnet_is_pinned():
    assert "/resolve/663b1739cfb91ae3fac0ca1b9b051e5dabc9949f/onnx/model.onnx" in MODNET.url
    assert MODNET.url.startswith("https://huggingface.co/Xenova/modnet/")
    assert len(MODNET.sha256) == 64 and MODNET.sha256.startswith("07c308cf")
