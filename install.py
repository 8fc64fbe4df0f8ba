"""FacePop's dependency installer, run by the WebUI before it starts.

A1111 and Forge run ``"<python>" extensions/<dir>/install.py`` as a subprocess on every launch
(unless ``--skip-install``), with the WebUI root on ``PYTHONPATH`` so ``import launch`` works, the
WebUI's directory as the working directory, and this script's output printed after it exits. A
non-zero exit is only reported, but an exception here would still scare users and hide the reason,
so :func:`main` never raises.

This file only gathers facts (installed versions, whether mediapipe's face graphs load, torch's
CUDA/cuDNN) and runs pip through ``launch.run_pip``; every decision lives in the pure, tested
``lib_facepop/install_plan.py`` (see its decision table). When everything is in place it prints
nothing; otherwise one ``[FacePop]`` line per action or problem.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from types import ModuleType
from typing import Any

EXTENSION_DIR = os.path.dirname(os.path.abspath(globals().get("__file__") or os.path.join(os.getcwd(), "install.py")))
"""This extension's folder: not the working directory (the WebUI's), so it is put on sys.path."""

PROBE_TIMEOUT_S = 300
"""A first mediapipe import on Windows with a virus scanner can take a minute; never hang forever."""

MEDIAPIPE_PROBE = """
import sys
try:
    import mediapipe as mp
except ModuleNotFoundError as exc:
    if exc.name == "mediapipe":
        print("FACEPOP_PROBE missing -", flush=True)
        raise SystemExit(0)
    raise
version = getattr(mp, "__version__", "?")
solutions = getattr(mp, "solutions", None)
if solutions is None:
    print("FACEPOP_PROBE no-legacy", version, flush=True)
    raise SystemExit(0)
import numpy as np
blank = np.zeros((64, 64, 3), np.uint8)
for selection in (0, 1):
    with solutions.face_detection.FaceDetection(model_selection=selection) as graph:
        graph.process(blank)
with solutions.face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True) as graph:
    graph.process(blank)
with solutions.selfie_segmentation.SelfieSegmentation(model_selection=0) as graph:
    graph.process(blank)
print("FACEPOP_PROBE ok", version, flush=True)
"""
"""Builds and runs every legacy graph FacePop uses on a blank image, in a separate process.

Importing is not enough: mediapipe 0.10.15 with protobuf 3.20 imports and builds FaceDetection,
then fails to build FaceMesh. A separate process keeps a crash in native code away from here; the
verdict line is flushed at once and trusted even if the process then dies while shutting down.
"""


def say(line: str) -> None:
    """Print one ``[FacePop]`` line the WebUI's log can show whatever its console encoding.

    The WebUI captures this through a pipe whose encoding is the locale's (cp1252 on many Windows
    setups); pip errors and paths may hold characters it cannot encode, which would raise.
    """
    text = f"[FacePop] {line}"
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    print(text.encode(encoding, "replace").decode(encoding, "replace"), flush=True)


def load_planner() -> ModuleType:
    """Import ``lib_facepop.install_plan`` from this extension's folder.

    The WebUI runs this file with its own directory as the working directory and only its root on
    PYTHONPATH; runpy/exec callers do not add the script's folder either, so it is added here.
    """
    if EXTENSION_DIR not in sys.path:
        sys.path.insert(0, EXTENSION_DIR)
    return importlib.import_module("lib_facepop.install_plan")


def installed_distributions() -> dict[str, str]:
    """Every installed distribution and its version, first one on sys.path winning (as imports do)."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        try:
            name = dist.metadata["Name"]
            version = dist.version
        except Exception:
            continue
        if name and version and name not in found:
            found[name] = version
    return found


def apply_launch_presence(installed: dict[str, str], launch: Any, planner: ModuleType) -> dict[str, str]:
    """Let ``launch.is_installed`` decide whether the packages FacePop installs are present.

    It is the WebUI's own test (distribution metadata, then a module lookup), so a module present
    without metadata still counts as installed ("unknown" version: present, but never pinned).
    """
    result = dict(installed)
    canon = {planner.canonical_name(name): name for name in result}
    for name in ("mediapipe", *planner.ONNXRUNTIME_DISTRIBUTIONS):
        try:
            present = bool(launch.is_installed(name))
        except Exception:
            present = name in canon
        if present and name not in canon:
            result[name] = "unknown"
        elif not present and name in canon:
            result.pop(canon[name], None)
    return result


def probe_mediapipe(planner: ModuleType, version: str | None) -> Any:
    """Run :data:`MEDIAPIPE_PROBE` in the WebUI's Python and turn its output into a MediapipeState."""
    env = dict(os.environ, GLOG_minloglevel="2", TF_CPP_MIN_LOG_LEVEL="3")
    try:
        result = subprocess.run(
            [sys.executable, "-c", MEDIAPIPE_PROBE],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=PROBE_TIMEOUT_S,
            env=env,
        )
    except subprocess.TimeoutExpired:
        return planner.MediapipeState(planner.MEDIAPIPE_BROKEN, version, f"loading it took over {PROBE_TIMEOUT_S} s")
    except OSError as exc:
        return planner.MediapipeState(planner.MEDIAPIPE_BROKEN, version, f"could not start Python: {exc}")
    for line in reversed(result.stdout.splitlines()):
        parts = line.split()
        if len(parts) == 3 and parts[0] == "FACEPOP_PROBE":
            status, probed = parts[1], parts[2]
            return planner.MediapipeState(status, None if probed in ("-", "?") else probed)
    return planner.MediapipeState(planner.MEDIAPIPE_BROKEN, version, planner.summarize_traceback(result.stderr))


def torch_info(planner: ModuleType) -> Any:
    """CUDA availability and the CUDA/cuDNN/HIP versions of the WebUI's torch, or unknowns."""
    try:
        import torch
    except Exception:
        return planner.TorchInfo()
    try:
        available = bool(torch.cuda.is_available())
    except Exception:
        available = False
    cudnn = None
    if available:
        try:
            cudnn = int(torch.backends.cudnn.version() or 0) or None
        except Exception:
            cudnn = None
    version = getattr(torch, "version", None)
    return planner.TorchInfo(
        cuda_available=available,
        cuda_version=getattr(version, "cuda", None),
        cudnn_version=cudnn,
        hip_version=getattr(version, "hip", None),
    )


def gather_environment(launch: Any, planner: ModuleType) -> Any:
    """Collect the facts :func:`install_plan.plan_install` needs; the slow ones only when needed."""
    installed = apply_launch_presence(installed_distributions(), launch, planner)
    canon = {planner.canonical_name(name): version for name, version in installed.items()}
    mediapipe_version = canon.get("mediapipe")
    state = planner.mediapipe_state_from_version(mediapipe_version)
    if state is None:
        state = probe_mediapipe(planner, mediapipe_version)
    torch = torch_info(planner) if planner.needs_torch_facts(installed) else planner.TorchInfo()
    return planner.InstallEnv(
        python=(sys.version_info[0], sys.version_info[1]),
        installed=installed,
        mediapipe=state,
        torch=torch,
    )


def write_constraints(directory: str, planner: ModuleType, installed: dict[str, str], action: Any) -> str:
    """Write the pins for one action (everything installed but what it installs); return the path."""
    path = os.path.join(directory, "constraints-" + "-".join(sorted(action.names)) + ".txt")
    lines = planner.constraint_lines(installed, exclude=action.names)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def run_plan(
    plan: Any,
    env: Any,
    launch: Any,
    planner: ModuleType,
    out: Callable[[str], None] = say,
    probe: Callable[[ModuleType, str | None], Any] = probe_mediapipe,
) -> None:
    """Print the plan's lines and run its pip actions; a failing action never stops the next one.

    After installing mediapipe the load probe runs again, because pip succeeding says nothing about
    whether the face graphs build with this protobuf.
    """
    if plan.is_empty:
        return
    for message in plan.messages:
        out(message)
    if not plan.actions:
        return
    python = f'"{sys.executable}"'
    directory = tempfile.mkdtemp(prefix="facepop-pip-")
    try:
        for action in plan.actions:
            out(action.reason)
            try:
                constraints = write_constraints(directory, planner, dict(env.installed), action)
                result = launch.run_pip(action.pip_args(constraints), f"{', '.join(action.requirements)} for FacePop")
            except Exception as exc:
                out(planner.failure_line(action, exc, python=python))
                continue
            if result is not None and "mediapipe" in action.names:
                state = probe(planner, None)
                if state.status != planner.MEDIAPIPE_OK:
                    out(
                        f"mediapipe was installed but its face models still do not load ({state.detail or state.status})."
                    )
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main(
    launch: Any = None,
    env: Any = None,
    out: Callable[[str], None] = say,
    probe: Callable[[ModuleType, str | None], Any] = probe_mediapipe,
) -> int:
    """Install what FacePop needs; always returns 0 so the WebUI starts whatever happened.

    ``launch``, ``env`` and ``probe`` are injectable for tests; by default the WebUI's ``launch``
    module is imported and the environment is inspected.
    """
    try:
        planner = load_planner()
        if launch is None:
            try:
                launch = importlib.import_module("launch")
            except ImportError:
                out("install.py is meant to be run by the WebUI launcher (no 'launch' module here); nothing done.")
                return 0
        if env is None:
            env = gather_environment(launch, planner)
        plan = planner.plan_install(env)
        run_plan(plan, env, launch, planner, out, probe)
    except Exception as exc:
        out(f"install.py failed unexpectedly ({type(exc).__name__}: {exc}); the WebUI starts anyway.")
    return 0


if __name__ == "__main__":
    main()
