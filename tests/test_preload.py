"""preload.py (FacePop's command-line flags) and metadata.ini, read the way the WebUI reads them."""

from __future__ import annotations

import argparse
import configparser
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_preload():
    """Load preload.py like ``modules.script_loading.load_module``: by file path, not as a package."""
    path = ROOT / "preload.py"
    spec = importlib.util.spec_from_file_location(path.name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def webui_parser() -> argparse.ArgumentParser:
    """A real parser holding a couple of the WebUI's own flags, then FacePop's."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--models-dir", type=str, default=None)
    parser.add_argument("--api", action="store_true")
    load_preload().preload(parser)
    return parser


def test_defaults_when_no_flag_is_given():
    opts = webui_parser().parse_args([])
    assert opts.facepop_models_dir is None
    assert opts.facepop_no_download is False
    assert opts.facepop_debug is False


def test_flags_parse_into_cmd_opts_names():
    opts = webui_parser().parse_args(
        ["--api", "--facepop-models-dir", "/data/models/facepop", "--facepop-no-download", "--facepop-debug"]
    )
    assert opts.facepop_models_dir == "/data/models/facepop"
    assert opts.facepop_no_download is True and opts.facepop_debug is True
    assert opts.api is True


def test_flag_with_equals_and_spaces():
    opts = webui_parser().parse_args(["--facepop-models-dir=D:\\SD models\\facepop"])
    assert opts.facepop_models_dir == "D:\\SD models\\facepop"


def test_store_true_flags_take_no_value():
    with pytest.raises(SystemExit):
        webui_parser().parse_args(["--facepop-no-download", "yes"])


def test_unknown_flags_still_fail_like_the_webui_parse():
    with pytest.raises(SystemExit):
        webui_parser().parse_args(["--facepop-typo"])


def test_preload_twice_on_one_parser_is_harmless():
    parser = webui_parser()
    load_preload().preload(parser)
    assert parser.parse_args(["--facepop-debug"]).facepop_debug is True


def test_every_flag_has_help():
    parser = webui_parser()
    facepop = [action for action in parser._actions if any(o.startswith("--facepop-") for o in action.option_strings)]
    assert sorted(o for action in facepop for o in action.option_strings) == [
        "--facepop-debug",
        "--facepop-models-dir",
        "--facepop-no-download",
    ]
    assert all(action.help and action.help.startswith("FacePop:") for action in facepop)


# --- metadata.ini ---------------------------------------------------------------------------------

METADATA = ROOT / "metadata.ini"


def read_like_the_webui() -> configparser.ConfigParser:
    """``ExtensionMetadata.__init__``: a default ConfigParser and ``read(path)`` with no encoding."""
    config = configparser.ConfigParser()
    assert config.read(METADATA) == [str(METADATA)]
    return config


def script_requirements(config: configparser.ConfigParser, field: str, section: str, extra_section: str) -> list[str]:
    """What ``get_script_requirements`` yields: both sections joined, lowercased, split on commas/spaces."""
    text = ", ".join([config.get(section, field, fallback=""), config.get(extra_section, field, fallback="")])
    return [part for part in re.split(r"[,\s]+", text.lower().strip()) if part]


def test_metadata_is_ascii_because_a1111_reads_it_in_the_locale_encoding():
    assert METADATA.read_bytes().isascii()


def test_metadata_names_the_extension():
    config = read_like_the_webui()
    assert config.get("Extension", "Name") == "FacePop"


def test_metadata_requires_nothing_so_controlnet_stays_optional():
    config = read_like_the_webui()
    assert config.get("Extension", "Requires", fallback="") == ""
    for script in ("facepop.py", "facepop_upscale.py"):
        assert script_requirements(config, "Requires", f"scripts/{script}", "scripts") == []


@pytest.mark.parametrize("script", ["facepop.py", "facepop_upscale.py"])
def test_scripts_load_after_both_controlnets(script):
    config = read_like_the_webui()
    after = script_requirements(config, "After", f"scripts/{script}", "scripts")
    assert "sd-webui-controlnet" in after  # A1111 extension folder
    assert "sd_forge_controlnet" in after  # Forge built-in
    assert script_requirements(config, "Before", f"scripts/{script}", "scripts") == []


def test_metadata_values_hold_no_inline_comments_or_interpolation():
    """configparser keeps ``; x`` after a value as part of it, and treats ``%`` as interpolation."""
    config = read_like_the_webui()
    for section in config.sections():
        for key, value in config.items(section):
            assert ";" not in value and "#" not in value and "%" not in value, (section, key)
