"""Model download and verification against a real HTTP server on 127.0.0.1.

Good, corrupt, 404, redirect, dropped mid-transfer, stalled, refused, oversized; existing
valid files reused without a request, corrupt ones replaced; no temporary file left behind.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from lib_facepop.models import (
    MODNET,
    ModelSpec,
    ModelStore,
    ModelUnavailable,
    VerifiedFiles,
    ensure_model,
    hf_url,
    resolve_models_dir,
    sha256_of,
)

PAYLOAD = bytes(range(256)) * 4096 + b"tail"  # 1 MiB + 4 bytes: two download chunks
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()
CORRUPT = PAYLOAD[:-1] + b"X"  # same size, one byte off


@dataclass
class Server:
    base: str = ""
    hits: list[str] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def _handler(state: Server) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep pytest output clean
            pass

        def _head(self, length: int) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def do_GET(self) -> None:  # noqa: N802 - http.server API
            state.hits.append(self.path)
            if self.path == "/good.bin":
                self._head(len(PAYLOAD))
                self.wfile.write(PAYLOAD)
            elif self.path == "/corrupt.bin":
                self._head(len(CORRUPT))
                self.wfile.write(CORRUPT)
            elif self.path == "/bigger.bin":  # no Content-Length, more bytes than pinned
                self.send_response(200)
                self.end_headers()
                self.wfile.write(PAYLOAD + b"extra")
                self.close_connection = True
            elif self.path == "/drop.bin":  # announce everything, send a third, hang up
                self._head(len(PAYLOAD))
                self.wfile.write(PAYLOAD[: len(PAYLOAD) // 3])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
            elif self.path == "/stall.bin":  # send a little, then nothing until the test is over
                self._head(len(PAYLOAD))
                self.wfile.write(PAYLOAD[:1000])
                self.wfile.flush()
                state.release.wait(10)
            elif self.path == "/redirect.bin":
                self.send_response(302)
                self.send_header("Location", "/good.bin")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_error(404, "Not Found")

    return Handler


@pytest.fixture()
def server() -> Iterator[Server]:
    state = Server()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    httpd.block_on_close = False
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield state
    state.release.set()
    httpd.shutdown()
    httpd.server_close()


def spec(url: str, size: int | None = len(PAYLOAD)) -> ModelSpec:
    return ModelSpec(name="Test", url=url, sha256=DIGEST, filename="model.bin", size=size)


def leftovers(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name != "model.bin") if d.exists() else []


def fail(s: ModelSpec, d: Path, **kw: object) -> ModelUnavailable:
    with pytest.raises(ModelUnavailable) as ei:
        ensure_model(s, d, **kw)  # type: ignore[arg-type]
    return ei.value


def says_where(err: ModelUnavailable, s: ModelSpec, d: Path) -> None:
    """The message names the URL and the exact file to save by hand."""
    msg = str(err)
    assert s.url in msg and str(d / "model.bin") in msg and "by hand" in msg and s.sha256 in msg


# ---- downloads ---------------------------------------------------------------

def test_good_download_is_verified_and_reused(tmp_path: Path, server: Server) -> None:
    store = ModelStore(tmp_path / "models" / "sub")  # folders are created on demand
    seen: list[tuple[int, int | None]] = []
    path = store.ensure(spec(f"{server.base}/good.bin"), progress=lambda done, total: seen.append((done, total)))
    assert path == tmp_path / "models" / "sub" / "model.bin" and path.read_bytes() == PAYLOAD
    dones = [d for d, _ in seen]
    assert len(seen) >= 2 and dones == sorted(dones) and seen[-1] == (len(PAYLOAD), len(PAYLOAD))
    assert leftovers(path.parent) == []
    # reused without any request, by this store (no rehash) and by a fresh one (one hash)
    store.ensure(spec(f"{server.base}/good.bin"))
    assert store.verified.hash_count == 0  # hashed while streaming, remembered
    fresh = ModelStore(tmp_path / "models" / "sub")
    fresh.ensure(spec(f"{server.base}/good.bin"))
    fresh.ensure(spec(f"{server.base}/good.bin"))
    assert fresh.verified.hash_count == 1
    assert server.hits == ["/good.bin"]


def test_redirect_is_followed(tmp_path: Path, server: Server) -> None:
    assert ensure_model(spec(f"{server.base}/redirect.bin"), tmp_path).read_bytes() == PAYLOAD
    assert server.hits == ["/redirect.bin", "/good.bin"]


def test_unknown_size_is_checked_by_hash_only(tmp_path: Path, server: Server) -> None:
    assert ensure_model(spec(f"{server.base}/good.bin", size=None), tmp_path).read_bytes() == PAYLOAD
    err = fail(spec(f"{server.base}/corrupt.bin", size=None), tmp_path / "x")
    assert err.reason == "sha256"


def test_corrupt_download_is_rejected_and_removed(tmp_path: Path, server: Server) -> None:
    s = spec(f"{server.base}/corrupt.bin")
    err = fail(s, tmp_path)
    assert err.reason == "sha256" and hashlib.sha256(CORRUPT).hexdigest() in str(err)
    says_where(err, s, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_404(tmp_path: Path, server: Server) -> None:
    s = spec(f"{server.base}/missing.bin")
    err = fail(s, tmp_path)
    assert err.reason == "http" and "HTTP 404" in str(err)
    says_where(err, s, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_connection_dropped_mid_transfer(tmp_path: Path, server: Server) -> None:
    s = spec(f"{server.base}/drop.bin")
    err = fail(s, tmp_path)
    assert err.reason == "broke off" and f"{len(PAYLOAD) // 3} of {len(PAYLOAD)} bytes" in str(err)
    says_where(err, s, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_stalled_transfer_times_out(tmp_path: Path, server: Server) -> None:
    err = fail(spec(f"{server.base}/stall.bin"), tmp_path, timeout=0.3)
    assert err.reason == "timeout" and "after 1000 bytes" in str(err)
    assert list(tmp_path.iterdir()) == []


def test_oversized_download_is_cut_off(tmp_path: Path, server: Server) -> None:
    err = fail(spec(f"{server.base}/bigger.bin"), tmp_path)
    assert err.reason == "too large"
    assert list(tmp_path.iterdir()) == []


def test_announced_size_other_than_pinned_is_refused(tmp_path: Path, server: Server) -> None:
    err = fail(spec(f"{server.base}/good.bin", size=len(PAYLOAD) + 1), tmp_path)
    assert err.reason == "wrong size" and str(len(PAYLOAD)) in str(err)
    assert list(tmp_path.iterdir()) == []


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sp = spec(f"http://127.0.0.1:{port}/good.bin")  # nothing listens there any more
    err = fail(sp, tmp_path, timeout=5)
    assert err.reason == "offline" and "refused" in err.detail
    assert "cannot download" in str(err)
    says_where(err, sp, tmp_path)
    assert list(tmp_path.iterdir()) == []


# ---- files already there -------------------------------------------------------

def test_existing_valid_file_is_used_without_a_request(tmp_path: Path, server: Server) -> None:
    (tmp_path / "model.bin").write_bytes(PAYLOAD)
    assert ensure_model(spec(f"{server.base}/good.bin"), tmp_path) == tmp_path / "model.bin"
    assert server.hits == []


def test_existing_corrupt_file_is_replaced(tmp_path: Path, server: Server) -> None:
    (tmp_path / "model.bin").write_bytes(PAYLOAD[:1000])  # a half-written leftover
    path = ensure_model(spec(f"{server.base}/good.bin"), tmp_path)
    assert sha256_of(path) == DIGEST and leftovers(tmp_path) == []
    (tmp_path / "model.bin").write_bytes(CORRUPT)  # right size, wrong bytes
    ensure_model(spec(f"{server.base}/good.bin"), tmp_path)
    assert sha256_of(path) == DIGEST and server.hits == ["/good.bin", "/good.bin"]


def test_corrupt_file_is_kept_out_of_use_when_the_download_fails(tmp_path: Path, server: Server) -> None:
    (tmp_path / "model.bin").write_bytes(CORRUPT)
    fail(spec(f"{server.base}/missing.bin"), tmp_path)
    assert leftovers(tmp_path) == []
    fail(spec(f"{server.base}/missing.bin"), tmp_path)  # and it is still not taken for good


def test_a_file_changed_after_verification_is_hashed_again(tmp_path: Path, server: Server) -> None:
    cache = VerifiedFiles()
    path = ensure_model(spec(f"{server.base}/good.bin"), tmp_path, verified=cache)
    path.write_bytes(CORRUPT)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    ensure_model(spec(f"{server.base}/good.bin"), tmp_path, verified=cache)
    assert cache.hash_count == 1 and len(server.hits) == 2 and path.read_bytes() == PAYLOAD


def test_downloads_off(tmp_path: Path, server: Server) -> None:
    s = spec(f"{server.base}/good.bin")
    err = fail(s, tmp_path / "m", allow_download=False)
    assert err.reason == "off" and "downloads are off" in str(err)
    says_where(err, s, tmp_path / "m")
    assert not (tmp_path / "m").exists()
    (tmp_path / "model.bin").write_bytes(b"damaged")
    with pytest.raises(ModelUnavailable, match="damaged.*downloads are off"):
        ModelStore(tmp_path, allow_download=False).ensure(s)
    assert server.hits == []


def test_unwritable_folder_is_reported(tmp_path: Path, server: Server) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    err = fail(spec(f"{server.base}/good.bin"), blocker / "models")
    assert err.reason == "io" and server.hits == []


# ---- folder resolution and the pinned spec --------------------------------------

def test_models_dir_resolution(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    assert resolve_models_dir(env=env, home=home) == tmp_path / "cache" / "facepop"
    assert resolve_models_dir(env={}, home=home) == home / ".cache" / "facepop"
    assert resolve_models_dir(env={"XDG_CACHE_HOME": ""}, home=home) == home / ".cache" / "facepop"
    assert resolve_models_dir(webui_models_path=tmp_path / "models", env=env) == tmp_path / "models" / "facepop"
    env2 = {**env, "FACEPOP_MODELS_DIR": str(tmp_path / "envdir")}
    assert resolve_models_dir(webui_models_path=tmp_path / "models", env=env2) == tmp_path / "envdir"
    assert resolve_models_dir(tmp_path / "flag", webui_models_path="x", env=env2) == tmp_path / "flag"
    assert resolve_models_dir("", env=env2) == tmp_path / "envdir"
    assert resolve_models_dir("~/m", env={}, home=home) == home / "m"
    assert resolve_models_dir(env={"FACEPOP_MODELS_DIR": "~/x"}, home=home) == home / "x"


def test_modnet_is_pinned() -> None:
    assert MODNET.url == hf_url("Xenova/modnet", "663b1739cfb91ae3fac0ca1b9b051e5dabc9949f", "onnx/model.onnx")
    assert MODNET.url == (
        "https://huggingface.co/Xenova/modnet/resolve/663b1739cfb91ae3fac0ca1b9b051e5dabc9949f/onnx/model.onnx"
    )
    assert len(MODNET.sha256) == 64 and MODNET.sha256 == MODNET.sha256.lower()
    assert MODNET.size is not None and round(MODNET.size / 1e6, 1) == 25.9
