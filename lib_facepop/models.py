"""Model files: where they live, and a download that can never leave a bad file in place.

Inside the WebUI, models go to ``<WebUI models>/facepop/`` unless the user points
elsewhere (``--facepop-models-dir`` or ``FACEPOP_MODELS_DIR``); outside it, to a user cache
directory. A download streams into a temporary file in the same folder, is checked
against a pinned sha256 (and size), and only then renamed into place, atomically: an
interrupted or corrupt transfer is deleted, never used.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ModelSpec:
    """A pinned model file. ``size`` in bytes (None = unknown), ``sha256`` lowercase hex."""

    name: str
    url: str
    sha256: str
    filename: str
    size: int | None = None


#: MODNet portrait matting, ONNX export published on Hugging Face (Xenova/modnet), pinned revision
MODNET = ModelSpec(
    name="MODNet",
    url="https://huggingface.co/Xenova/modnet/resolve/663b1739cfb91ae3fac0ca1b9b051e5dabc9949f/onnx/model.onnx",
    sha256="07c308cf0fc7e6e8b2065a12ed7fc07e1de8febb7dc7839d7b7f15dd66584df9",
    filename="modnet.onnx",
)


class ModelUnavailable(Exception):
    """The model can't be had; the message says why and where to put the file by hand."""


def resolve_models_dir(
    explicit: str | os.PathLike | None = None,
    *,
    webui_models_path: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
) -> Path:
    """Where FacePop's model files live.

    Order: ``explicit`` (the ``--facepop-models-dir`` flag) > ``FACEPOP_MODELS_DIR`` >
    ``<webui_models_path>/facepop`` (inside the WebUI) > ``$XDG_CACHE_HOME/facepop`` or
    ``~/.cache/facepop`` (outside it).
    """
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit).expanduser()
    if env.get("FACEPOP_MODELS_DIR"):
        return Path(env["FACEPOP_MODELS_DIR"]).expanduser()
    if webui_models_path:
        return Path(webui_models_path) / "facepop"
    cache = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "facepop"


def sha256_of(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


#: progress(bytes_done, bytes_total or None)
DownloadProgress = Callable[[int, int | None], None]


class ModelStore:
    """Model files of one directory, verified once per process (an explicit cache object).

    ``allow_download=False`` (``--facepop-no-download``) never touches the network.
    """

    def __init__(self, directory: str | os.PathLike, *, allow_download: bool = True, timeout: float = 60.0) -> None:
        self.directory = Path(directory)
        self.allow_download = allow_download
        self.timeout = timeout
        self._verified: dict[Path, tuple[int, float]] = {}

    def path(self, spec: ModelSpec) -> Path:
        return self.directory / spec.filename

    def _is_verified(self, path: Path, spec: ModelSpec) -> bool:
        try:
            st = path.stat()
        except OSError:
            return False
        key = (st.st_size, st.st_mtime)
        if self._verified.get(path) == key:
            return True
        if spec.size is not None and st.st_size != spec.size:
            return False
        if sha256_of(path) != spec.sha256:
            return False
        self._verified[path] = key
        return True

    def ensure(self, spec: ModelSpec, progress: DownloadProgress | None = None) -> Path:
        """The verified local file of ``spec``, downloading it if needed."""
        target = self.path(spec)
        if target.exists():
            if self._is_verified(target, spec):
                return target
            if not self.allow_download:
                raise ModelUnavailable(
                    f"{spec.name}: {target} is damaged (sha256 mismatch) and downloads are off; "
                    f"delete it and download {spec.url} there by hand"
                )
        elif not self.allow_download:
            raise ModelUnavailable(
                f"{spec.name}: not found at {target} and downloads are off; download {spec.url} and save it there"
            )
        self._download(spec, target, progress)
        return target

    def _download(self, spec: ModelSpec, target: Path, progress: DownloadProgress | None) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ModelUnavailable(f"{spec.name}: cannot create {self.directory} ({exc})") from None
        fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=self.directory)
        tmp = Path(tmp_name)
        h = hashlib.sha256()
        done = 0
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    with urllib.request.urlopen(spec.url, timeout=self.timeout) as resp:
                        total_hdr = resp.headers.get("Content-Length")
                        total = int(total_hdr) if total_hdr and total_hdr.isdigit() else spec.size
                        while True:
                            block = resp.read(1 << 20)
                            if not block:
                                break
                            out.write(block)
                            h.update(block)
                            done += len(block)
                            if progress is not None:
                                progress(done, total)
                except urllib.error.HTTPError as exc:
                    raise ModelUnavailable(
                        f"{spec.name}: download failed, HTTP {exc.code} {exc.reason} from {spec.url}; "
                        f"save the file as {target} by hand"
                    ) from None
                except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                    reason = getattr(exc, "reason", exc)
                    raise ModelUnavailable(
                        f"{spec.name}: cannot download {spec.url} ({reason}); offline? Save the file as "
                        f"{target} by hand, or use another mask method"
                    ) from None
                except http.client.IncompleteRead as exc:
                    raise ModelUnavailable(
                        f"{spec.name}: the download broke off after {done + len(exc.partial)} bytes; try again"
                    ) from None
            if total is not None and done != total:
                raise ModelUnavailable(f"{spec.name}: the download broke off ({done} of {total} bytes); try again")
            if h.hexdigest() != spec.sha256:
                raise ModelUnavailable(
                    f"{spec.name}: the downloaded file's sha256 {h.hexdigest()[:12]}... does not match the pinned "
                    f"{spec.sha256[:12]}...; not used"
                )
            os.replace(tmp, target)
            st = target.stat()
            self._verified[target] = (st.st_size, st.st_mtime)
        finally:
            if tmp.exists():
                tmp.unlink()
