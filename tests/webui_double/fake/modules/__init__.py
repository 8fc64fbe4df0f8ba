"""Fake ``modules`` package of the FacePop WebUI test double (tests/webui_double).

``install()`` loads this package under the real name ``modules`` and sets ``WEBUI_DOUBLE`` to
the active :class:`tests.webui_double.Double` before importing the submodules.
"""

from typing import Any

WEBUI_DOUBLE: Any = None


def _double() -> Any:
    """The active Double (set by install())."""
    return WEBUI_DOUBLE
