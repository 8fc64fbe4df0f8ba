"""Shared fixtures: one set of real mediapipe graphs for the whole session (they take ~1 s to load)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def models():
    from lib_facepop.detect import Models

    m = Models()
    yield m
    m.close()


@pytest.fixture(scope="session")
def sources():
    from benchmarks.scenes import load_sources

    return load_sources()
