"""``modules.shared_state.State`` (A1111 v1.10.1 modules/shared_state.py; identical API in Forge).

Faithful: fields and defaults (L12-30), ``skip()``/``interrupt()``/``stop_generating()`` only set
flags (L75-85), ``nextjob()`` increments ``job_no`` and zeroes ``sampling_step`` (L87-93),
``begin()`` resets ``job_count=-1``, ``job_no=0`` and the flags (L110-127), ``end()`` sets
``job=""``, ``job_count=0`` (L129-134). Live previews are not modelled.
"""

from __future__ import annotations

import datetime
import logging
import time

log = logging.getLogger(__name__)

_REPORTED_FIELDS = ("skipped", "interrupted", "stopping_generation", "job", "job_count", "job_timestamp", "job_no",
                    "sampling_step", "sampling_steps")
"""What ``State.dict()`` reports, in this order."""
_RESTART = "restart"


def _request(state: State, flag: str, what: str) -> None:
    """skip/interrupt/stop_generating only raise a flag; the running job checks it."""
    setattr(state, flag, True)
    log.info(f"Received {what} request")


class State:
    skipped = interrupted = stopping_generation = processing_has_refined_job_count = False
    job, job_timestamp = "", "0"
    job_no = job_count = sampling_step = sampling_steps = current_image_sampling_step = id_live_preview = 0
    current_latent = current_image = textinfo = time_start = server_start = server_command = None

    def __init__(self) -> None:
        self.server_start = time.time()

    def skip(self) -> None:
        _request(self, "skipped", "skip")

    def interrupt(self) -> None:
        _request(self, "interrupted", "interrupt")

    def stop_generating(self) -> None:
        _request(self, "stopping_generation", "stop generating")

    def request_restart(self) -> None:
        self.server_command = _RESTART
        self.interrupt()

    @property
    def need_restart(self) -> bool:
        return self.server_command == _RESTART

    def nextjob(self) -> None:
        self.job_no += 1
        self.sampling_step = self.current_image_sampling_step = 0

    def dict(self) -> dict:
        return {name: getattr(self, name) for name in _REPORTED_FIELDS}

    def begin(self, job: str = "(unknown)") -> None:
        fresh = {
            "sampling_step": 0, "time_start": time.time(), "job_count": -1, "processing_has_refined_job_count": False,
            "job_no": 0, "job_timestamp": datetime.datetime.now().strftime("%Y%m%d%H%M%S"), "current_latent": None,
            "current_image": None, "current_image_sampling_step": 0, "id_live_preview": 0, "skipped": False,
            "interrupted": False, "stopping_generation": False, "textinfo": None, "job": job,
        }
        for name, value in fresh.items():
            setattr(self, name, value)

    def end(self) -> None:
        self.job, self.job_count = "", 0

    def set_current_image(self) -> None:
        """Live preview: not modelled."""

    def do_set_current_image(self) -> None:
        """Live preview: not modelled."""

    def assign_current_image(self, image) -> None:
        self.current_image = image
        self.id_live_preview += 1

    def progress(self) -> float:
        """What /progress reports (progress.py L102-108): job_no/job_count + step fraction."""
        if self.job_count <= 0:
            return 0.0
        progress = self.job_no / self.job_count
        if self.sampling_steps > 0:
            progress += 1 / self.job_count * self.sampling_step / self.sampling_steps
        return min(progress, 1.0)
