"""Pytest fixtures for the WebUI double. Bind them in a test module (assignment keeps ruff's F811
quiet when a test takes ``webui`` as a parameter), or import them in a conftest:

    from tests.webui_double import fixtures as _fixtures
    webui = _fixtures.webui              # param'd over "a1111" and "forge"
    webui_forge = _fixtures.webui_forge
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.webui_double.core import MODES, Double, install, uninstall


@pytest.fixture(params=MODES)
def webui(request: pytest.FixtureRequest, tmp_path) -> Iterator[Double]:
    """The double, once per mode ("a1111", "forge"); uninstalled afterwards."""
    double = install(request.param, tmp_path / "webui-double")
    try:
        yield double
    finally:
        uninstall()


@pytest.fixture
def webui_a1111(tmp_path) -> Iterator[Double]:
    """The double in A1111 v1.10.1 mode."""
    double = install("a1111", tmp_path / "webui-double")
    try:
        yield double
    finally:
        uninstall()


@pytest.fixture
def webui_forge(tmp_path) -> Iterator[Double]:
    """The double in Forge mode."""
    double = install("forge", tmp_path / "webui-double")
    try:
        yield double
    finally:
        uninstall()
