"""What FacePop's ``install.py`` should pip-install into a WebUI, decided from facts alone.

This module is pure: it never imports the WebUI, pip, torch or mediapipe, and it uses the
standard library only, because ``install.py`` imports it *before* any of FacePop's runtime
packages exist (and possibly on an old interpreter, hence no syntax newer than 3.9 here).
``install.py`` gathers the facts (:class:`InstallEnv`), calls :func:`plan_install`, and runs
the resulting :class:`PipAction` list through ``launch.run_pip``.

Why the choices are not "``pip install mediapipe onnxruntime``"
---------------------------------------------------------------
* A plain ``pip install mediapipe`` now gives 1.x, which ships neither the legacy
  ``mediapipe.solutions`` API nor its face models; 0.10.30 was the first release without them.
* The legacy releases pin protobuf: 0.10.9-0.10.11 want ``protobuf>=3.11,<4`` (0.10.9, measured
  with 3.20, is the last one that pulls no jax), 0.10.13+ want ``protobuf>=4.25.3,<5``. A1111 1.10 and Forge both pin
  ``protobuf==3.20.0`` in ``requirements_versions.txt`` and A1111 reinstalls that file on every
  launch when an installed version differs, so changing protobuf would be undone at the next start
  and would leave a mediapipe behind that no longer loads (measured: 0.10.15 imports with protobuf
  3.20.3 but its FaceMesh graph fails to build).
* Python wheels: 0.10.9 exists for Python <= 3.11 only; Python 3.12 builds start at 0.10.13 (all
  protobuf >= 4.25.3); Python 3.13 builds start at 0.10.30 (no legacy models at all).
* onnxruntime-gpu on PyPI is built for one CUDA/cuDNN pair per release range: <= 1.18 CUDA 11 +
  cuDNN 8, 1.19-1.26 CUDA 12 + cuDNN 9, >= 1.27 CUDA 13 + cuDNN 9. It imports and silently runs on
  the CPU when the pair does not match, so it is chosen only for a torch that brings that pair.

Decision table (first matching row wins; "pb" = installed protobuf)
--------------------------------------------------------------------
mediapipe:
  =============================================  =============================================
  facts                                          plan
  =============================================  =============================================
  Python < 3.10                                  nothing at all; one line: FacePop needs 3.10+
  mediapipe loads its legacy face graphs         nothing (silent)
  Python >= 3.13                                 no mediapipe action; one line: legacy models
                                                 do not exist for 3.13+
  numpy >= 2                                     no action; one line (legacy builds need numpy 1)
  pb 3.20.x, Python <= 3.11                      target mediapipe==0.10.9
  pb 3.20.x, Python 3.12                         no action; one line (no 3.12 build for pb 3.20)
  4.25.3 <= pb < 5                               target mediapipe==0.10.21
  pb missing                                     target mediapipe==0.10.21 (brings protobuf 4.25)
  6.31 <= pb < 6.34                              no action; one line with the --no-deps recipe
                                                 (0.10.21 runs there but declares protobuf<5)
  any other pb (3.x != 3.20, < 4.25.3, 5.x,      no action; one line: which protobuf each legacy
  6.0-6.30, >= 6.34, 7.x)                        mediapipe needs; FacePop leaves protobuf alone
  =============================================  =============================================

  With a target: mediapipe missing -> install it; mediapipe >= 0.10.30 or 1.x (no legacy API) ->
  replace it (constrained, so protobuf/numpy/torch/gradio stay); a legacy-range mediapipe that
  fails to load -> no action, one line with the fix. FacePop does not swap a legacy mediapipe
  another extension chose (ADetailer pins 0.10.13-0.10.15), since two installers each pinning their
  own version would reinstall on every launch.

onnxruntime (matting), only when no onnxruntime build at all is installed (any variant is kept):
  torch missing or no CUDA device -> ``onnxruntime``; ROCm torch -> ``onnxruntime``;
  CUDA 11 + cuDNN 8 -> ``onnxruntime-gpu>=1.16,<1.19``; CUDA 12 + cuDNN 9 ->
  ``onnxruntime-gpu>=1.19,<1.27``; CUDA 13 + cuDNN 9 -> ``onnxruntime-gpu>=1.27``; CUDA seen but
  versions unknown -> ``onnxruntime-gpu``; any other pair (A1111 1.10's and Forge's default torch:
  CUDA 12.1 + cuDNN 8.9) -> ``onnxruntime`` plus a line saying why the GPU build would not help.

Every pip call carries a constraints file pinning *every* distribution already installed except
the ones being installed, so FacePop only ever adds packages; a pip resolution failure is reported
in one line and the WebUI still starts.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

MEDIAPIPE_FOR_PROTOBUF_3 = "0.10.9"
"""Legacy mediapipe for protobuf 3.20.x (the WebUI's pin): measured there, no jax, wheels for Python <= 3.11."""
MEDIAPIPE_FOR_PROTOBUF_4 = "0.10.21"
"""Newest mediapipe that still ships ``solutions`` and its models; protobuf >=4.25.3,<5, numpy<2."""
FIRST_MEDIAPIPE_WITHOUT_LEGACY = (0, 10, 30)

ONNXRUNTIME_DISTRIBUTIONS = (
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxruntime-directml",
    "onnxruntime-openvino",
    "onnxruntime-silicon",
    "onnxruntime-rocm",
    "onnxruntime-qnn",
    "onnxruntime-training",
    "ort-nightly",
    "ort-nightly-gpu",
    "ort-nightly-directml",
)
"""Every distribution that provides the ``onnxruntime`` module: any one of them is kept."""

MEDIAPIPE_OK = "ok"
MEDIAPIPE_MISSING = "missing"
MEDIAPIPE_NO_LEGACY = "no-legacy"
MEDIAPIPE_BROKEN = "broken"

_VERSION_RE = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?(?:\.(\d+))?")
# PEP 440 (its appendix's permissive pattern) and PEP 508 names: a constraints line pip cannot
# parse makes the whole pip call fail, so anything else installed is left out of the pins.
_PINNABLE_VERSION_RE = re.compile(
    r"""^v?(?:\d+!)?\d+(?:\.\d+)*
    (?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?\d*)?
    (?:-\d+|[-_.]?(?:post|rev|r)[-_.]?\d*)?
    (?:[-_.]?dev[-_.]?\d*)?
    (?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$""",
    re.IGNORECASE | re.VERBOSE,
)
_NAME_RE = re.compile(r"^(?:[A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def canonical_name(name: str) -> str:
    """PEP 503 name, so ``Pillow``/``pillow`` and ``onnxruntime_gpu``/``onnxruntime-gpu`` match."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def version_tuple(version: str | None) -> tuple[int, int, int] | None:
    """Leading ``major.minor.patch`` of a version string (``"4.25.3.post1"`` -> (4, 25, 3)).

    Only the numeric release matters for the ranges above, so pre/post/local tags are ignored
    rather than pulling in ``packaging``, which the WebUI's Python may not have importable.
    """
    if not version:
        return None
    match = _VERSION_RE.match(version)
    if match is None:
        return None
    return tuple(int(part or 0) for part in match.groups())  # type: ignore[return-value]


def cudnn_major(cudnn_version: int | None) -> int | None:
    """Major of ``torch.backends.cudnn.version()``: 8902 -> 8 (cuDNN 8 encodes M*1000), 90100 -> 9."""
    if not cudnn_version or cudnn_version <= 0:
        return None
    return cudnn_version // 10000 if cudnn_version >= 10000 else cudnn_version // 1000


@dataclass(frozen=True)
class MediapipeState:
    """What loading mediapipe's legacy face graphs in the WebUI's Python showed.

    ``status`` is one of :data:`MEDIAPIPE_OK`, :data:`MEDIAPIPE_MISSING`,
    :data:`MEDIAPIPE_NO_LEGACY` (no ``solutions``: 0.10.30+/1.x) or :data:`MEDIAPIPE_BROKEN`
    (present but the face graphs do not build, usually a protobuf mismatch); ``detail`` is the
    one-line error for the last case.
    """

    status: str
    version: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class TorchInfo:
    """The torch facts that decide between onnxruntime and onnxruntime-gpu.

    ``cuda_available`` is None when torch is missing or the check failed. ``cuda_version`` is
    ``torch.version.cuda`` (e.g. "12.1"), ``cudnn_version`` ``torch.backends.cudnn.version()``,
    ``hip_version`` ``torch.version.hip`` (ROCm builds report CUDA as available too).
    """

    cuda_available: bool | None = None
    cuda_version: str | None = None
    cudnn_version: int | None = None
    hip_version: str | None = None


@dataclass(frozen=True)
class InstallEnv:
    """Facts about the WebUI's Python environment, gathered by ``install.py``.

    ``installed`` maps distribution names (any spelling) to installed versions; it must list every
    installed distribution because the constraints that keep the WebUI untouched come from it.
    """

    python: tuple[int, int]
    installed: Mapping[str, str]
    mediapipe: MediapipeState = field(default_factory=lambda: MediapipeState(MEDIAPIPE_MISSING))
    torch: TorchInfo = field(default_factory=TorchInfo)

    def version_of(self, name: str) -> str | None:
        """Installed version of a distribution, whatever spelling ``installed`` uses."""
        wanted = canonical_name(name)
        for dist, version in self.installed.items():
            if canonical_name(dist) == wanted:
                return version
        return None


@dataclass(frozen=True)
class PipAction:
    """One ``pip install`` FacePop wants, with the line that explains it to the user.

    ``feature`` names what stays unavailable if the install fails, so the failure line can say so.
    """

    requirements: tuple[str, ...]
    reason: str
    feature: str

    @property
    def names(self) -> frozenset[str]:
        """Canonical distribution names this action installs (excluded from the constraints)."""
        return frozenset(canonical_name(re.split(r"[<>=!~;\[ ]", req, maxsplit=1)[0]) for req in self.requirements)

    def pip_args(self, constraints_path: str | None) -> str:
        """Argument string for ``launch.run_pip`` (which runs it through a shell).

        Every requirement and the path are double-quoted: ``>``/``<`` in a specifier would
        otherwise be shell redirections, and double quotes work in both sh and cmd.exe.
        """
        parts = ["install"] + [f'"{req}"' for req in self.requirements]
        if constraints_path:
            parts += ["-c", f'"{constraints_path}"']
        return " ".join(parts)

    def manual_command(self, python: str = "python") -> str:
        """What a user can type to retry by hand with the WebUI's ``python`` (constraints are theirs)."""
        return f"{python} -m pip install " + " ".join(f'"{req}"' for req in self.requirements)


@dataclass
class InstallPlan:
    """Output of :func:`plan_install`: pip actions to run and lines to print without acting."""

    actions: list[PipAction] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """True when everything is satisfied: install.py then prints nothing."""
        return not self.actions and not self.messages


def constraint_lines(installed: Mapping[str, str], exclude: Iterable[str] = ()) -> list[str]:
    """``name==version`` for every installed distribution except ``exclude``.

    Pinning everything (not only numpy/protobuf/torch/gradio) is what makes "FacePop only adds
    packages" true: pip may still pick any version of a package that is not installed yet, but it
    cannot upgrade or downgrade one the WebUI already has. Names or versions pip could not parse
    (odd metadata from broken installs) are skipped rather than making the whole file invalid.
    """
    skip = {canonical_name(name) for name in exclude}
    lines: dict[str, str] = {}
    for name, version in installed.items():
        key = canonical_name(name)
        if key in skip or key in lines or not name or not version:
            continue
        if not _NAME_RE.match(name) or not _PINNABLE_VERSION_RE.match(version.strip()):
            continue
        lines[key] = f"{key}=={version.strip()}"
    return [lines[key] for key in sorted(lines)]


def _python_label(python: tuple[int, int]) -> str:
    return f"{python[0]}.{python[1]}"


def _mediapipe_target(env: InstallEnv, plan: InstallPlan) -> str | None:
    """Pick the mediapipe release that fits this Python/numpy/protobuf, or explain why none does."""
    py = _python_label(env.python)
    if env.python >= (3, 13):
        plan.messages.append(
            f"Python {py}: mediapipe's legacy face models (mediapipe.solutions) do not exist for Python 3.13+ "
            f"(the 3.13 builds start at 0.10.30, which dropped them), so FacePop's face detection is unavailable; "
            f"it needs Python 3.10-3.12 with mediapipe 0.10.x."
        )
        return None

    numpy = env.version_of("numpy")
    numpy_v = version_tuple(numpy)
    if numpy_v is not None and numpy_v >= (2, 0, 0):
        plan.messages.append(
            f"numpy {numpy}: the mediapipe releases with the legacy face models (0.10.x) are built for numpy 1.x "
            f"and FacePop does not change the WebUI's numpy, so face detection is unavailable here."
        )
        return None

    protobuf = env.version_of("protobuf")
    pb = version_tuple(protobuf)
    if not protobuf:
        return MEDIAPIPE_FOR_PROTOBUF_4
    if pb is None:
        pb = (0, 0, 0)  # unreadable version: never guess, fall through to the explanation
    if pb[:2] == (3, 20):
        if env.python <= (3, 11):
            return MEDIAPIPE_FOR_PROTOBUF_3
        plan.messages.append(
            f"protobuf {protobuf} on Python {py}: mediapipe {MEDIAPIPE_FOR_PROTOBUF_3} (the release for protobuf 3.20) "
            f"has no Python 3.12 build and every 3.12 build with the legacy face models needs protobuf >=4.25.3,<5; "
            f"FacePop does not change the WebUI's protobuf, so face detection is unavailable "
            f"(use Python 3.10/3.11, or protobuf 4.25.x with mediapipe=={MEDIAPIPE_FOR_PROTOBUF_4})."
        )
        return None
    if (4, 25, 3) <= pb < (5, 0, 0):
        return MEDIAPIPE_FOR_PROTOBUF_4
    if (6, 31, 0) <= pb < (6, 34, 0):
        plan.messages.append(
            f"protobuf {protobuf}: mediapipe {MEDIAPIPE_FOR_PROTOBUF_4} runs with protobuf 6.31-6.33 but declares "
            f"protobuf<5, so pip will not install it beside yours and FacePop leaves protobuf alone; to use it anyway: "
            f'pip install --no-deps "mediapipe=={MEDIAPIPE_FOR_PROTOBUF_4}", then '
            f"pip install absl-py attrs flatbuffers matplotlib opencv-contrib-python."
        )
        return None
    plan.messages.append(
        f"protobuf {protobuf}: no mediapipe release with the legacy face models works with it "
        f"(mediapipe {MEDIAPIPE_FOR_PROTOBUF_3} needs protobuf 3.20.x, mediapipe {MEDIAPIPE_FOR_PROTOBUF_4} "
        f"needs >=4.25.3,<5); FacePop does not change the WebUI's protobuf, so face detection is unavailable."
    )
    return None


def _plan_mediapipe(env: InstallEnv, plan: InstallPlan) -> None:
    state = env.mediapipe
    if state.status == MEDIAPIPE_OK:
        return
    target = _mediapipe_target(env, plan)
    if target is None:
        return
    protobuf = env.version_of("protobuf")
    fits = f"protobuf {protobuf}" if protobuf else "no protobuf installed yet (it brings protobuf 4.25.x)"
    requirement = f"mediapipe=={target}"
    current = state.version or env.version_of("mediapipe") or "?"

    if state.status == MEDIAPIPE_NO_LEGACY:
        plan.actions.append(
            PipAction(
                (requirement,),
                f"mediapipe {current} has no legacy face models (removed in 0.10.30); replacing it with "
                f"{requirement}, which fits {fits}; the WebUI's other packages stay pinned.",
                "face detection",
            )
        )
    elif state.status == MEDIAPIPE_BROKEN:
        detail = f" ({state.detail})" if state.detail else ""
        if current == target:
            plan.messages.append(
                f"mediapipe {current} is installed but its face models do not load{detail}; "
                f'to repair it: pip install --force-reinstall --no-deps "{requirement}".'
            )
        else:
            plan.messages.append(
                f"mediapipe {current} is installed but its face models do not load with "
                f"{fits}{detail}; FacePop does not replace a mediapipe another extension may have chosen; "
                f'to fix it: pip install "{requirement}".'
            )
    else:
        plan.actions.append(
            PipAction(
                (requirement,),
                f"installing {requirement}: the release with the legacy face models that fits {fits} "
                f"on Python {_python_label(env.python)}.",
                "face detection",
            )
        )


def _has_onnxruntime(env: InstallEnv) -> bool:
    return any(env.version_of(name) for name in ONNXRUNTIME_DISTRIBUTIONS)


def _plan_onnxruntime(env: InstallEnv, plan: InstallPlan) -> None:
    if _has_onnxruntime(env):
        return
    torch = env.torch

    def cpu(reason: str) -> None:
        plan.actions.append(
            PipAction(("onnxruntime",), f"installing onnxruntime (CPU) for matting: {reason}.", "matting")
        )

    def gpu(requirement: str, reason: str) -> None:
        plan.actions.append(PipAction((requirement,), f"installing {requirement} for matting: {reason}.", "matting"))

    if torch.cuda_available is None:
        cpu("torch is not importable, so no CUDA device can be assumed")
        return
    if not torch.cuda_available:
        cpu("torch sees no CUDA device")
        return
    if torch.hip_version:
        cpu(f"torch is a ROCm build (HIP {torch.hip_version}) and onnxruntime-gpu is CUDA-only")
        return

    cuda = version_tuple(torch.cuda_version)
    cudnn = cudnn_major(torch.cudnn_version)
    if cuda is None or cudnn is None:
        gpu("onnxruntime-gpu", "torch sees a CUDA device")
        return
    pair = f"CUDA {torch.cuda_version} with cuDNN {cudnn}"
    if cuda[0] == 11 and cudnn == 8:
        gpu("onnxruntime-gpu>=1.16,<1.19", f"torch uses {pair}, the pair onnxruntime-gpu 1.16-1.18 is built for")
    elif cuda[0] == 12 and cudnn >= 9:
        gpu("onnxruntime-gpu>=1.19,<1.27", f"torch uses {pair}, the pair onnxruntime-gpu 1.19-1.26 is built for")
    elif cuda[0] == 13 and cudnn >= 9:
        gpu("onnxruntime-gpu>=1.27", f"torch uses {pair}, the pair onnxruntime-gpu 1.27+ is built for")
    else:
        cpu(
            f"torch uses {pair} and no onnxruntime-gpu on PyPI is built for that pair "
            f"(CUDA 11 + cuDNN 8, or CUDA 12/13 + cuDNN 9), so it would silently run on the CPU anyway"
        )


def plan_install(env: InstallEnv) -> InstallPlan:
    """Decide the pip actions and user-facing lines for ``env`` (see the module docstring's table)."""
    plan = InstallPlan()
    if env.python < (3, 10):
        plan.messages.append(
            f"Python {_python_label(env.python)} is too old for FacePop, which needs Python 3.10-3.12; nothing installed."
        )
        return plan
    _plan_mediapipe(env, plan)
    _plan_onnxruntime(env, plan)
    return plan


def needs_torch_facts(installed: Mapping[str, str]) -> bool:
    """Whether install.py must import torch at all: only when no onnxruntime build is installed.

    Importing torch costs seconds, so a satisfied environment skips it on every later launch.
    """
    return not any(canonical_name(name) in ONNXRUNTIME_DISTRIBUTIONS and version for name, version in installed.items())


def mediapipe_state_from_version(version: str | None) -> MediapipeState | None:
    """The state a version alone decides (missing, or >= 0.10.30 without legacy models); else None.

    install.py skips its (slower) load probe in those two cases.
    """
    if not version:
        return MediapipeState(MEDIAPIPE_MISSING)
    parsed = version_tuple(version)
    if parsed is not None and parsed >= FIRST_MEDIAPIPE_WITHOUT_LEGACY:
        return MediapipeState(MEDIAPIPE_NO_LEGACY, version)
    return None


def summarize_pip_error(error: BaseException | str) -> str:
    """One line out of the RuntimeError ``launch.run_pip`` raises (command, stdout and stderr).

    pip's first ``ERROR:`` line names the conflict ("Cannot install X because ..."), so that one is
    kept; otherwise the last non-empty line. Long lines are cut so the WebUI log stays readable.
    """
    text = str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    chosen = ""
    for line in lines:
        bare = line.split("stderr:", 1)[-1].strip()
        if bare.startswith("ERROR:"):
            chosen = bare[len("ERROR:") :].strip()
            break
    if not chosen and lines:
        chosen = lines[-1]
    if not chosen and isinstance(error, BaseException):
        chosen = type(error).__name__
    if len(chosen) > 240:
        chosen = chosen[:237] + "..."
    return chosen or "unknown error"


_EXCEPTION_LINE_RE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Failure|Warning)\b")


def summarize_traceback(stderr: str) -> str:
    """The exception line of a Python traceback (``RuntimeError: ...``), for one-line reports.

    Falls back to the last non-empty line, and cuts long lines like :func:`summarize_pip_error`.
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    chosen = next((line for line in reversed(lines) if _EXCEPTION_LINE_RE.match(line)), lines[-1] if lines else "")
    if len(chosen) > 240:
        chosen = chosen[:237] + "..."
    return chosen


def failure_line(action: PipAction, error: BaseException | str, python: str = "python") -> str:
    """The single line printed when pip could not carry out ``action``."""
    return (
        f"could not install {', '.join(action.requirements)} without changing the WebUI's packages: "
        f"{summarize_pip_error(error).rstrip('.')}; the WebUI starts anyway, FacePop's {action.feature} is unavailable "
        f"until it is installed (by hand: {action.manual_command(python)})."
    )
