"""English report labeler vs the MeSH tags of the Indiana University chest X-ray reports.

The reports (``NLMCXR_reports.tgz``, CC BY-NC-ND) ship inside the torchxrayvision wheel; they are
read from the wheel at run time for evaluation only: nothing of them is copied into the
repository and no rule is fitted to them automatically.

Truth: a report is positive for a label when one of its MeSH *major* terms maps to it
(:data:`MESH_TO_LABEL`); prediction: the labeler's aggregated status is ``positive`` (uncertain
counts as negative unless ``--uncertain-positive``). Text: FINDINGS + IMPRESSION.

Split: reports whose numeric id is odd are the development half (the rules were tuned by
reading its errors); even ids are the held-out half.

    python -m bench.bench_labeler [--half dev|heldout|both] [--errors LABEL]
"""

from __future__ import annotations

import argparse
import sys
import tarfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: MeSH major term (heading, optionally "heading/first qualifier") -> our label.
MESH_TO_LABEL: dict[str, str] = {
    "Pulmonary Atelectasis": "Atelectasis",
    "Cardiomegaly": "Cardiomegaly",
    "Cardiac Shadow/enlarged": "Cardiomegaly",
    "Pleural Effusion": "Effusion",
    "Pneumothorax": "Pneumothorax",
    "Hydropneumothorax": "Pneumothorax",
    "Pneumonia": "Pneumonia",
    "Pulmonary Edema": "Edema",
    "Emphysema": "Emphysema",
    "Pulmonary Emphysema": "Emphysema",
    "Bullous Emphysema": "Emphysema",
    "Nodule": "Nodule",
    "Mass": "Mass",
    "Fractures, Bone": "Fracture",
    "Hernia, Hiatal": "Hernia",
    "Hernia, Diaphragmatic": "Hernia",
    "Consolidation": "Consolidation",
    "Infiltrate": "Infiltration",
    "Pulmonary Fibrosis": "Fibrosis",
    "Fibrosis": "Fibrosis",
    "Thickening/pleura": "Pleural_Thickening",
    "Opacity": "Lung Opacity",
    "Airspace Disease": "Lung Opacity",
}
#: Labels scored (those both the MeSH tags and our labeler cover).
SCORED: tuple[str, ...] = tuple(dict.fromkeys(MESH_TO_LABEL.values()))
#: Opacity of ribs / a device is not a lung opacity.
_OPACITY_NOT_LUNG = ("ribs", "bone", "mediastinum", "thorax")


@dataclass(frozen=True)
class Report:
    uid: int
    text: str
    truth: frozenset[str]
    normal: bool


def reports_path() -> Path | None:
    """The tgz inside the installed torchxrayvision wheel, or None."""
    try:
        import torchxrayvision
    except ImportError:
        return None
    path = Path(torchxrayvision.__file__).parent / "data" / "NLMCXR_reports.tgz"
    return path if path.is_file() else None


def _truth(terms: list[str]) -> frozenset[str]:
    out = set()
    for term in terms:
        parts = [p.strip() for p in term.split("/")]
        head = parts[0]
        qual = parts[1].lower() if len(parts) > 1 else ""
        label = MESH_TO_LABEL.get(f"{head}/{qual}") or MESH_TO_LABEL.get(head)
        if head == "Cardiac Shadow" and qual != "enlarged":
            label = None
        if head == "Thickening" and qual != "pleura":
            label = None
        if head == "Opacity" and qual in _OPACITY_NOT_LUNG:
            label = None
        if label:
            out.add(label)
    return frozenset(out)


def load_reports(path: Path, half: str | None = None) -> Iterator[Report]:
    """Every report with FINDINGS or IMPRESSION text (only those of ``half`` when given).

    Raises:
        OSError, tarfile.TarError, xml.etree.ElementTree.ParseError: unreadable archive.
    """
    with tarfile.open(path) as tf:
        for member in tf.getmembers():
            if not member.isfile() or not member.name.endswith(".xml"):
                continue
            uid = int(Path(member.name).stem)
            if half is not None and (uid % 2 == 1) != (half == "dev"):
                continue
            fh = tf.extractfile(member)
            if fh is None:
                continue
            root = ET.fromstring(fh.read())
            sections = {a.get("Label"): (a.text or "").strip() for a in root.iter("AbstractText")}
            text = "\n".join(s for s in (sections.get("FINDINGS"), sections.get("IMPRESSION")) if s)
            if not text:
                continue
            terms = [m.text or "" for m in root.iter("major")]
            yield Report(uid, text, _truth(terms), any(t.strip().lower() == "normal" for t in terms))


def split(reports: list[Report], half: str) -> list[Report]:
    """``dev``: odd ids, ``heldout``: even ids."""
    return [r for r in reports if (r.uid % 2 == 1) == (half == "dev")]


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def predict(report: Report, uncertain_positive: bool = False) -> set[str]:
    from core.llm.labeler import label_report

    accepted = ("positive", "uncertain") if uncertain_positive else ("positive",)
    return {label for label, s in label_report(report.text, "en").items() if s in accepted}


def evaluate(reports: list[Report], uncertain_positive: bool = False) -> tuple[dict[str, Counts], Counts]:
    """Per-label counts over ``reports`` and the ``No Finding`` vs MeSH ``normal`` counts."""
    per = {label: Counts() for label in SCORED}
    normal = Counts()
    for r in reports:
        pred = predict(r, uncertain_positive)
        for label in SCORED:
            p, t = label in pred, label in r.truth
            c = per[label]
            c.tp += p and t
            c.fp += p and not t
            c.fn += t and not p
        p, t = "No Finding" in pred, r.normal
        normal.tp += p and t
        normal.fp += p and not t
        normal.fn += t and not p
    return per, normal


def summary(per: dict[str, Counts]) -> tuple[float, float]:
    """(micro F1, macro F1) over the scored labels that have at least one true case."""
    total = Counts(sum(c.tp for c in per.values()), sum(c.fp for c in per.values()), sum(c.fn for c in per.values()))
    present = [c.f1 for c in per.values() if c.tp + c.fn]
    return total.f1, sum(present) / len(present) if present else 0.0


def _print(name: str, reports: list[Report], uncertain_positive: bool) -> None:
    per, normal = evaluate(reports, uncertain_positive)
    print(f"\n{name}: {len(reports)} reports")
    print(f"{'label':28s} {'true':>5s} {'pred':>5s} {'prec':>6s} {'rec':>6s} {'F1':>6s}")
    for label, c in sorted(per.items(), key=lambda kv: -(kv[1].tp + kv[1].fn)):
        print(f"{label:28s} {c.tp + c.fn:5d} {c.tp + c.fp:5d} {c.precision:6.3f} {c.recall:6.3f} {c.f1:6.3f}")
    micro, macro = summary(per)
    print(f"{'micro F1':28s} {micro:.3f}\n{'macro F1':28s} {macro:.3f}")
    print(f"{'(No Finding vs MeSH normal)':28s} {normal.tp + normal.fn:5d} {normal.tp + normal.fp:5d} "
          f"{normal.precision:6.3f} {normal.recall:6.3f} {normal.f1:6.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--half", choices=("dev", "heldout", "both"), default="both")
    parser.add_argument("--uncertain-positive", action="store_true", help="count uncertain mentions as positive")
    parser.add_argument("--errors", metavar="LABEL", help="print the dev-half errors for one label (local use only)")
    args = parser.parse_args(argv)
    path = reports_path()
    if path is None:
        print("torchxrayvision's NLMCXR_reports.tgz is not installed: nothing to evaluate")
        return 0
    reports = list(load_reports(path))
    if args.errors:
        from core.llm.labeler import find_mentions

        for r in split(reports, "dev"):
            pred, t = args.errors in predict(r, args.uncertain_positive), args.errors in r.truth
            if pred != t:
                kind = "FP" if pred else "FN"
                ms = [(m.text, m.status, m.cue) for m in find_mentions(r.text, "en") if m.label == args.errors]
                print(f"{kind} {r.uid}: {ms}\n    {r.text}\n")
        return 0
    halves = ("dev", "heldout") if args.half == "both" else (args.half,)
    for half in halves:
        title = "development half (odd ids, rules tuned on it)" if half == "dev" else "held-out half (even ids)"
        _print(title, split(reports, half), args.uncertain_positive)
    return 0


if __name__ == "__main__":
    sys.exit(main())
