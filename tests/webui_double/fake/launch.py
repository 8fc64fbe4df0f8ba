"""``launch`` (A1111 v1.10.1 launch.py re-exporting modules/launch_utils.py), recording only.

``run_pip``/``run``/``git_clone`` never touch the network: they append to ``Double.launch_calls``.
``is_installed`` is real (importlib.metadata, then find_spec), like launch_utils.is_installed.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import sys

from modules import _double, paths_internal, shared

python = sys.executable
git = "git"
index_url = ""
dir_repos = "repositories"
script_path = paths_internal.script_path
data_path = paths_internal.data_path
args = shared.cmd_opts
skip_install = False


def is_installed(package: str) -> bool:
    """A distribution of that name, else an importable module of that name."""
    try:
        return importlib.metadata.distribution(package) is not None
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        return importlib.util.find_spec(package) is not None
    except ModuleNotFoundError:
        return False


def run_pip(command: str, desc: str | None = None, live: bool = False):
    """Recorded, not run. Returns None with --skip-install like the real one."""
    if args.skip_install:
        return None
    _double().launch_calls.append(("run_pip", command, desc))
    return ""


def run(command: str, desc: str | None = None, errdesc: str | None = None, custom_env=None, live: bool = False) -> str:
    _double().launch_calls.append(("run", command, desc))
    return ""


def git_clone(url: str, dir: str, name: str, commithash: str | None = None) -> None:  # noqa: A002 - real name
    _double().launch_calls.append(("git_clone", url, dir))


def repo_dir(name: str) -> str:
    return os.path.join(script_path, dir_repos, name)


def git_tag() -> str:
    return "f2.0.1v1.10.1-v1.10.1" if _double().forge else "v1.10.1"


def commit_hash() -> str:
    return "dfdcbab685e57677014f05a3309b48cc87383167" if _double().forge else "82a973c04367123ae98bd9abdf80d9eda9b910e2"


def check_python_version() -> None:
    pass
