"""Command-line flags FacePop adds to the WebUI.

The WebUI imports every extension's ``preload.py`` and calls ``preload(parser)`` before it parses
its arguments (``modules.shared_cmd_options``), and that parse is strict: an unknown flag stops the
WebUI. So the flags have to be declared here, not read from ``sys.argv`` later. They are read back
as ``shared.cmd_opts.facepop_models_dir``, ``facepop_no_download`` and ``facepop_debug``.
"""

from __future__ import annotations

import argparse


def _add(parser: argparse.ArgumentParser, *flags: str, **kwargs: object) -> None:
    """Add one option unless the parser already has it.

    The WebUI calls ``preload`` once per parser, but a second call (a test double, a launcher that
    rebuilds its parser, a copy of this extension under another folder name) must not kill the
    start-up with argparse's "conflicting option string" error.
    """
    try:
        parser.add_argument(*flags, **kwargs)  # type: ignore[arg-type]
    except argparse.ArgumentError:
        pass


def preload(parser: argparse.ArgumentParser) -> None:
    """Declare FacePop's flags on the WebUI's argument parser."""
    _add(
        parser,
        "--facepop-models-dir",
        type=str,
        default=None,
        help="FacePop: folder for its model files (MODNet etc.); default: a FacePop folder under the WebUI's models dir",
    )
    _add(
        parser,
        "--facepop-no-download",
        action="store_true",
        help="FacePop: offline mode, never download model files; use only files already present or bundled",
    )
    _add(
        parser,
        "--facepop-debug",
        action="store_true",
        help="FacePop: always save debug images (detections, crops, masks), whatever the UI setting says",
    )
