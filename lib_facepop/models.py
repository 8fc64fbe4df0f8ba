"""Model files: where they live, and a download that can never leave a bad file in place.

A model is pinned by a ``ModelSpec``: an immutable URL (a Hugging Face
``resolve/<commit>`` URL, never a branch), the file's sha256 and its size in bytes.
``ensure_model`` returns the path of a file whose sha256 matches, or raises
``ModelUnavailable`` with one human sentence naming the URL, what went wrong and where
to put the file by hand. A download streams into a temporary file in the target folder,
is hashed while streaming and checked against the size and sha256, and only then renamed
into place with an atomic ``os.replace``: an interrupted, oversized or corrupt transfer is
deleted, never used, and neither is a corrupt file already in place.

Inside the WebUI, models go to ``<WebUI models>/facepop/`` unless the user points
elsewhere (``--facepop-models-dir`` or ``FACEPOP_MODELS_DIR``); outside it, to a user
cache folder shared by every install.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

#: Sub-folder name under the WebUI models dir and under the user cache dir.
APP_DIR_NAME = "facepop"
#: Environment variable naming the model folder.
ENV_MODELS_DIR = "FACEPOP_MODELS_DIR"
#: Bytes per read while downloading or hashing (1 MiB).
CHUNK_BYTES = 1 << 20

#: ``progress(bytes_done, bytes_total or None)``, called after every downloaded chunk.
DownloadProgress = Callable[[int, "int | None"], None]


def hf_url(repo: str, revision: str, path: str) -> str:
    """Hugging Face download URL of ``path`` in ``repo`` at a pinned ``revision`` (commit hash)."""
    return f"https://huggingface.co/{repo}/resolve/{revision}/{path}"


@dataclass(frozen=True)
class ModelSpec:
    """A pinned model file: ``filename`` is its name in the model folder, ``size`` its exact
    size in bytes (None = unknown: only the sha256 is checked), ``sha256`` lowercase hex."""

    name: str
    url: str
    sha256: str
    filename: str
    size: int | None = None


#: MODNet portrait matting (Apache-2.0), the fp32 ONNX export on Hugging Face (Xenova/modnet),
#: 25.9 MB. ``input`` [N,3,H,W] RGB in -1..1 -> ``output`` [N,1,H,W] alpha 0-1.
MODNET = ModelSpec(
    name="MODNet",
    url=hf_url("Xenova/modnet", "663b1739cfb91ae3fac0ca1b9b051e5dabc9949f", "onnx/model.onnx"),
    sha256="07c308cf0fc7e6e8b2065a12ed7fc07e1de8febb7dc7839d7b7f15dd66584df9",
    filename="modnet.onnx",
    size=25_888_640,
)


class ModelUnavailable(Exception):
    """The model can't be had. ``str(exc)`` is the whole human message.

    ``reason`` is a short category (``off``, ``damaged``, ``offline``, ``timeout``, ``http``,
    ``broke off``, ``too large``, ``wrong size``, ``sha256``, ``io``, or ``other``), ``detail`` says what went
    wrong in a few words and ``remedy`` where to put the file by hand, so a caller can build
    its own one-liner ("MODNet unavailable (<detail>); used ...").
    """

    def __init__(self, message: str, *, reason: str = "other", detail: str | None = None, remedy: str = "",
                 url: str = "", path: Path | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.detail = detail if detail is not None else message
        self.remedy = remedy
        self.url = url
        self.path = path


def _human_size(n: int | None) -> str:
    return "size unknown" if n is None else f"{n / 1e6:.1f} MB"


def _unavailable(spec: ModelSpec, target: Path, reason: str, detail: str) -> ModelUnavailable:
    """The one message format: what went wrong, then the URL and where to save the file by hand."""
    remedy = (
        f"To install it by hand, download {spec.url} ({_human_size(spec.size)}, sha256 {spec.sha256}) "
        f"and save it as {target}, or use another mask method."
    )
    return ModelUnavailable(f"{spec.name}: {detail}. {remedy}", reason=reason, detail=detail, remedy=remedy,
                            url=spec.url, path=target)


# ---- where models live ------------------------------------------------------

def resolve_models_dir(
    explicit: str | os.PathLike | None = None,
    *,
    webui_models_path: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    home: str | os.PathLike | None = None,
) -> Path:
    """Where FacePop's model files live.

    Order: ``explicit`` (the ``--facepop-models-dir`` flag or the Settings option) >
    ``$FACEPOP_MODELS_DIR`` > ``<webui_models_path>/facepop`` (inside the WebUI) >
    ``$XDG_CACHE_HOME/facepop`` or ``<home>/.cache/facepop`` (outside it, shared by all
    installs). The environment variable beats the WebUI's default folder but not a flag.
    Empty strings count as unset; ``~`` expands to ``home``. Pure when ``env`` and ``home``
    are given (they default to ``os.environ`` and the user's home); touches no file.
    """
    env = os.environ if env is None else env
    home_p = Path(home) if home is not None else Path.home()

    def expand(p: str | os.PathLike) -> Path:
        s = os.fspath(p).strip()
        if s == "~":
            return home_p
        if s.startswith("~/") or s.startswith("~" + os.sep):
            return home_p / s[2:]
        return Path(s)

    if explicit is not None and os.fspath(explicit).strip():
        return expand(explicit)
    if env.get(ENV_MODELS_DIR, "").strip():
        return expand(env[ENV_MODELS_DIR])
    if webui_models_path is not None and os.fspath(webui_models_path).strip():
        return expand(webui_models_path) / APP_DIR_NAME
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    return (expand(xdg) if xdg else home_p / ".cache") / APP_DIR_NAME


# ---- verification -----------------------------------------------------------

def sha256_of(path: str | os.PathLike, chunk: int = CHUNK_BYTES) -> str:
    """Lowercase hex sha256 of a file, read in ``chunk``-byte pieces."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


class VerifiedFiles:
    """Which files were already hashed, so a 26 MB model is not rehashed on every call.

    An entry is keyed by the resolved path and its (size, mtime_ns, inode) when hashed;
    a file changed since is hashed again. An explicit cache object (one per ``ModelStore``);
    ``hash_count`` counts the files really hashed.
    """

    def __init__(self) -> None:
        self._known: dict[str, tuple[tuple[int, int, int], str]] = {}
        self.hash_count = 0

    @staticmethod
    def _stamp(st: os.stat_result) -> tuple[int, int, int]:
        return (st.st_size, st.st_mtime_ns, st.st_ino)

    def matches(self, path: Path, spec: ModelSpec) -> bool:
        """True when ``path`` is a regular file of ``spec``'s size and sha256."""
        try:
            st = path.stat()
        except OSError:
            return False
        if not path.is_file() or (spec.size is not None and st.st_size != spec.size):
            return False
        key = str(path.resolve())
        known = self._known.get(key)
        if known is None or known[0] != self._stamp(st):
            try:
                digest = sha256_of(path)
            except OSError:
                return False
            self.hash_count += 1
            known = (self._stamp(st), digest)
            self._known[key] = known
        return known[1] == spec.sha256.lower()

    def remember(self, path: Path, sha256: str) -> None:
        """Record a file verified elsewhere (a download hashed while streaming)."""
        try:
            self._known[str(path.resolve())] = (self._stamp(path.stat()), sha256.lower())
        except OSError:
            pass


# ---- download ---------------------------------------------------------------

def _network_failure(exc: BaseException, done: int) -> tuple[str, str]:
    """(reason, detail) for an exception raised by urlopen or a read."""
    if isinstance(exc, urllib.error.HTTPError):
        return "http", f"download failed, HTTP {exc.code} {exc.reason}"
    inner = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(inner, http.client.IncompleteRead):
        return "broke off", f"the download broke off after {done + len(inner.partial)} bytes; try again"
    if isinstance(inner, (TimeoutError, socket.timeout)):
        if done:
            return "timeout", f"the download stalled after {done} bytes (timed out); try again"
        return "timeout", "cannot download it (the server did not answer in time; offline?)"
    if isinstance(inner, socket.gaierror):
        return "offline", f"cannot download it (cannot resolve the host: {inner.strerror or inner}; offline?)"
    if isinstance(inner, ConnectionRefusedError):
        return "offline", "cannot download it (connection refused; offline?)"
    if done and isinstance(inner, (ConnectionError, http.client.HTTPException)):
        return "broke off", f"the download broke off after {done} bytes ({type(inner).__name__}); try again"
    return "offline", f"cannot download it ({type(inner).__name__}: {inner}; offline?)"


def ensure_model(
    spec: ModelSpec,
    directory: str | os.PathLike,
    *,
    allow_download: bool = True,
    timeout: float = 60.0,
    progress: DownloadProgress | None = None,
    verified: VerifiedFiles | None = None,
) -> Path:
    """Path of a verified copy of ``spec`` in ``directory``, downloading it if needed.

    An existing file is used only when its size and sha256 match (``verified`` remembers
    files already hashed); a corrupt one is replaced by a fresh download, or reported when
    ``allow_download`` is False. ``timeout`` is seconds per network operation (connect,
    each read), not for the whole transfer; ``progress(done, total)`` gets byte counts.
    Raises ``ModelUnavailable``; no temporary file is left behind either way.
    """
    directory = Path(directory)
    target = directory / spec.filename
    cache = verified if verified is not None else VerifiedFiles()
    if target.exists():
        if cache.matches(target, spec):
            return target
        if not allow_download:
            raise _unavailable(spec, target, "damaged",
                               f"{target} is damaged (size or sha256 mismatch) and downloads are off; delete it")
    elif not allow_download:
        raise _unavailable(spec, target, "off", f"not found in {directory} and downloads are off")

    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.filename}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise _unavailable(spec, target, "io", f"cannot write in {directory} ({exc.strerror or exc})") from None
    tmp = Path(tmp_name)
    try:
        digest = _download(spec, target, fd, timeout, progress)
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise _unavailable(spec, target, "io", f"cannot write {target} ({exc.strerror or exc})") from None
    finally:
        try:
            tmp.unlink()
        except OSError:  # already renamed into place, or gone
            pass
    cache.remember(target, digest)
    return target


def _download(spec: ModelSpec, target: Path, fd: int, timeout: float, progress: DownloadProgress | None) -> str:
    """Stream ``spec.url`` into the open temp file ``fd``; return its sha256 once size and hash check out."""
    h = hashlib.sha256()
    done = 0
    request = urllib.request.Request(spec.url, headers={"User-Agent": "FacePop (model download)"})
    with os.fdopen(fd, "wb") as out:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                hdr = resp.headers.get("Content-Length")
                announced = int(hdr) if hdr and hdr.isdigit() else None
                if spec.size is not None and announced is not None and announced != spec.size:
                    raise _unavailable(spec, target, "wrong size",
                                       f"the server offers {announced} bytes, not the pinned {spec.size} "
                                       "(a different file; sha256 would not match)")
                total = spec.size if spec.size is not None else announced
                while block := resp.read1(CHUNK_BYTES):
                    done += len(block)
                    if total is not None and done > total:
                        raise _unavailable(spec, target, "too large",
                                           f"the download is larger than the expected {total} bytes")
                    h.update(block)
                    try:
                        out.write(block)
                    except OSError as exc:
                        raise _unavailable(spec, target, "io",
                                           f"cannot write in {target.parent} ({exc.strerror or exc})") from None
                    if progress is not None:
                        progress(done, total)
        except ModelUnavailable:
            raise
        except (OSError, http.client.HTTPException, ValueError) as exc:  # URLError/HTTPError are OSErrors
            reason, detail = _network_failure(exc, done)
            raise _unavailable(spec, target, reason, detail) from None
        out.flush()
        os.fsync(out.fileno())
    # http.client returns b"" (no error) when the server closes early: count the bytes
    if total is not None and done != total:
        raise _unavailable(spec, target, "broke off", f"the download broke off ({done} of {total} bytes); try again")
    digest = h.hexdigest()
    if digest != spec.sha256.lower():
        raise _unavailable(spec, target, "sha256",
                           f"the downloaded file's sha256 {digest} does not match the pinned {spec.sha256}; not used")
    return digest


class ModelStore:
    """Model files of one folder, each verified once per process (an explicit cache object).

    ``allow_download=False`` (``--facepop-no-download``) never touches the network;
    ``timeout`` is seconds per network operation.
    """

    def __init__(self, directory: str | os.PathLike, *, allow_download: bool = True, timeout: float = 60.0) -> None:
        self.directory = Path(directory)
        self.allow_download = allow_download
        self.timeout = timeout
        self.verified = VerifiedFiles()

    def path(self, spec: ModelSpec) -> Path:
        return self.directory / spec.filename

    def ensure(self, spec: ModelSpec, progress: DownloadProgress | None = None) -> Path:
        """The verified local file of ``spec``, downloading it if needed (see ``ensure_model``)."""
        return ensure_model(spec, self.directory, allow_download=self.allow_download, timeout=self.timeout,
                            progress=progress, verified=self.verified)
