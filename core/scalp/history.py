"""Opt-in history of scalp checks, to compare them over time.

Two engines (:mod:`core.storage`): with ``DRDC_DB_URL`` unset, local files as described here; with
a PostgreSQL URL, rows of one table shared by every replica, keyed by the same hashed id, with the
salt kept in the database and the same guarantees (:mod:`core.scalp.history_pg`).

Stored as JSON Lines under ``settings.data_dir / "scalp" / "history"``, one file per *history
code*. The code works like a password, so:

* it must be hard to guess and unlikely to be chosen by two people: at least
  :data:`CODE_MIN_CHARS` characters (spaces and dashes not counted, letter case ignored) with at
  least :data:`CODE_MIN_DISTINCT` different ones; :func:`new_code` makes one with 100 random bits
  for the user to keep;
* the file name is PBKDF2-SHA256 of the code with a **per-installation secret salt**
  (:data:`SECRET_NAME` in the history folder, 32 random bytes made on first use, never in the
  repository), so the same code gives different file names on different servers and the
  names cannot be tested against guesses without that file. The code itself is never stored.

An entry holds the time, how the check was graded (heuristic thresholds or a trained model, with
its name and version), the grades and a fixed list of measured numbers: never the photo, the
answers or anything that identifies a person. Entries written before the method was recorded
read as "heuristic, unknown version". Deleting removes the whole file (the page asks first).

Writes lose nothing under concurrency: every change (add, delete, the one-time move of a legacy
file) runs as read-modify-write while holding an exclusive ``fcntl.flock`` on the history's own
lock file (``<id>.lock``, kept beside it), and the new content goes to a unique temporary file
that is flushed, fsynced and ``os.replace``-d over the history, and the folder is fsynced after the
rename (POSIX): a reader sees the old file or the new one, never half of one, a writer killed
mid-write leaves the previous history intact, and a save that returned survives a power cut.
8 processes x 50 saves on one code keep all 400 (``tests/scalp/test_history.py``).

:func:`compare` compares the latest check only with an earlier check graded the same way:
grades from different methods (or different versions) are on different scales.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import UserError
from core.scalp.history_pg import PostgresHistory
from core.settings import Settings, get_settings
from core.storage import is_postgres

CODE_MIN_CHARS = 16  # after removing spaces and dashes
CODE_MIN_DISTINCT = 8
CODE_MAX = 64  # as typed
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_GROUPS, CODE_GROUP_LEN = 5, 4  # 20 symbols x 5 bits = 100 bits
MAX_ENTRIES = 500
GRADE_MAX = 3  # grades are 0 (none) .. 3 (severe)
SECRET_NAME = ".secret"
PBKDF2_ITERATIONS = 100_000
UNKNOWN_VERSION = "unknown"
_LEGACY_SALT = b"drdeepchest-scalp-history-v1"  # before the per-installation secret (read once, then moved)
_LEGACY_ITERATIONS = 20_000
# numbers kept from the measurements (no arrays, nothing personal)
KEPT_MEASUREMENTS = (
    "hair_count", "hair_width_px", "hair_width_frac", "thin_hair_share", "hair_coverage",
    "a_star_between", "a_star_follicular", "red_end_share", "erythema_share", "shine_share",
    "fine_scale_share", "dandruff_share", "pustule_count", "hair_density_per_cm2", "hair_width_um",
    "field_of_view_mm",
)


class HistoryError(UserError):
    """A history code that is too long, too short or too easy to guess."""


@dataclass(frozen=True)
class HistoryEntry:
    """One stored check: when, how it was graded, the grades and the kept measurements.

    ``source`` is ``"heuristic"`` or ``"model"``; ``method`` names the grader (``"heuristic"``
    or the model's registry name); ``version`` is the thresholds' or the model's version.
    """

    time: str
    source: str
    version: str
    image_grades: dict[str, int | None]
    final_grades: dict[str, int | None]
    measurements: dict[str, float | int | None]
    method: str = "heuristic"

    def to_json(self) -> str:
        """The entry as one line of strict JSON: grades clamped to 0..3, a non-finite grade written
        as not graded (``null``) and non-finite measurements left out (PostgreSQL's ``jsonb`` and
        strict JSON readers refuse NaN and Infinity)."""
        return json.dumps(self.cleaned().__dict__, ensure_ascii=False, sort_keys=True, allow_nan=False)

    def cleaned(self) -> HistoryEntry:
        """The entry as it is stored and read back (see :meth:`to_json`).

        Raises:
            ValueError, TypeError: a grade that is not a number.
        """
        return replace(self, image_grades=_grades(self.image_grades), final_grades=_grades(self.final_grades),
                       measurements=_measurements(self.measurements))

    @property
    def grading(self) -> tuple[str, str, str]:
        """(source, method, version): checks are compared only when these are equal."""
        return self.source, self.method, self.version

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryEntry:
        """Read a stored line; entries from before the method was recorded become
        ``heuristic`` with version :data:`UNKNOWN_VERSION`."""
        source = str(data.get("source") or "heuristic")
        method = str(data.get("method") or ("heuristic" if source == "heuristic" else UNKNOWN_VERSION))
        return cls(
            time=str(data["time"]),
            source=source,
            version=str(data.get("version") or UNKNOWN_VERSION),
            image_grades=_grades(dict(data["image_grades"])),
            final_grades=_grades(dict(data["final_grades"])),
            measurements=_measurements(dict(data.get("measurements") or {})),
            method=method,
        )


def _grade(value: Any) -> int | None:
    """A stored grade as 0..3: ``None`` stays not graded, a non-finite number (NaN, Infinity, 1e400,
    an integer beyond float's range) reads as not graded, anything else is clamped to the scale.

    Raises:
        ValueError, TypeError: not a number (the entry is then skipped as unreadable).
    """
    if value is None:
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond float's range (PostgreSQL's jsonb turns 1e400 into one)
        return None
    if not math.isfinite(number):
        return None
    return max(0, min(GRADE_MAX, int(number)))


def _grades(grades: dict[Any, Any]) -> dict[str, int | None]:
    return {str(k): _grade(v) for k, v in grades.items()}


def _measurements(values: dict[Any, Any]) -> dict[str, float | int | None]:
    """The kept measurements that are plain numbers (or ``None``); non-finite ones are left out."""
    out: dict[str, float | int | None] = {}
    for k, v in values.items():
        if k not in KEPT_MEASUREMENTS or isinstance(v, bool) or not (v is None or isinstance(v, int | float)):
            continue
        try:
            finite = v is None or math.isfinite(v)
        except OverflowError:  # an int beyond float's range
            finite = False
        if finite:
            out[str(k)] = v
    return out


@dataclass(frozen=True)
class Change:
    """How one condition's final grade moved between two checks graded the same way.

    ``reason_key`` (a translation key) says why the two grades are not compared, e.g. hair loss
    graded with the photo's field of view once and without it the other time.
    """

    condition: str
    previous: int | None
    latest: int | None
    reason_key: str | None = None

    @property
    def delta(self) -> int | None:
        if self.previous is None or self.latest is None or self.reason_key is not None:
            return None
        return self.latest - self.previous


@dataclass(frozen=True)
class Comparison:
    """The latest check against the most recent earlier check graded the same way.

    ``skipped``: the checks after ``previous`` (and before ``latest``) that were graded by a
    different method or version, newest first; they are not compared with ``latest``.
    """

    latest: HistoryEntry | None = None
    previous: HistoryEntry | None = None
    changes: tuple[Change, ...] = ()
    skipped: tuple[HistoryEntry, ...] = ()


def normalise_code(code: str) -> str:
    """The code as hashed: spaces and dashes removed, letter case ignored."""
    return "".join(ch for ch in (code or "").casefold() if not ch.isspace() and ch != "-")


def code_marker(code: str) -> str:
    """A session marker of a code: the same for every spelling of it (case, spaces and dashes do
    not count), and not the code itself."""
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def check_code(code: str) -> str:
    """The normalised code, if it is long and varied enough.

    Raises:
        HistoryError: empty, longer than :data:`CODE_MAX` characters, or too easy to guess
            (fewer than :data:`CODE_MIN_CHARS` characters or :data:`CODE_MIN_DISTINCT` different
            ones once spaces and dashes are removed).
    """
    raw = (code or "").strip()
    if not raw or len(raw) > CODE_MAX:
        raise HistoryError("scalp.error.history_code", low=CODE_MIN_CHARS, high=CODE_MAX)
    norm = normalise_code(raw)
    if len(norm) < CODE_MIN_CHARS or len(set(norm)) < CODE_MIN_DISTINCT:
        raise HistoryError("scalp.error.history_code_weak", low=CODE_MIN_CHARS, distinct=CODE_MIN_DISTINCT)
    return norm


def new_code() -> str:
    """A fresh random code to give the user (100 bits), e.g. ``7K2Q-XM9D-...``; passes :func:`check_code`."""
    while True:
        symbols = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_GROUPS * CODE_GROUP_LEN))
        if len(set(symbols)) >= CODE_MIN_DISTINCT:
            return "-".join(symbols[i:i + CODE_GROUP_LEN] for i in range(0, len(symbols), CODE_GROUP_LEN))


@functools.lru_cache(maxsize=64)
def _derive(norm: str, secret: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", norm.encode("utf-8"), secret + b"scalp-history-v2",
                               PBKDF2_ITERATIONS).hex()[:32]


@functools.lru_cache(maxsize=64)
def _legacy_id(code: str) -> str:
    """File id under the old fixed salt (codes as typed, stripped)."""
    return hashlib.pbkdf2_hmac("sha256", code.strip().encode("utf-8"), _LEGACY_SALT, _LEGACY_ITERATIONS).hex()[:32]


def load_secret(root: Path) -> bytes:
    """The installation's secret salt in ``root`` (made on first use: 32 random bytes, mode 0600).

    Raises:
        OSError: the folder is not writable (first use), or the file is unreadable or damaged
            (never silently replaced: that would orphan every stored history).
    """
    path = root / SECRET_NAME
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        tmp = root / f"{SECRET_NAME}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)  # atomic and complete; never replaces a secret another process made first
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    st = path.stat()
    return _read_secret(str(path), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _read_secret(path: str, _mtime_ns: int, _size: int) -> bytes:
    """The secret's bytes, read once per file version (the page asks for it on every rerun)."""
    try:
        data = bytes.fromhex(Path(path).read_text(encoding="ascii").strip())
    except (ValueError, UnicodeDecodeError) as exc:
        raise OSError(f"{path} is not a history secret") from exc
    if len(data) < 16:
        raise OSError(f"{path} is not a history secret (too short)")
    return data


try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process only (a process-wide lock below)
    fcntl = None  # type: ignore[assignment]

_PROCESS_LOCK = threading.Lock()  # used only where fcntl is missing


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` (created if missing) for the block.

    ``flock`` locks belong to the open file, so two threads of one process that each open the
    lock file exclude each other as two processes do. The lock file itself is never removed
    (removing it while another writer waits on it would let a third lock a new file).
    """
    if fcntl is None:  # pragma: no cover
        with _PROCESS_LOCK:
            yield
        return
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _write_atomic(path: Path, data: str) -> None:
    """Replace ``path`` with ``data`` in one step (unique temp file, fsync, ``os.replace``)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (POSIX: the directory entry is data too; without this a
    power cut after ``os.replace`` may bring back the old file). A no-op where directories cannot be
    opened (Windows).

    Raises:
        OSError: the folder cannot be synced.
    """
    if os.name != "posix":  # pragma: no cover
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _entry(data: Any) -> HistoryEntry | None:
    """A stored entry, or None when it cannot be read."""
    try:
        return HistoryEntry.from_dict(data)
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError):
        return None


class HistoryStore:
    """History files under ``root`` (default ``<data_dir>/scalp/history``), or, when no ``root`` is
    given and ``DRDC_DB_URL`` names PostgreSQL, the database's ``scalp_history`` table. Safe to
    use from many threads and processes at once (see the module notes).

    Every method also raises ``core.storage.StorageConfigError`` (a translated ``UserError``) when
    ``DRDC_DB_URL`` is not usable, and ``OSError`` (``StorageUnavailableError``) when the database
    cannot be reached.
    """

    def __init__(self, root: Path | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.root = root or self.settings.data_dir / "scalp" / "history"
        self._files_only = root is not None

    def _db(self) -> PostgresHistory | None:
        """The PostgreSQL engine, or None for files (checked on use, so a page shows a bad setting)."""
        if self._files_only or not is_postgres(self.settings):
            return None
        return PostgresHistory(self.settings)

    def profile_id(self, code: str) -> str:
        """File-name-safe id of a code on this installation.

        Raises:
            HistoryError: bad or weak code. OSError: the secret cannot be made or read.
        """
        norm = check_code(code)
        db = self._db()
        return _derive(norm, db.secret() if db else load_secret(self.root))

    def _path(self, code: str) -> Path:
        """The history file of a code (called with its lock held: see :meth:`_locked`)."""
        path = self.root / f"{self.profile_id(code)}.jsonl"
        if not path.exists():  # a history saved under the old fixed salt moves to the new name once
            legacy = self.root / f"{_legacy_id(code)}.jsonl"
            if legacy.is_file():
                os.replace(legacy, path)
        return path

    @contextlib.contextmanager
    def _locked(self, code: str) -> Iterator[Path]:
        """The history file of a code, with its lock held for the block.

        Raises:
            HistoryError: bad or weak code. OSError: the data folder is not usable.
        """
        profile = self.profile_id(code)  # checks the code (and makes the secret) first
        self.root.mkdir(parents=True, exist_ok=True)
        with _exclusive(self.root / f"{profile}.lock"):
            yield self._path(code)

    def add(self, code: str, entry: HistoryEntry) -> list[HistoryEntry]:
        """Append ``entry`` (the oldest entries are dropped beyond :data:`MAX_ENTRIES`); return
        the history as now stored, oldest first.

        Raises:
            HistoryError: bad or weak code. OSError: the data folder is not writable.
        """
        db = self._db()
        if db is not None:
            return _parsed(db.add(self.profile_id(code), entry.to_json(), MAX_ENTRIES))
        with self._locked(code) as path:
            entries = self._read(path)
            entries.append(entry.cleaned())
            entries = entries[-MAX_ENTRIES:]
            _write_atomic(path, "".join(e.to_json() + "\n" for e in entries))
        return entries

    def entries(self, code: str) -> list[HistoryEntry]:
        """All entries of a code, oldest first (unreadable lines are skipped).

        Raises:
            HistoryError: bad or weak code. OSError: the data folder is not usable.
        """
        db = self._db()
        if db is not None:
            return _parsed(db.entries(self.profile_id(code)))
        with self._locked(code) as path:
            return self._read(path)

    @staticmethod
    def _read(path: Path) -> list[HistoryEntry]:
        if not path.is_file():
            return []
        rows = []
        # bytes that are not UTF-8 (a damaged disk, a hand edit) become U+FFFD: that line still
        # parses, or is skipped like any other unreadable line; the rest of the history reads
        for line in path.read_bytes().decode("utf-8", errors="replace").splitlines():
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
        return _parsed(rows)

    def delete(self, code: str) -> int:
        """Delete every entry of a code; returns how many there were.

        Raises:
            HistoryError: bad or weak code. OSError: the file cannot be removed.
        """
        db = self._db()
        if db is not None:
            return db.delete(self.profile_id(code))
        with self._locked(code) as path:
            n = len(self._read(path))
            path.unlink(missing_ok=True)
        return n


def _parsed(rows: list[Any]) -> list[HistoryEntry]:
    """The readable entries of ``rows`` (decoded JSON), in order."""
    return [e for e in map(_entry, rows) if e is not None]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _hair_loss_scale_differs(a: HistoryEntry, b: HistoryEntry) -> bool:
    """Heuristic hair loss is graded on density only when the field of view was given."""
    if a.source != "heuristic":
        return False
    return (a.measurements.get("field_of_view_mm") is None) != (b.measurements.get("field_of_view_mm") is None)


def compare(entries: list[HistoryEntry]) -> Comparison:
    """Compare the latest entry with the most recent earlier entry graded the same way.

    Entries graded by another method or version in between are listed in ``skipped`` and not
    compared (a model installed after heuristic checks would otherwise show as a change).
    Hair loss from the heuristic is compared only when both checks had the field of view, or
    neither did.
    """
    if not entries:
        return Comparison()
    last = entries[-1]
    skipped: list[HistoryEntry] = []
    for prev in reversed(entries[:-1]):
        if prev.grading != last.grading:
            skipped.append(prev)
            continue
        conditions = list(dict.fromkeys([*last.final_grades, *prev.final_grades]))
        changes = []
        for c in conditions:
            reason = "scalp.history.not_compared_fov" if c == "hair_loss" and _hair_loss_scale_differs(prev, last) \
                else None
            changes.append(Change(c, prev.final_grades.get(c), last.final_grades.get(c), reason))
        return Comparison(last, prev, tuple(changes), tuple(skipped))
    return Comparison(last, None, (), tuple(skipped))
