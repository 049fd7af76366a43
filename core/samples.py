"""Demo mode: sample cases a presenter can load with one click.

``assets/samples.json`` maps each page to glob patterns relative to the samples folder
(``settings.samples_dir``; on our machines ``../shared/data``). Sample images are never
committed to the repository: they stay in that folder, with their own licences.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.settings import PROJECT_ROOT, Settings, get_settings

MANIFEST = PROJECT_ROOT / "assets" / "samples.json"
MAX_SAMPLE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Sample:
    """One sample file: a display name, its path, a note (source / expected content) and what the
    page is expected to do with it (``expect``: ``""`` = analyse; ``"inverted"`` = the input check
    refuses it as a negative film; pages show a translated label, ``app.demo.expect.<expect>``)."""

    name: str
    path: Path
    note: str = ""
    expect: str = ""

    def read_bytes(self) -> bytes:
        """The file's bytes (the page then treats them exactly like an upload).

        Raises:
            OSError: the file vanished or is unreadable.
            ValueError: the file is larger than an upload may be.
        """
        if self.path.stat().st_size > MAX_SAMPLE_BYTES:
            raise ValueError(f"sample {self.name} is too large")
        return self.path.read_bytes()


def _manifest() -> dict[str, list[dict[str, object]]]:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def list_samples(page: str, settings: Settings | None = None) -> list[Sample]:
    """Samples for ``page`` ("chest", "shoulder", "scalp") found in the samples folder.

    Returns an empty list when no samples folder is configured or nothing matches.
    """
    root = (settings or get_settings()).samples_dir
    if root is None or not root.is_dir():
        return []
    found: list[Sample] = []
    seen: set[Path] = set()
    for entry in _manifest().get(page, []):
        pattern = str(entry["glob"])
        limit = int(entry.get("limit", 50))  # type: ignore[arg-type]
        note = str(entry.get("note", ""))
        expect = str(entry.get("expect", ""))
        for path in sorted(root.glob(pattern))[:limit]:
            if path.is_file() and path not in seen:
                seen.add(path)
                found.append(Sample(name=str(path.relative_to(root)), path=path, note=note, expect=expect))
    return found
