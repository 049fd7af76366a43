"""Opt-in local history of scalp checks, to compare them over time.

Stored as JSON Lines under ``settings.data_dir / "scalp" / "history"``, one file per *history
code* the user chooses (the file name is a salted PBKDF2 hash of the code, so the code itself is
never stored). An entry holds grades and measurements only: never the photo, the answers or
anything that identifies a person. Deleting removes the whole file.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.settings import Settings, get_settings

CODE_MIN, CODE_MAX = 6, 64
MAX_ENTRIES = 500
_SALT = b"drdeepchest-scalp-history-v1"
# numbers kept from the measurements (no arrays, nothing personal)
KEPT_MEASUREMENTS = (
    "hair_count", "hair_width_px", "hair_width_frac", "thin_hair_share", "hair_coverage",
    "a_star_between", "a_star_follicular", "red_end_share", "erythema_share", "shine_share",
    "fine_scale_share", "dandruff_share", "pustule_count", "hair_density_per_cm2", "hair_width_um",
)


class HistoryError(UserError):
    """A bad history code (too short or too long)."""


@dataclass(frozen=True)
class HistoryEntry:
    """One stored check: when, how it was graded, the grades and the kept measurements."""

    time: str
    source: str
    version: str
    image_grades: dict[str, int | None]
    final_grades: dict[str, int | None]
    measurements: dict[str, float | int | None]

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryEntry:
        return cls(
            time=str(data["time"]),
            source=str(data.get("source", "heuristic")),
            version=str(data.get("version", "")),
            image_grades={str(k): (None if v is None else int(v)) for k, v in dict(data["image_grades"]).items()},
            final_grades={str(k): (None if v is None else int(v)) for k, v in dict(data["final_grades"]).items()},
            measurements={str(k): v for k, v in dict(data.get("measurements", {})).items()
                          if k in KEPT_MEASUREMENTS and (v is None or isinstance(v, int | float))},
        )


@dataclass(frozen=True)
class Change:
    """How one condition's final grade moved between the previous and the latest check."""

    condition: str
    previous: int | None
    latest: int | None

    @property
    def delta(self) -> int | None:
        if self.previous is None or self.latest is None:
            return None
        return self.latest - self.previous


def profile_id(code: str) -> str:
    """File-name-safe id of a history code.

    Raises:
        HistoryError: the code is shorter than 6 or longer than 64 characters.
    """
    code = (code or "").strip()
    if not CODE_MIN <= len(code) <= CODE_MAX:
        raise HistoryError("scalp.error.history_code", low=CODE_MIN, high=CODE_MAX)
    return hashlib.pbkdf2_hmac("sha256", code.encode("utf-8"), _SALT, 20_000).hex()[:32]


class HistoryStore:
    """History files under ``root`` (default ``<data_dir>/scalp/history``)."""

    def __init__(self, root: Path | None = None, settings: Settings | None = None) -> None:
        self.root = root or (settings or get_settings()).data_dir / "scalp" / "history"

    def _path(self, code: str) -> Path:
        return self.root / f"{profile_id(code)}.jsonl"

    def add(self, code: str, entry: HistoryEntry) -> None:
        """Append ``entry`` (the oldest entries are dropped beyond :data:`MAX_ENTRIES`).

        Raises:
            HistoryError: bad code. OSError: the data folder is not writable.
        """
        path = self._path(code)
        path.parent.mkdir(parents=True, exist_ok=True)
        entries = self.entries(code)
        entries.append(entry)
        entries = entries[-MAX_ENTRIES:]
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(e.to_json() + "\n" for e in entries), encoding="utf-8")
        os.replace(tmp, path)

    def entries(self, code: str) -> list[HistoryEntry]:
        """All entries of a code, oldest first (unreadable lines are skipped). Raises HistoryError."""
        path = self._path(code)
        if not path.is_file():
            return []
        out = []
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(HistoryEntry.from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError):
                continue
        return out

    def delete(self, code: str) -> int:
        """Delete every entry of a code; returns how many there were. Raises HistoryError."""
        n = len(self.entries(code))
        self._path(code).unlink(missing_ok=True)
        return n


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def compare(entries: list[HistoryEntry]) -> list[Change]:
    """Changes of each condition's final grade between the last two entries ([] with < 2)."""
    if len(entries) < 2:
        return []
    prev, last = entries[-2], entries[-1]
    conditions = list(dict.fromkeys([*last.final_grades, *prev.final_grades]))
    return [Change(c, prev.final_grades.get(c), last.final_grades.get(c)) for c in conditions]
