"""install.py and lib_facepop/install_plan.py: the decision table, the pip calls, the WebUI's way of running it.

The WebUI is replaced by a fake ``launch`` module that records ``run_pip`` calls and answers
``is_installed`` from a fake environment, so no test ever runs pip.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

from lib_facepop import install_plan as ip

ROOT = Path(__file__).resolve().parents[1]
INSTALL_PY = ROOT / "install.py"

A1111_PACKAGES = {
    "numpy": "1.26.2",
    "protobuf": "3.20.0",
    "torch": "2.1.2+cu121",
    "torchvision": "0.16.2+cu121",
    "gradio": "3.41.2",
    "Pillow": "9.5.0",
    "fastapi": "0.94.0",
}


def load_install_module():
    """install.py as a module object (it is a script, not part of a package)."""
    return runpy.run_path(str(INSTALL_PY), run_name="facepop_install_under_test")


INSTALL = load_install_module()


def make_env(
    *,
    python: tuple[int, int] = (3, 10),
    protobuf: str | None = "3.20.0",
    numpy: str = "1.26.2",
    mediapipe: ip.MediapipeState | None = None,
    extra: dict[str, str] | None = None,
    cuda: bool | None = False,
    cuda_version: str | None = None,
    cudnn: int | None = None,
    hip: str | None = None,
) -> ip.InstallEnv:
    installed = dict(A1111_PACKAGES, numpy=numpy)
    if protobuf is None:
        installed.pop("protobuf")
    else:
        installed["protobuf"] = protobuf
    installed.update(extra or {})
    state = mediapipe or ip.MediapipeState(ip.MEDIAPIPE_MISSING)
    if state.version and state.status != ip.MEDIAPIPE_MISSING:
        installed.setdefault("mediapipe", state.version)
    return ip.InstallEnv(
        python=python,
        installed=installed,
        mediapipe=state,
        torch=ip.TorchInfo(cuda_available=cuda, cuda_version=cuda_version, cudnn_version=cudnn, hip_version=hip),
    )


def mediapipe_requirements(plan: ip.InstallPlan) -> list[str]:
    return [req for action in plan.actions for req in action.requirements if req.startswith("mediapipe")]


def onnx_requirements(plan: ip.InstallPlan) -> list[str]:
    return [req for action in plan.actions for req in action.requirements if req.startswith("onnxruntime")]


class FakeLaunch:
    """Stands in for the WebUI's ``launch`` module (launch_utils re-exports).

    ``run_pip`` records the argument string and the constraints file as it was at call time, and
    raises like ``launch.run`` does (RuntimeError with command, stdout and stderr) for requirements
    listed in ``fail``.
    """

    def __init__(self, present: set[str] | None = None, fail: dict[str, str] | None = None) -> None:
        self.present = {ip.canonical_name(name) for name in (present or set())}
        self.fail = fail or {}
        self.calls: list[dict[str, object]] = []
        self.args = SimpleNamespace(skip_install=False)

    def is_installed(self, package: str) -> bool:
        return ip.canonical_name(package) in self.present

    def run_pip(self, command: str, desc: str | None = None, live: bool = False) -> str:
        match = re.search(r'-c "([^"]+)"', command)
        constraints = Path(match.group(1)).read_text(encoding="utf-8") if match else None
        self.calls.append({"command": command, "desc": desc, "constraints": constraints})
        for needle, stderr in self.fail.items():
            if needle in command:
                raise RuntimeError(
                    f'Couldn\'t install {desc}.\nCommand: "python" -m pip {command} --prefer-binary\n'
                    f"Error code: 1\nstdout: Collecting {needle}\n\nstderr: {stderr}\n"
                )
        return ""


def probe_ok(planner, version):
    """Stands in for the post-install load probe (the real one runs mediapipe in a subprocess)."""
    return ip.MediapipeState(ip.MEDIAPIPE_OK, "0.10.9")


def run_main(env: ip.InstallEnv, launch: FakeLaunch, probe=probe_ok) -> list[str]:
    lines: list[str] = []
    assert INSTALL["main"](launch=launch, env=env, out=lines.append, probe=probe) == 0
    return lines


# --- the decision table --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("python", "protobuf", "target", "says"),
    [
        ((3, 10), "3.20.0", "0.10.9", None),  # A1111 1.10 / Forge default
        ((3, 11), "3.20.3", "0.10.9", None),
        ((3, 12), "3.20.0", None, "no Python 3.12 build"),
        ((3, 10), "4.25.3", "0.10.21", None),
        ((3, 11), "4.25.9", "0.10.21", None),
        ((3, 12), "4.25.9", "0.10.21", None),
        ((3, 10), None, "0.10.21", None),
        ((3, 10), "4.25.2", None, "needs >=4.25.3,<5"),
        ((3, 10), "4.21.12", None, "needs >=4.25.3,<5"),
        ((3, 10), "3.19.6", None, "needs protobuf 3.20.x"),
        ((3, 11), "5.29.3", None, "does not change the WebUI's protobuf"),
        ((3, 11), "6.30.2", None, "does not change the WebUI's protobuf"),
        ((3, 11), "6.31.1", None, "--no-deps"),
        ((3, 12), "6.33.0", None, "--no-deps"),
        ((3, 11), "7.34.0", None, "does not change the WebUI's protobuf"),
        ((3, 11), "garbage", None, "does not change the WebUI's protobuf"),
        ((3, 13), "4.25.9", None, "Python 3.13"),
        ((3, 14), "3.20.0", None, "Python 3.13+"),
    ],
)
def test_mediapipe_version_follows_protobuf_and_python(python, protobuf, target, says):
    plan = ip.plan_install(make_env(python=python, protobuf=protobuf, extra={"onnxruntime": "1.23.2"}))
    assert mediapipe_requirements(plan) == ([f"mediapipe=={target}"] if target else [])
    if says is None:
        assert plan.messages == []
    else:
        assert len(plan.messages) == 1 and says in plan.messages[0]


def test_a1111_default_environment_gets_mediapipe_0109_and_cpu_onnxruntime():
    """torch 2.1.2+cu121 ships cuDNN 8.9; every PyPI onnxruntime-gpu for CUDA 12 needs cuDNN 9."""
    plan = ip.plan_install(make_env(cuda=True, cuda_version="12.1", cudnn=8902))
    assert mediapipe_requirements(plan) == ["mediapipe==0.10.9"]
    assert onnx_requirements(plan) == ["onnxruntime"]
    assert "cuDNN 8" in plan.actions[1].reason and "CPU" in plan.actions[1].reason
    assert plan.messages == []


@pytest.mark.parametrize(
    ("cuda", "cuda_version", "cudnn", "hip", "expected"),
    [
        (False, None, None, None, "onnxruntime"),
        (None, None, None, None, "onnxruntime"),  # torch missing
        (True, "11.8", 8700, None, "onnxruntime-gpu>=1.16,<1.19"),
        (True, "12.1", 8902, None, "onnxruntime"),
        (True, "12.4", 90100, None, "onnxruntime-gpu>=1.19,<1.27"),
        (True, "12.8", 90701, None, "onnxruntime-gpu>=1.19,<1.27"),
        (True, "13.0", 91300, None, "onnxruntime-gpu>=1.27"),
        (True, "11.8", 90100, None, "onnxruntime"),
        (True, None, None, "6.0.32830", "onnxruntime"),
        (True, None, None, None, "onnxruntime-gpu"),  # CUDA seen, versions unknown: the plain rule
    ],
)
def test_onnxruntime_flavour_follows_torch(cuda, cuda_version, cudnn, hip, expected):
    env = make_env(
        mediapipe=ip.MediapipeState(ip.MEDIAPIPE_OK, "0.10.9"),
        cuda=cuda,
        cuda_version=cuda_version,
        cudnn=cudnn,
        hip=hip,
    )
    plan = ip.plan_install(env)
    assert onnx_requirements(plan) == [expected]
    assert plan.actions[0].feature == "matting"


@pytest.mark.parametrize("dist", ["onnxruntime", "onnxruntime-gpu", "onnxruntime_gpu", "onnxruntime-directml"])
def test_any_installed_onnxruntime_is_kept(dist):
    env = make_env(mediapipe=ip.MediapipeState(ip.MEDIAPIPE_OK, "0.10.9"), extra={dist: "1.18.0"}, cuda=True)
    assert ip.plan_install(env).is_empty


def test_cuda_onnxruntime_gpu_installed_on_a_cpu_machine_is_kept():
    env = make_env(mediapipe=ip.MediapipeState(ip.MEDIAPIPE_OK, "0.10.9"), extra={"onnxruntime-gpu": "1.23.2"})
    assert ip.plan_install(env).is_empty


def test_working_mediapipe_is_left_alone_even_on_an_unusual_protobuf():
    env = make_env(
        protobuf="6.31.1", mediapipe=ip.MediapipeState(ip.MEDIAPIPE_OK, "0.10.21"), extra={"onnxruntime": "1.31.1"}
    )
    assert ip.plan_install(env).is_empty


def test_mediapipe_without_legacy_models_is_replaced_constrained():
    env = make_env(
        python=(3, 11),
        protobuf="4.25.9",
        mediapipe=ip.MediapipeState(ip.MEDIAPIPE_NO_LEGACY, "1.2.2"),
        extra={"onnxruntime": "1.23.2"},
    )
    plan = ip.plan_install(env)
    assert mediapipe_requirements(plan) == ["mediapipe==0.10.21"]
    assert "1.2.2 has no legacy face models" in plan.actions[0].reason
    pins = ip.constraint_lines(env.installed, exclude=plan.actions[0].names)
    assert "protobuf==4.25.9" in pins and not any(line.startswith("mediapipe==") for line in pins)


def test_mediapipe_without_legacy_models_on_python_313_is_explained_not_replaced():
    env = make_env(python=(3, 13), mediapipe=ip.MediapipeState(ip.MEDIAPIPE_NO_LEGACY, "1.2.2"), cuda=False)
    plan = ip.plan_install(env)
    assert mediapipe_requirements(plan) == []
    assert onnx_requirements(plan) == ["onnxruntime"]  # matting still installs
    assert len(plan.messages) == 1 and "Python 3.10-3.12" in plan.messages[0]


def test_broken_legacy_mediapipe_chosen_by_another_extension_is_not_swapped():
    """ADetailer installs 0.10.15 (protobuf 4.25); A1111 then restores protobuf 3.20.0 at the next launch."""
    state = ip.MediapipeState(
        ip.MEDIAPIPE_BROKEN, "0.10.15", "RuntimeError: ValidatedGraphConfig Initialization failed."
    )
    plan = ip.plan_install(make_env(mediapipe=state, extra={"onnxruntime": "1.23.2"}))
    assert plan.actions == []
    (line,) = plan.messages
    assert "0.10.15" in line and "ValidatedGraphConfig" in line and 'pip install "mediapipe==0.10.9"' in line


def test_broken_mediapipe_at_the_target_version_suggests_a_reinstall():
    state = ip.MediapipeState(ip.MEDIAPIPE_BROKEN, "0.10.9", "ImportError: DLL load failed")
    plan = ip.plan_install(make_env(mediapipe=state, extra={"onnxruntime": "1.23.2"}))
    assert plan.actions == [] and "--force-reinstall" in plan.messages[0]


def test_numpy_2_blocks_the_legacy_mediapipe():
    plan = ip.plan_install(make_env(protobuf="4.25.9", numpy="2.1.3", extra={"onnxruntime": "1.23.2"}))
    assert plan.actions == [] and "numpy 2.1.3" in plan.messages[0]


def test_python_too_old_plans_nothing():
    plan = ip.plan_install(make_env(python=(3, 9)))
    assert plan.actions == [] and "3.9" in plan.messages[0]


def test_every_line_is_a_single_ascii_line():
    """The WebUI prints install.py's output through a pipe that may be cp1252 on Windows."""
    envs = [
        make_env(python=py, protobuf=pb, numpy=np_, cuda=True, cuda_version="12.1", cudnn=8902)
        for py in [(3, 9), (3, 10), (3, 12), (3, 13)]
        for pb in [None, "3.20.0", "4.25.9", "5.29.3", "6.31.1"]
        for np_ in ["1.26.2", "2.0.0"]
    ]
    for env in envs:
        plan = ip.plan_install(env)
        for line in plan.messages + [action.reason for action in plan.actions]:
            assert line.isascii() and "\n" not in line


# --- constraints: FacePop only adds packages ----------------------------------------------------


def test_constraints_pin_every_installed_distribution_but_the_one_being_installed():
    installed = dict(
        A1111_PACKAGES,
        mediapipe="1.2.2",
        broken="unknown",
        Weird_Name="1.0",
        empty="",
        snapshot="1.0-SNAPSHOT",
        xformers="0.0.23.post1",
        nightly="2.5.0.dev20240601+cu124",
        rc="1.0rc1",
    )
    lines = ip.constraint_lines(installed, exclude={"mediapipe"})
    for pin in ["numpy==1.26.2", "protobuf==3.20.0", "torch==2.1.2+cu121", "gradio==3.41.2", "pillow==9.5.0"]:
        assert pin in lines
    for pin in ["weird-name==1.0", "xformers==0.0.23.post1", "nightly==2.5.0.dev20240601+cu124", "rc==1.0rc1"]:
        assert pin in lines
    assert not any(line.startswith(("mediapipe", "broken", "empty", "snapshot")) for line in lines)
    assert lines == sorted(lines)


def test_pip_arguments_are_quoted_for_the_shell():
    action = ip.PipAction(("onnxruntime-gpu>=1.19,<1.27",), "why", "matting")
    args = action.pip_args("C:\\Users\\A B\\Temp\\c.txt")
    assert args == 'install "onnxruntime-gpu>=1.19,<1.27" -c "C:\\Users\\A B\\Temp\\c.txt"'
    assert action.names == {"onnxruntime-gpu"}


def test_pip_error_summary_keeps_the_first_error_line():
    error = RuntimeError(
        "Couldn't install mediapipe.\nCommand: x\nError code: 1\nstdout: Collecting mediapipe\n"
        "stderr: ERROR: Cannot install mediapipe==0.10.21 because these package versions have conflicting dependencies.\n"
        "ERROR: ResolutionImpossible: for help visit https://pip.pypa.io\n"
    )
    assert ip.summarize_pip_error(error).startswith("Cannot install mediapipe==0.10.21 because")
    assert ip.summarize_pip_error(RuntimeError("")) == "RuntimeError"
    assert len(ip.summarize_pip_error("x" * 1000)) == 240


def test_traceback_summary_finds_the_exception_line():
    stderr = "Traceback (most recent call last):\n  File x\nRuntimeError: ValidatedGraphConfig Initialization failed.\nCalc: detail\n"
    assert ip.summarize_traceback(stderr) == "RuntimeError: ValidatedGraphConfig Initialization failed."
    assert ip.summarize_traceback("") == ""


@pytest.mark.parametrize(
    ("cudnn", "major"), [(8902, 8), (8700, 8), (7605, 7), (90100, 9), (91300, 9), (0, None), (None, None)]
)
def test_cudnn_major(cudnn, major):
    assert ip.cudnn_major(cudnn) == major


def test_version_alone_decides_missing_and_no_legacy():
    assert ip.mediapipe_state_from_version(None).status == ip.MEDIAPIPE_MISSING
    assert ip.mediapipe_state_from_version("0.10.30").status == ip.MEDIAPIPE_NO_LEGACY
    assert ip.mediapipe_state_from_version("1.2.2").status == ip.MEDIAPIPE_NO_LEGACY
    assert ip.mediapipe_state_from_version("0.10.21") is None  # needs the load probe
    assert ip.mediapipe_state_from_version("unknown") is None


# --- install.py main(): pip calls and output ----------------------------------------------------


def test_satisfied_environment_makes_no_pip_call_and_prints_nothing():
    launch = FakeLaunch()
    env = make_env(mediapipe=ip.MediapipeState(ip.MEDIAPIPE_OK, "0.10.9"), extra={"onnxruntime-gpu": "1.23.2"})
    assert run_main(env, launch) == []
    assert launch.calls == []


def test_fresh_a1111_install_runs_two_constrained_pip_calls():
    launch = FakeLaunch()
    lines = run_main(make_env(cuda=False), launch)
    assert [call["command"].split('"')[1] for call in launch.calls] == ["mediapipe==0.10.9", "onnxruntime"]
    for call in launch.calls:
        pins = call["constraints"].splitlines()
        for pin in ["numpy==1.26.2", "protobuf==3.20.0", "torch==2.1.2+cu121", "gradio==3.41.2"]:
            assert pin in pins
        assert call["desc"].endswith("for FacePop")
    assert not any(line.startswith("mediapipe==") for line in launch.calls[0]["constraints"].splitlines())
    assert len(lines) == 2 and "mediapipe==0.10.9" in lines[0] and "protobuf 3.20.0" in lines[0]


def test_constraints_file_is_removed_afterwards():
    launch = FakeLaunch()
    run_main(make_env(), launch)
    path = re.search(r'-c "([^"]+)"', launch.calls[0]["command"]).group(1)
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))


def test_second_run_after_install_is_silent():
    launch = FakeLaunch()
    run_main(make_env(protobuf="4.25.3", python=(3, 12)), launch)
    assert len(launch.calls) == 2
    after = make_env(
        protobuf="4.25.3",
        python=(3, 12),
        mediapipe=ip.MediapipeState(ip.MEDIAPIPE_OK, "0.10.21"),
        extra={"onnxruntime": "1.23.2"},
    )
    again = FakeLaunch()
    assert run_main(after, again) == [] and again.calls == []


def test_pip_failure_is_one_line_and_does_not_stop_the_next_action():
    launch = FakeLaunch(
        fail={
            "mediapipe": "ERROR: Cannot install mediapipe==0.10.9 because these package versions have conflicting dependencies."
        }
    )
    lines = run_main(make_env(), launch)
    assert len(launch.calls) == 2  # onnxruntime still attempted
    failures = [line for line in lines if line.startswith("could not install")]
    assert len(failures) == 1
    assert "Cannot install mediapipe==0.10.9" in failures[0] and "face detection" in failures[0]
    assert "-m pip install" in failures[0]


def test_mediapipe_that_still_does_not_load_after_install_is_reported():
    def probe_broken(planner, version):
        return ip.MediapipeState(ip.MEDIAPIPE_BROKEN, "0.10.9", "RuntimeError: boom")

    lines = run_main(make_env(extra={"onnxruntime": "1.23.2"}), FakeLaunch(), probe=probe_broken)
    assert len(lines) == 2 and "still do not load (RuntimeError: boom)" in lines[1]


def test_unexpected_error_is_reported_not_raised():
    lines: list[str] = []
    assert INSTALL["main"](launch=FakeLaunch(), env=object(), out=lines.append) == 0
    assert len(lines) == 1 and "failed unexpectedly" in lines[0]


def test_say_prefixes_and_survives_an_unencodable_console(monkeypatch, capsys):
    class Cp1252Out:
        encoding = "cp1252"

        def __init__(self) -> None:
            self.text = ""

        def write(self, text: str) -> int:
            text.encode(self.encoding)  # raises like a real cp1252 pipe would
            self.text += text
            return len(text)

        def flush(self) -> None:
            pass

    fake = Cp1252Out()
    monkeypatch.setattr(sys, "stdout", fake)
    INSTALL["say"]("path C:\\Users\\\u4e2d\\x \u2265 done")
    assert fake.text.startswith("[FacePop] path C:\\Users\\?\\x ? done")


def test_launch_presence_decides_for_the_packages_facepop_installs():
    planner = ip
    installed = {"onnxruntime-gpu": "1.23.2", "numpy": "1.26.2"}
    assert INSTALL["apply_launch_presence"](installed, FakeLaunch(present={"numpy"}), planner) == {"numpy": "1.26.2"}
    kept = INSTALL["apply_launch_presence"](installed, FakeLaunch(present={"onnxruntime", "onnxruntime-gpu"}), planner)
    assert kept == {"onnxruntime-gpu": "1.23.2", "numpy": "1.26.2", "onnxruntime": "unknown"}
    assert ip.constraint_lines(kept) == ["numpy==1.26.2", "onnxruntime-gpu==1.23.2"]


def test_planner_imports_without_any_runtime_package():
    """install.py runs before numpy/mediapipe/onnxruntime exist: the planner must need none of them."""
    code = textwrap.dedent(
        f"""
        import sys
        for name in ("numpy", "cv2", "mediapipe", "onnxruntime", "PIL", "torch", "packaging"):
            sys.modules[name] = None
        sys.path.insert(0, {str(ROOT)!r})
        import lib_facepop.install_plan as ip
        print(ip.plan_install(ip.InstallEnv(python=(3, 10), installed={{"protobuf": "3.20.0"}})).actions[0].requirements)
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "mediapipe==0.10.9" in result.stdout


# --- install.py run the way the WebUI runs it ----------------------------------------------------

FAKE_LAUNCH_PY = textwrap.dedent(
    """
    import json, os
    from types import SimpleNamespace

    args = SimpleNamespace(skip_install=False)
    _absent = set(filter(None, os.environ.get("FAKE_ABSENT", "").split(",")))

    def is_installed(package):
        import importlib.metadata, importlib.util
        if package in _absent:
            return False
        try:
            importlib.metadata.distribution(package)
            return True
        except importlib.metadata.PackageNotFoundError:
            try:
                return importlib.util.find_spec(package) is not None
            except (ModuleNotFoundError, ValueError):
                return False

    def run_pip(command, desc=None, live=False):
        with open(os.environ["FAKE_PIP_LOG"], "a", encoding="utf-8") as log:
            log.write(json.dumps({"command": command, "desc": desc}) + "\\n")
        if os.environ.get("FAKE_PIP_FAIL"):
            raise RuntimeError("Couldn't install " + str(desc) + ".\\nstderr: ERROR: " + os.environ["FAKE_PIP_FAIL"])
        return ""
    """
)


def _mediapipe_loads_here() -> bool:
    try:
        import mediapipe

        return hasattr(mediapipe, "solutions")
    except Exception:
        return False


def _has_onnxruntime_here() -> bool:
    return any(ip.canonical_name(name) in ip.ONNXRUNTIME_DISTRIBUTIONS for name in INSTALL["installed_distributions"]())


needs_dev_env = pytest.mark.skipif(
    not (_mediapipe_loads_here() and _has_onnxruntime_here()),
    reason="needs the dev environment (mediapipe 0.10.x with legacy models, onnxruntime)",
)


def run_like_the_webui(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    """``"<python>" "<ext>/install.py"`` with the WebUI root on PYTHONPATH and the WebUI as cwd."""
    webui = tmp_path / "webui"
    webui.mkdir()
    (webui / "launch.py").write_text(FAKE_LAUNCH_PY, encoding="utf-8")
    log = tmp_path / "pip.log"
    child_env = dict(
        os.environ, PYTHONPATH=f"{webui}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", FAKE_PIP_LOG=str(log)
    )
    child_env.update(env)
    result = subprocess.run(
        [sys.executable, str(INSTALL_PY)], cwd=webui, env=child_env, capture_output=True, text=True, timeout=300
    )
    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()] if log.exists() else []
    return result, calls


@needs_dev_env
def test_webui_style_run_in_a_satisfied_environment_is_silent(tmp_path):
    result, calls = run_like_the_webui(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and calls == []


@needs_dev_env
def test_webui_style_run_reports_a_pip_failure_in_one_line(tmp_path):
    absent = ",".join(ip.ONNXRUNTIME_DISTRIBUTIONS)
    result, calls = run_like_the_webui(tmp_path, FAKE_ABSENT=absent, FAKE_PIP_FAIL="ResolutionImpossible: protobuf")
    assert result.returncode == 0, result.stderr
    assert len(calls) == 1 and calls[0]["command"].startswith('install "onnxruntime')
    lines = result.stdout.splitlines()
    assert all(line.startswith("[FacePop] ") for line in lines)
    assert len(lines) == 2 and "installing onnxruntime" in lines[0]
    assert lines[1].startswith("[FacePop] could not install onnxruntime") and "ResolutionImpossible" in lines[1]


@needs_dev_env
def test_runpy_with_fake_launch_in_sys_modules(monkeypatch, capsys):
    """Some launchers run install.py in-process (runpy/exec) with ``launch`` already imported."""
    launch = FakeLaunch(present={"mediapipe", "onnxruntime"})
    monkeypatch.setitem(sys.modules, "launch", launch)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".").resolve() != ROOT])
    runpy.run_path(str(INSTALL_PY), run_name="__main__")
    assert capsys.readouterr().out == ""
    assert launch.calls == []


def test_running_outside_the_webui_says_so(tmp_path):
    result = subprocess.run(
        [sys.executable, str(INSTALL_PY)],
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    assert result.stdout.strip().startswith("[FacePop] install.py is meant to be run by the WebUI launcher")


# --- the mediapipe load probe, against stand-in mediapipe packages -------------------------------

FAKE_MEDIAPIPE = {
    "ok": "",
    "broken": "raise RuntimeError('ValidatedGraphConfig Initialization failed.')",
}


def write_fake_mediapipe(root: Path, kind: str) -> None:
    """A ``mediapipe`` package shadowing the real one: legacy and working, legacy but broken, or 1.x."""
    package = root / "mediapipe"
    package.mkdir(parents=True)
    if kind == "no-legacy":
        (package / "__init__.py").write_text("__version__ = '1.2.2'\n", encoding="utf-8")
        return
    version = "0.10.9" if kind == "ok" else "0.10.15"
    (package / "__init__.py").write_text(
        textwrap.dedent(
            f"""
            from types import SimpleNamespace
            __version__ = {version!r}

            class Graph:
                def __init__(self, **kwargs):
                    pass
                def __enter__(self):
                    return self
                def __exit__(self, *exc):
                    return False
                def process(self, image):
                    return None

            class Mesh(Graph):
                def __init__(self, **kwargs):
                    {FAKE_MEDIAPIPE.get(kind) or "pass"}

            solutions = SimpleNamespace(
                face_detection=SimpleNamespace(FaceDetection=Graph),
                face_mesh=SimpleNamespace(FaceMesh=Mesh),
                selfie_segmentation=SimpleNamespace(SelfieSegmentation=Graph),
            )
            """
        ),
        encoding="utf-8",
    )


@pytest.mark.parametrize(
    ("kind", "status", "version", "detail"),
    [
        ("ok", ip.MEDIAPIPE_OK, "0.10.9", ""),
        ("broken", ip.MEDIAPIPE_BROKEN, "0.10.15", "RuntimeError: ValidatedGraphConfig Initialization failed."),
        ("no-legacy", ip.MEDIAPIPE_NO_LEGACY, "1.2.2", ""),
    ],
)
def test_probe_classifies_mediapipe(tmp_path, monkeypatch, kind, status, version, detail):
    pytest.importorskip("numpy")
    write_fake_mediapipe(tmp_path, kind)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    state = INSTALL["probe_mediapipe"](ip, "0.10.15" if kind == "broken" else None)
    assert (state.status, state.version, state.detail) == (status, version, detail)


def test_probe_reports_missing_mediapipe(tmp_path, monkeypatch):
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['mediapipe'] = None\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    state = INSTALL["probe_mediapipe"](ip, None)
    assert (state.status, state.version) == (ip.MEDIAPIPE_MISSING, None)
