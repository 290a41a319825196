"""How far a running import has got: a small file per run under the var folder, holding two counts.

The import itself is one transaction, so nothing it writes is visible until it commits, and on SQLite it holds
the only write lock: its progress cannot go through the database. The file holds no personal data (rows done
and rows in all), is written whole and renamed into place, and is removed when the import ends. A run page
served by another machine than the one importing sees no file and says only that the import is running."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from app.config import get_settings

# An import writes its progress at least this often (every few rows); a file left older than this belongs to
# a process that stopped, whose transaction rolled back: that run is not running.
STALE_SECONDS = 120


@dataclass(frozen=True)
class Progress:
    done: int
    total: int

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 0


def _path(run_id: int) -> Path:
    return get_settings().var_dir / "imports" / f"run-{run_id}.progress"


def write(run_id: int, done: int, total: int) -> None:
    path = _path(run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(f"{done} {total}\n")
    os.replace(partial, path)


def read(run_id: int) -> Progress | None:
    """The progress of a run importing now, or None when no import of it is running here."""
    path = _path(run_id)
    try:
        if time.time() - path.stat().st_mtime > STALE_SECONDS:
            return None
        done, total = (int(part) for part in path.read_text().split())
    except (OSError, ValueError):
        return None
    return Progress(done, total)


def clear(run_id: int) -> None:
    _path(run_id).unlink(missing_ok=True)
