"""Demo mode: sample cases a presenter can load with one click.

``assets/samples.json`` maps each page to glob patterns relative to the samples folder
(``settings.samples_dir``; on our machines ``../shared/data``). When that folder is absent (a
user's fresh clone) or holds nothing for a page, the small committed set in ``assets/demo/<page>/``
is used instead (openly licensed films listed with their labels in ``cases.json``; credits in
``assets/demo/CREDITS.md``). Each sample is described by its known source labels ("NIH:
cardiomegaly, effusion") in the page's language: committed cases from ``cases.json``, shared-data
films from the ``labels.csv`` beside their ``images/`` folder.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from core.chest.labels import localized_name
from core.i18n import t
from core.settings import PROJECT_ROOT, Settings, get_settings

MANIFEST = PROJECT_ROOT / "assets" / "samples.json"
DEMO_DIR = PROJECT_ROOT / "assets" / "demo"
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
    source: str = ""
    labels: tuple[str, ...] = ()
    no_finding: bool = False

    def describe(self, lang: str | None = None) -> str:
        """"NIH ChestX-ray14: Cardiomegaly, Effusion" with the labels in ``lang`` ("" when unknown)."""
        if not self.source:
            return ""
        if self.no_finding:
            what = t("app.demo.no_finding", lang)
        elif self.labels:
            what = ", ".join(t("app.demo.covid", lang) if lab == "COVID-19" else localized_name(lab, lang or "en")
                             for lab in self.labels)
        else:
            return self.source
        return t("app.demo.described", lang, source=self.source, labels=what)

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


def bundled_samples(page: str, demo_dir: Path = DEMO_DIR) -> list[Sample]:
    """The committed demo cases of ``page`` (``assets/demo/<page>/cases.json``; [] when none)."""
    manifest = demo_dir / page / "cases.json"
    if not manifest.is_file():
        return []
    out = []
    for case in json.loads(manifest.read_text(encoding="utf-8")).get("cases", []):
        path = demo_dir / page / str(case["file"])
        if path.is_file():
            out.append(Sample(name=str(case["file"]), path=path, note=str(case.get("credit", "")),
                              expect=str(case.get("expect", "")), source=str(case.get("source", "")),
                              labels=tuple(case.get("labels", ())), no_finding=bool(case.get("no_finding"))))
    return out


def _nih_labels(path: Path) -> tuple[str, tuple[str, ...], bool] | None:
    """(source, labels, no_finding) of a shared-data film from the labels.csv beside its images folder."""
    import csv

    table = path.parent.parent / "labels.csv"
    if path.parent.name != "images" or not table.is_file():
        return None
    with table.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row.get("image") == path.name:
                if "No_Finding" in row:
                    labels = tuple(k for k, v in row.items() if v == "1" and k not in ("No_Finding",))
                    return "NIH ChestX-ray14", labels, row.get("No_Finding") == "1"
                return None
    return None


def list_samples(page: str, settings: Settings | None = None) -> list[Sample]:
    """Samples for ``page`` ("chest", "shoulder", "scalp"): from the samples folder when it holds any,
    else the committed demo set (empty when neither has any)."""
    root = (settings or get_settings()).samples_dir
    if root is None or not root.is_dir():
        return bundled_samples(page)
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
                known = _nih_labels(path)
                source, labels, none = known if known else ("", (), False)
                found.append(Sample(name=str(path.relative_to(root)), path=path, note=note, expect=expect,
                                    source=source, labels=labels, no_finding=none))
    return found or bundled_samples(page)
