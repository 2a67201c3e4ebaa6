"""Epoch counter and checkpoint shared by a dataset's processes (main + DataLoader workers).

The reference keeps these in named shared memory, which goes stale after a crash. Here they
live in a small JSON file created by the process that constructs the dataset and removed when
that object is collected; every access takes an exclusive ``flock`` on it, so fork, spawn and
persistent workers all see the same state and nothing outlives the job but, after kill -9, one
tiny file in the temp dir.

Workers of one DataLoader iteration must agree on the epoch: the first ``num_workers`` calls
to :meth:`SharedState.claim` after an iteration completes form one generation and share its
epoch and resume offset (each worker iterates once per DataLoader epoch).
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import weakref
from typing import Any


def _remove(path: str, owner: int) -> None:
    if os.getpid() == owner:
        try:
            os.unlink(path)
        except OSError:
            pass


class SharedState:
    """A file-backed record ``{next_epoch, resume, gen}`` guarded by ``flock``."""

    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="mds-state-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"next_epoch": 0, "resume": None, "gen": None}, f)
        weakref.finalize(self, _remove, self.path, os.getpid())

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]

    def _update(self, fn):
        with open(self.path, "r+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                st = json.load(f)
                result, changed = fn(st)
                if changed:
                    f.seek(0)
                    f.truncate()
                    json.dump(st, f)
                    f.flush()
                return result
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def read(self) -> dict[str, Any]:
        """A snapshot of the record."""
        return self._update(lambda st: (dict(st), False))

    def set_resume(self, state: dict[str, Any] | None) -> None:
        """Record a checkpoint for the next iteration (``load_state_dict``)."""

        def fn(st):
            st["resume"] = state
            st["gen"] = None
            return None, True

        self._update(fn)

    def set_next_epoch(self, epoch: int) -> None:
        """Force the epoch the next iteration starts."""

        def fn(st):
            st["next_epoch"] = epoch
            st["gen"] = None
            return None, True

        self._update(fn)

    def claim(self, num_workers: int) -> tuple[int, dict[str, Any] | None]:
        """Start an epoch in one worker: returns ``(epoch, resume state or None)``.

        The resume state is returned only when it applies to the epoch (its epoch is not
        older than the presumed one), as the reference's ``_resume`` decides.
        """

        def fn(st):
            gen = st.get("gen")
            if gen is None or gen["started"] >= gen["workers"]:
                presumed = st["next_epoch"]
                resume = st.get("resume")
                if resume is not None and resume.get("epoch", -1) >= presumed:
                    epoch = int(resume["epoch"])
                else:
                    resume, epoch = None, presumed
                gen = {"epoch": epoch, "resume": resume, "workers": num_workers, "started": 0}
                st["next_epoch"] = epoch + 1
            gen["started"] += 1
            st["gen"] = gen
            return (gen["epoch"], gen["resume"]), True

        return self._update(fn)
