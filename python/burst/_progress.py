"""Progress of a map: tqdm when it is installed, else one plain line."""

from __future__ import annotations

import sys
import time
from typing import Any, Dict, Optional


def wanted(progress: Optional[bool]) -> bool:
    """Whether to show progress: as asked, else in a terminal or a notebook."""
    if progress is not None:
        return progress
    if "ipykernel" in sys.modules:
        return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Shows how many of a job's tasks are done; ``update`` with the job's
    task counts (the ``tasks`` of GET /v1/jobs/{id})."""

    def __init__(self, job_id: int, total: int, enabled: bool) -> None:
        self.job_id, self.total, self.enabled = job_id, total, enabled
        self._bar: Any = None
        self._last = 0.0
        self._line = ""
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm  # type: ignore

            self._bar = tqdm(total=total, desc=f"burst job {job_id}", unit="task")
        except ImportError:
            self._bar = None

    def update(self, tasks: Dict[str, int], final: bool = False) -> None:
        if not self.enabled:
            return
        done = sum(int(tasks.get(k, 0)) for k in ("succeeded", "failed", "cancelled", "timeout", "lost"))
        bad = done - int(tasks.get("succeeded", 0))
        if self._bar is not None:
            self._bar.n = done
            self._bar.set_postfix(running=tasks.get("running", 0), failed=bad, refresh=False)
            self._bar.refresh()
            if final:
                self._bar.close()
            return
        line = f"burst: job {self.job_id}: {done}/{self.total} done, {tasks.get('running', 0)} running, {bad} failed"
        now = time.monotonic()
        tty = sys.stderr.isatty() or "ipykernel" in sys.modules
        if tty:
            sys.stderr.write("\r" + line + ("\n" if final else ""))
        elif final or (line != self._line and now - self._last >= 5):
            sys.stderr.write(line + "\n")
            self._last = now
        self._line = line
        sys.stderr.flush()
