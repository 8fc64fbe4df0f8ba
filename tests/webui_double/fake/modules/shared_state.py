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


class State:
    skipped = False
    interrupted = False
    stopping_generation = False
    job = ""
    job_no = 0
    job_count = 0
    processing_has_refined_job_count = False
    job_timestamp = "0"
    sampling_step = 0
    sampling_steps = 0
    current_latent = None
    current_image = None
    current_image_sampling_step = 0
    id_live_preview = 0
    textinfo = None
    time_start = None
    server_start = None
    server_command = None

    def __init__(self) -> None:
        self.server_start = time.time()

    @property
    def need_restart(self) -> bool:
        return self.server_command == "restart"

    def request_restart(self) -> None:
        self.interrupt()
        self.server_command = "restart"

    def skip(self) -> None:
        self.skipped = True
        log.info("Received skip request")

    def interrupt(self) -> None:
        self.interrupted = True
        log.info("Received interrupt request")

    def stop_generating(self) -> None:
        self.stopping_generation = True
        log.info("Received stop generating request")

    def nextjob(self) -> None:
        self.job_no += 1
        self.sampling_step = 0
        self.current_image_sampling_step = 0

    def dict(self) -> dict:
        return {
            "skipped": self.skipped,
            "interrupted": self.interrupted,
            "stopping_generation": self.stopping_generation,
            "job": self.job,
            "job_count": self.job_count,
            "job_timestamp": self.job_timestamp,
            "job_no": self.job_no,
            "sampling_step": self.sampling_step,
            "sampling_steps": self.sampling_steps,
        }

    def begin(self, job: str = "(unknown)") -> None:
        self.sampling_step = 0
        self.time_start = time.time()
        self.job_count = -1
        self.processing_has_refined_job_count = False
        self.job_no = 0
        self.job_timestamp = datetime.datetime.now().strftime("%Y%m%d%H%M%S")
        self.current_latent = None
        self.current_image = None
        self.current_image_sampling_step = 0
        self.id_live_preview = 0
        self.skipped = False
        self.interrupted = False
        self.stopping_generation = False
        self.textinfo = None
        self.job = job

    def end(self) -> None:
        self.job = ""
        self.job_count = 0

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
