"""Exports that take seconds run in the background: the request returns at once and the case
page shows the job's progress until its file is ready (an evidence package for a party with
thousands of payments renders a PDF of a hundred pages)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime

from vigil.errors import VigilError

STEPS = {
    "queued": "waiting for the previous export",
    "reading": "reading the party's payments",
    "charts": "drawing the charts",
    "report": "writing the report",
    "pdf": "rendering the PDF",
    "payments": "writing payments.csv and the manifest",
    "done": "done",
}
KEEP_FINISHED = 50  # finished jobs remembered (their files stay in the case folder)


@dataclass
class ExportJob:
    id: str
    case_id: int
    actor: str
    format: str
    party: str
    step: str = "queued"
    share: float = 0.0
    file: str | None = None
    error: str | None = None
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def finished(self) -> bool:
        return self.file is not None or self.error is not None

    @property
    def step_text(self) -> str:
        return STEPS.get(self.step, self.step)


class ExportJobs:
    """One worker thread (exports are CPU-bound; two cores serve the app too)."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vigil-export")
        self._jobs: dict[str, ExportJob] = {}
        self._lock = threading.Lock()
        self._futures: list[Future[None]] = []

    def start(
        self,
        case_id: int,
        actor: str,
        fmt: str,
        party: str,
        work: Callable[[Callable[[str, float], None]], str],
    ) -> ExportJob:
        """Run `work(progress)` in the background; it returns the file's name."""
        job = ExportJob(secrets.token_hex(8), case_id, actor, fmt, party)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()

        def progress(step: str, share: float) -> None:
            job.step, job.share = step, max(job.share, min(share, 1.0))

        def run() -> None:
            progress("reading", 0.02)
            try:
                job.file = work(progress)
                progress("done", 1.0)
            except VigilError as error:
                job.error = str(error)
            except Exception as error:  # a bug: shown on the page, not lost in a thread
                job.error = f"the export failed: {type(error).__name__}"
                raise

        self._futures.append(self._pool.submit(run))
        return job

    def wait(self) -> None:
        """Block until every job started so far has finished (tests, shutdown)."""
        with self._lock:
            futures, self._futures = self._futures, []
        wait(futures)

    def of_case(self, case_id: int, actor: str) -> list[ExportJob]:
        """The actor's jobs on the case, newest first."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.case_id == case_id and j.actor == actor]
        return sorted(jobs, key=lambda j: j.started, reverse=True)

    def get(self, job_id: str, case_id: int, actor: str) -> ExportJob | None:
        """The actor's job `job_id` on the case; None for anyone else's (ids are not
        passwords: the case check comes first, the owner check here)."""
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or job.case_id != case_id or job.actor != actor:
            return None
        return job

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if j.finished), key=lambda j: j.started)
        for job in finished[: max(0, len(finished) - KEEP_FINISHED)]:
            del self._jobs[job.id]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
