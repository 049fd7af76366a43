"""A batch of chest films in one session: the files (samples and uploads), their decoded images and
analyses under the session's memory budget (:class:`core.session_memory.UploadStore`), the user's
choices per file (turn upright, analyse the negative, analyse anyway), the audit records written, the
batch summary rows.

No Streamlit: the chest page keeps one :class:`ChestSession` in its session state. Uploads stay in
memory only.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, MutableMapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from core import audit
from core.chest.analysis import ChestAnalysis, analyse, heatmap, overlay, thumbnail
from core.chest.gate import GateResult, check_input
from core.chest.labels import localized_name
from core.chest.reading import DEFAULT_PRESET, OperatingPoint
from core.chest.screening import ScreeningResult, screen
from core.errors import UserError
from core.i18n import t
from core.imaging import ImageInput
from core.imaging.compact import CompactImage, load_compact
from core.session_memory import UploadStore
from core.slots import analysis_slots

Result = ChestAnalysis | GateResult | None
DEFAULT_OP = OperatingPoint.of(DEFAULT_PRESET)  # how a kept screening score is first read
Fix = Literal["rotate", "invert", "override", "unavailable"]


@dataclass
class Case:
    """One uploaded or sample image in this session (bytes kept in memory only; the decoded image
    as a downscaled uint8/float16 copy under the session's memory budget)."""

    name: str
    data: bytes
    digest: str
    compact: CompactImage | None = None
    error: UserError | None = None
    dropped: bool = False  # dropped from memory (budget): decoded again when opened
    _image: ImageInput | None = None

    @property
    def image(self) -> ImageInput | None:
        """The float32 image (at the kept size), built once per run when needed."""
        if self._image is None and self.compact is not None:
            self._image = self.compact.to_input()
        return self._image

    def decode(self) -> CompactImage | UserError:
        """The session copy of the file, or the translated reason it cannot be read (never raises for a
        bad file: nothing a user uploads may crash a page)."""
        try:
            return load_compact(self.data, self.name)
        except UserError as err:
            return err

    def fill(self, value: CompactImage | UserError | None) -> None:
        """Take the store's answer: the image, its error, or None (dropped by the budget)."""
        self.dropped = value is None
        if isinstance(value, UserError):
            self.error = value
        elif isinstance(value, CompactImage):
            self.compact = value


def load_cases(files: Sequence[tuple[str, bytes]], store: UploadStore, opened: int | None) -> list[Case]:
    """The cases of ``files`` ((name, bytes) in order), each with its kept image, its error, or marked
    dropped. ``opened``: the index of the file open on the page (the budget never drops it)."""
    cases = [Case(name=name, data=data, digest=hashlib.sha256(data).hexdigest()) for name, data in files]
    store.pin(cases[opened].digest if isinstance(opened, int) and 0 <= opened < len(cases) else None)
    for case in cases:
        case.fill(store.image(case.digest, case.decode))
    return cases


def forget_removed(digests: set[str], store: UploadStore, choices: MutableMapping[str, Any],
                   *caches: MutableMapping[tuple[Any, ...], Any]) -> None:
    """Drop decoded images, analyses, choices and cached entries (keys starting with the digest) of files
    no longer uploaded: memory is the only store."""
    store.forget_except(digests)
    for key in [k for k in choices if k not in digests]:
        del choices[key]
    for cache in caches:
        for key in [k for k in cache if k[0] not in digests]:
            del cache[key]


def analysis_of(case: Case, model: Any, store: UploadStore, choice: dict[str, Any],
                on_wait: Callable[[int], None] | None = None, fresh: list[int] | None = None,
                also: Callable[[Case, ChestAnalysis], None] | None = None) -> Result:
    """The kept analysis of ``case`` with the user's ``choice`` (only its gate when ``model`` is None;
    None for a file that could not be read or was dropped). A new analysis runs in one of the process's
    analysis slots (:mod:`core.slots`); ``on_wait(ahead)`` hears about any wait for one, and ``fresh``
    (a one-item counter) counts the analyses that ran rather than came from the session's store.
    ``also(case, analysis)`` runs in the same slot after a new analysis (the screening pass: a film
    queues once, not once per model)."""
    if case.compact is None:
        return None
    override, invert = bool(choice.get("override")), bool(choice.get("invert"))
    if model is None:
        return store.result((case.digest, "gate"), lambda: check_input(case.image))
    rotate = int(choice.get("rotate", 0))
    key = (case.digest, model.sha256, override, invert, rotate)

    def run() -> ChestAnalysis:
        if fresh is not None:
            fresh[0] += 1
        with analysis_slots().acquire(on_wait=on_wait):
            result = analyse(case.image, model, override=override, invert=invert, rotate=rotate)
            if also is not None:
                also(case, result)
            return result

    return store.result(key, run)


def analyse_all(cases: list[Case], model: Any, store: UploadStore, choices: dict[str, dict[str, Any]],
                on_wait: Callable[[int], None] | None = None, fresh: list[int] | None = None,
                also: Callable[[Case, ChestAnalysis], None] | None = None) -> list[Result]:
    """:func:`analysis_of` every case (a slot per film: another person's film waits for at most one of
    this batch's); a case the budget dropped while the batch was analysed is marked dropped (its result
    None)."""
    results = [analysis_of(case, model, store, choices.get(case.digest, {}), on_wait, fresh, also) for case in cases]
    for i, case in enumerate(cases):
        if case.digest in store.dropped:
            case.dropped, results[i] = True, None
    return results


def revive(case: Case, store: UploadStore) -> None:
    """Decode a dropped case again because the user opened it (pinned from now on)."""
    store.pin(case.digest)
    store.image(case.digest, case.decode, revive=True)


def gate_of(result: ChestAnalysis | GateResult) -> GateResult:
    """The input check's verdict of an analysis or of a gate-only result."""
    return result.gate if isinstance(result, ChestAnalysis) else result


def applied_notes(result: ChestAnalysis | GateResult) -> list[str]:
    """Translation keys of what was done to the film at the user's request: its negative analysed, turned
    upright, analysed against the input check."""
    flags = {"chest.gate.inverted_applied": isinstance(result, ChestAnalysis) and result.inverted_applied,
             "chest.gate.rotated_applied": isinstance(result, ChestAnalysis) and bool(result.rotation_applied),
             "chest.gate.override_note": gate_of(result).overridden}
    return [key for key, on in flags.items() if on]


def heatmap_views(result: ChestAnalysis, index: int, opacity: float, max_px: int) -> tuple[np.ndarray, np.ndarray]:
    """(the film as uint8, the heatmap of output ``index`` blended over it at ``opacity``) at the kept
    resolution, reduced only when the long side exceeds ``max_px``.

    Raises:
        ValueError: ``result`` has no prediction (the input gate refused the image).
    """
    if result.prediction is None:
        raise ValueError("no prediction: the input gate refused this image")
    base = np.asarray(result.image.pixels)
    if max(base.shape[:2]) > max_px:
        base = thumbnail(base, max_px)
    heat = heatmap(result.prediction, index, base.shape[0], base.shape[1])
    return np.uint8(np.clip(base, 0, 1) * 255 + 0.5), overlay(base, heat, opacity)


def next_fix(gate: GateResult, choice: dict[str, Any]) -> Fix | None:
    """What the page offers for a refused film, in order: turn it upright, analyse its negative,
    analyse it anyway; ``unavailable`` when it cannot be overridden; None when the choice was made."""
    if gate.rotation and not choice.get("rotate"):
        return "rotate"
    if gate.inverted and not choice.get("invert"):
        return "invert"
    if gate.can_override and not choice.get("override"):
        return "override"
    return None if gate.can_override else "unavailable"


def apply_fix(fix: Fix, gate: GateResult, choice: dict[str, Any]) -> None:
    """Record the user's ``fix`` of a refused film in ``choice`` (the next analysis uses it).

    Raises:
        ValueError: ``fix`` is ``unavailable``.
    """
    if fix == "unavailable":
        raise ValueError("this film cannot be analysed against the input check")
    choice[fix] = gate.rotation if fix == "rotate" else True


def summary_row(index: int, case: Case, result: Result, op: OperatingPoint, lang: str) -> dict[str, Any]:
    """The batch summary row of ``case`` (column titles and cells in ``lang``): number, file, the input
    check's verdict and, for an analysed film, its top finding and the number of positive and uncertain
    findings at ``op``."""
    col = {name: t(f"chest.col.{name}", lang) for name in ("index", "file", "gate", "top", "positive", "uncertain")}
    row: dict[str, Any] = {col["index"]: index + 1, col["file"]: case.name}
    if case.error is not None or case.dropped or result is None:
        row[col["gate"]] = t("chest.summary.error" if case.error is not None else "chest.summary.dropped", lang)
        return row
    row[col["gate"]] = t(f"chest.gate.decision.{gate_of(result).decision}", lang)
    if isinstance(result, ChestAnalysis) and result.analysed:
        top = (result.reported_findings or result.findings)[0]
        counts = result.counts(op)
        row[col["top"]] = f"{localized_name(top.label, lang)} ({top.probability:.2f})"
        row[col["positive"]], row[col["uncertain"]] = str(counts["positive"]), str(counts["uncertain"])
    else:
        row[col["top"]] = t("chest.summary.not_analysed", lang)
        row[col["positive"]] = row[col["uncertain"]] = "–"
    return row


@dataclass
class ChestSession:
    """What the chest page keeps for one browser session.

    Attributes:
        store: decoded images and analyses under the session's memory budget.
        choices: per file digest, the user's fixes of a refused film (:func:`apply_fix`).
        reports: written reports by :meth:`report_key` (a ``core.llm.report.ReportOutcome`` each).
        exports: built PDFs (``core.export.cache.cached``).
        audited: audit keys already recorded (:func:`core.audit.record_once`).
        revived: the digest of the dropped file last decoded again (one rerun per revival).
        fresh: how many analyses the last :meth:`analyse` ran (0: all came from the store).
    """

    store: UploadStore = field(default_factory=UploadStore)
    choices: dict[str, dict[str, Any]] = field(default_factory=dict)
    reports: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    exports: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    audited: set[Any] = field(default_factory=set)
    revived: str | None = None
    fresh: int = 0

    def open(self, files: Sequence[tuple[str, bytes]], opened: int | None) -> list[Case]:
        """:func:`load_cases` of ``files``; everything of files no longer given is forgotten."""
        cases = load_cases(files, self.store, opened)
        forget_removed({c.digest for c in cases}, self.store, self.choices, self.reports, self.exports)
        return cases

    def analyse(self, cases: list[Case], model: Any, op: OperatingPoint,
                on_wait: Callable[[int], None] | None = None, screening_model: Any = None) -> list[Result]:
        """:func:`analyse_all`; every analysed film goes into the audit trail once per operating point and
        choice (an unwritable trail does not stop the page). With ``screening_model``, a new analysis is
        screened in the same analysis slot (kept for :meth:`screening`)."""
        fresh = [0]

        def also(case: Case, result: ChestAnalysis) -> None:
            try:
                self._kept_screening(case, result, screening_model, slot=False)
            except Exception:  # noqa: BLE001 - the findings stand; :meth:`screening` tries again and says why
                logging.getLogger(__name__).warning("screening in the analysis slot failed", exc_info=True)

        results = analyse_all(cases, model, self.store, self.choices, on_wait, fresh,
                              also if screening_model is not None else None)
        self.fresh = fresh[0]
        for result in results:
            if isinstance(result, ChestAnalysis) and result.analysed:
                audit.record_once(audit_fields(result, op), audit_key(result, op), self.audited)
        return results

    def screening(self, case: Case, result: ChestAnalysis, model: Any, op: OperatingPoint) -> ScreeningResult | None:
        """The kept pneumonia screening of ``result`` read at ``op`` by the screening ``model`` (None when
        that model is missing or the input gate refused the image). The score is kept once per film and
        choice (screened in the analysis's own slot by :meth:`analyse`, else in a slot now); another
        operating point only reads it again."""
        kept = self._kept_screening(case, result, model, slot=True)
        if kept is None or kept.status == op.status(kept.probability):
            return kept
        return replace(kept, status=op.status(kept.probability))

    def _kept_screening(self, case: Case, result: ChestAnalysis, model: Any, slot: bool) -> ScreeningResult | None:
        """The screening score of ``result`` kept in the session's store (read at the default operating
        point), computed when absent: in an analysis slot of its own when ``slot``, else by a caller that
        already holds one."""
        if model is None or not result.analysed:
            return None
        key = (case.digest, "screening", getattr(model, "sha256", None), result.gate.overridden,
               result.inverted_applied, result.rotation_applied)

        def run() -> ScreeningResult | None:
            if not slot:
                return screen(result, model, DEFAULT_OP)
            with analysis_slots().acquire():
                return screen(result, model, DEFAULT_OP)

        return self.store.result(key, run)

    def choice(self, case: Case) -> dict[str, Any]:
        """The user's choices for ``case`` (kept: :func:`apply_fix` writes into it)."""
        return self.choices.setdefault(case.digest, {})

    def revive(self, case: Case) -> bool:
        """Decode a dropped, opened ``case`` again unless this was just done (then False: it stays
        dropped, never a rerun loop). True: the page should run again to show it."""
        if not case.dropped or self.revived == case.digest:
            self.revived = None
            return False
        revive(case, self.store)
        self.revived = case.digest
        return True


def report_key(case: Case, result: ChestAnalysis, op: OperatingPoint, lang: str, writer: str) -> tuple[Any, ...]:
    """What makes two reports the same: the file, the model, the user's choices, the operating point,
    the language and the writer."""
    model = result.model
    return (case.digest, model.sha256 if model else None, result.gate.overridden, result.inverted_applied,
            result.rotation_applied, op.preset, lang, writer)


def audit_fields(analysis: ChestAnalysis, op: OperatingPoint) -> dict[str, Any]:
    """The audit-trail record of an analysis (see :mod:`core.audit`): hashes, model, operating point."""
    fields: dict[str, Any] = {
        "feature": "chest",
        "input_sha256": analysis.image.sha256,
        "preset": op.preset,
        "operating_point": op.threshold,
        "gate_decision": analysis.gate.decision,
        "gate_issues": [i.code for i in analysis.gate.issues],
        "overridden": analysis.gate.overridden,
    }
    if analysis.prediction is not None:
        model = analysis.prediction.model
        counts = analysis.counts(op)
        fields.update(
            model_name=model.name, model_version=model.version, model_sha256=model.sha256,
            test_model=model.is_test_model, n_positive=counts["positive"], n_uncertain=counts["uncertain"],
        )
    return fields


def audit_key(analysis: ChestAnalysis, op: OperatingPoint) -> tuple[Any, ...]:
    """What makes two analyses one audit record (:func:`core.audit.record_once`): the input, the model,
    the operating point and the user's choices (override, inversion, rotation)."""
    model = analysis.model
    return (analysis.image.sha256, model.sha256 if model else None, op.preset, analysis.gate.overridden,
            analysis.inverted_applied, analysis.rotation_applied)
