"""``shared.state`` around FacePop's face passes: progress that adds up, flags that are honoured.

A nested ``process_images`` corrupts the outer job's progress (measured in A1111 v1.10.1:
``job_count`` stuck at 1, ``job_no`` overshooting, progress at 1.0 with a negative ETA).
So each face pass is counted on purpose as one job of the whole request: the job count
grows by the number of face passes, the child's own bookkeeping is undone after it, and
``job_no`` advances by exactly one per face. While a face renders, ``state.job`` and
``state.textinfo`` read "FacePop: face i/k".

The WebUI's progress is ``job_no / job_count + sampling_step / sampling_steps / job_count``
(modules/progress.py), so after k face passes and n main batches it ends at (k + n)/(k + n).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


def face_label(index: int, total: int) -> str:
    """"FacePop: face i/k" with a 1-based ``i``."""
    return f"FacePop: face {index + 1}/{total}"


@dataclass
class _Saved:
    job_count: int
    job_no: int
    sampling_step: int
    sampling_steps: int
    job: str
    textinfo: Any


class JobProgress:
    """Counts ``passes`` extra jobs into ``state`` and wraps each child pass.

    ``n_main_jobs`` is what the WebUI itself will count for the rest of the request
    (``p.n_iter`` in "before" mode; nothing more in "after" mode, where the main batches
    are already counted). ``begin`` must run before the first face pass.
    """

    def __init__(self, state: Any, passes: int, n_main_jobs: int) -> None:
        self.state = state
        self.passes = passes
        self.n_main_jobs = n_main_jobs
        self.done = 0
        self._textinfo = None

    def begin(self) -> None:
        """Grow ``state.job_count`` by the face passes. The WebUI leaves a job count of -1
        ("not known yet") for ``process_images_inner`` to set to ``n_iter`` after ``p.init()``;
        once FacePop sets it that line no longer fires, so the main jobs are added here."""
        self._textinfo = self.state.textinfo
        if self.passes <= 0:
            return
        if self.state.job_count is None or self.state.job_count < 0:
            self.state.job_count = self.n_main_jobs + self.passes
        else:
            self.state.job_count += self.passes

    @contextmanager
    def face_pass(self, index: int, total: int) -> Iterator[None]:
        """Around one child ``process_images``: label it, then put back what the child
        changed and count it as one finished job (also when it raised or was cut short)."""
        state = self.state
        saved = _Saved(state.job_count, state.job_no, state.sampling_step, state.sampling_steps, state.job,
                       state.textinfo)
        label = face_label(index, total)
        state.job = label
        state.textinfo = label
        try:
            yield
        finally:
            state.job_count = saved.job_count
            state.job_no = saved.job_no + 1
            state.sampling_step = 0
            state.sampling_steps = saved.sampling_steps
            state.job = saved.job
            state.textinfo = label
            self.done += 1

    def finish(self) -> None:
        """After the last face pass: passes that were planned but not run (an interrupt, a
        skip, an error) are taken back out of the job count, and the text info is restored."""
        missing = self.passes - self.done
        if missing > 0 and self.state.job_count is not None and self.state.job_count >= missing:
            self.state.job_count -= missing
        self.passes = self.done
        self.state.textinfo = self._textinfo


def should_stop(state: Any) -> bool:
    """True when the user pressed Interrupt, Skip or Stop generating."""
    return bool(state.interrupted or state.skipped or getattr(state, "stopping_generation", False))
