"""Chest X-ray analysis: upload (several at once) -> input gate -> findings with heatmaps -> report ->
PDF/JSON export. Thin page: widgets -> core.chest -> display. Uploads stay in this session's memory."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from core import audit
from core.chest import loader as chest_loader
from core.chest.analysis import ChestAnalysis, analyse, heatmap, overlay
from core.chest.gate import GateResult, check_input
from core.chest.labels import localized_name, localized_plain
from core.chest.reading import BAND, DEFAULT_PRESET, PRESETS, OperatingPoint
from core.chest.screening import SCREENING_NAME, load_screening_model, screen
from core.errors import MissingModelError, UserError
from core.export.chest import audit_fields, share_summary, to_json, to_pdf
from core.export.pdf import FONT_PATH
from core.i18n import t
from core.imaging import ImageInput
from core.imaging.compact import CompactImage, load_compact
from core.llm import get_writer, writer_names
from core.llm.guarded import GuardedOutcome
from core.llm.structured import location_phrase
from core.llm.writer import WriterStatus, report_stream, writer_status
from core.models.registry import get_card
from core.samples import list_samples
from core.session_memory import MIB, UploadStore
from ui.common import lang, show_user_error, tr
from ui.demo import sample_label
from ui.install import install_panel
from ui.llm import run_guarded

STATE = "chest_state"
PDF_READY = FONT_PATH.is_file()  # the Korean font the PDF needs
DISPLAY_MAX_PX = 4096


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


@st.cache_resource(show_spinner=False)
def _cached_model(which: str) -> Any:
    """The loaded model for registry entry ``which`` (a failure is not cached, so a later install shows up)."""
    return chest_loader.load_best_model()


@st.cache_resource(show_spinner=False)
def _cached_screening(sha: str) -> Any:
    """The pneumonia screening model (keyed by its card checksum, so a new bundle is picked up)."""
    return load_screening_model()


def get_screening_model() -> Any:
    """The pneumonia screening model, or None when it is missing, damaged or of an old bundle."""
    try:
        return _cached_screening(get_card(SCREENING_NAME).sha256 or "")
    except (MissingModelError, ValueError, KeyError):
        return None


def get_model() -> tuple[Any, MissingModelError | None]:
    """(model, None), or (None, the error) when no chest model is installed or it cannot be loaded."""
    try:
        return _cached_model(chest_loader.availability().name or "none"), None
    except MissingModelError as err:
        return None, err


def _state() -> dict[str, Any]:
    if STATE not in st.session_state:
        st.session_state[STATE] = {"samples": [], "reports": {}, "outcomes": {}, "exports": {}, "audited": set(), "choices": {}}
    state = st.session_state[STATE]
    state.setdefault("store", UploadStore())  # decoded images and analyses, under the session's memory budget
    return state


def _decode(case: Case) -> CompactImage | UserError:
    try:
        return load_compact(case.data, case.name)
    except UserError as err:
        return err


def _fill(case: Case, value: CompactImage | UserError | None) -> None:
    case.dropped = value is None
    if isinstance(value, UserError):
        case.error = value
    elif isinstance(value, CompactImage):
        case.compact = value


def _cases(uploads: list[Any], state: dict[str, Any]) -> list[Case]:
    cases = []
    for item in [*state["samples"], *uploads]:
        name, data = (item if isinstance(item, tuple) else (item.name, item.getvalue()))
        cases.append(Case(name=name, data=data, digest=hashlib.sha256(data).hexdigest()))
    opened = st.session_state.get("chest_open")  # the file open below: the budget never drops it
    state["store"].pin(cases[opened].digest if isinstance(opened, int) and 0 <= opened < len(cases) else None)
    for case in cases:
        _fill(case, state["store"].image(case.digest, lambda c=case: _decode(c)))
    _forget_removed({c.digest for c in cases}, state)
    return cases


def _forget_removed(digests: set[str], state: dict[str, Any]) -> None:
    """Drop decoded images and analyses of files no longer uploaded (memory is the only store)."""
    state["store"].forget_except(digests)
    for key in [k for k in state.get("choices", {}) if k not in digests]:
        del state["choices"][key]
    for name in ("reports", "outcomes", "exports"):
        for key in [k for k in state.get(name, {}) if k[0] not in digests]:
            del state[name][key]


def _analysis(case: Case, model: Any, state: dict[str, Any]) -> ChestAnalysis | GateResult | None:
    """The kept analysis of a case (or only its gate when no model is installed)."""
    if case.compact is None:
        return None
    choice = state["choices"].get(case.digest, {})
    override, invert = bool(choice.get("override")), bool(choice.get("invert"))
    if model is None:
        return state["store"].result((case.digest, "gate"), lambda: check_input(case.image))
    rotate = int(choice.get("rotate", 0))
    key = (case.digest, model.sha256, override, invert, rotate)
    return state["store"].result(key, lambda: analyse(case.image, model, override=override, invert=invert, rotate=rotate))


def _as_markdown(text: str) -> str:
    """Show report text line for line: escape list/heading markers, keep every line break."""
    lines = []
    for line in text.split("\n"):
        line = re.sub(r"^(\s*)([-*+#>])", r"\1\\\2", line)
        line = re.sub(r"^(\s*\d+)\.", r"\1\\.", line)
        lines.append(line)
    return "  \n".join(lines)


def _writer_label(status: WriterStatus, code: str) -> str:
    title = t(f"llm.writer.{status.name}", code)
    return title if status.available else t("llm.ui.unavailable_option", code, title=title)


def _show_unavailable(status: WriterStatus) -> None:
    """Why the chosen writer cannot run and how to set it up (the structured report is used)."""
    reason = status.reason.message(lang()) if status.reason else ""
    st.warning(tr("llm.ui.unavailable", title=tr(f"llm.writer.{status.name}"), reason=reason), icon=":material/deployed_code:")
    if status.command:
        st.caption(tr("llm.ui.install"))
        st.code(status.command, language="bash")
    st.caption(tr("llm.ui.fallback_structured"))


def _show_outcome_notes(outcome: GuardedOutcome) -> None:
    if outcome.checked:
        st.info(tr("llm.ui.machine_written", title=tr(f"llm.writer.{outcome.writer}")), icon=":material/smart_toy:")
    else:
        st.warning(outcome.note(lang()) or "", icon=":material/shield:")
    if outcome.time_limited:
        st.warning(tr("llm.ui.time_limit", seconds=f"{outcome.max_time or 0:.0f}"), icon=":material/timer:")
    if outcome.checked and outcome.length_limited:
        st.warning(tr("llm.ui.length_limit"), icon=":material/short_text:")


def _record_audit(result: ChestAnalysis, op: OperatingPoint, state: dict[str, Any]) -> None:
    model = result.model
    key = (result.image.sha256, model.sha256 if model else None, op.preset, result.gate.overridden, result.inverted_applied,
           result.rotation_applied)
    if key in state["audited"]:
        return
    try:
        audit.record(audit_fields(result, op))
        state["audited"].add(key)
    except (OSError, audit.AuditError):
        pass  # the analysis is still shown; a site notices an unwritable data folder in its logs


def _share(result: ChestAnalysis, op: OperatingPoint, digest: str) -> None:
    """Opt-in sharing of the findings summary to the community board (not for a random-weight test model)."""
    st.subheader(tr("chest.share.title"))
    if result.model is None or result.model.is_test_model:
        st.caption(tr("chest.share.test_model"))
        return
    if result.overridden:  # analysed against the input check: never on the board
        st.caption(tr("chest.share.overridden"))
        return
    try:
        from ui.share import share_to_board
    except ImportError:  # board not installed in this build
        st.caption(tr("chest.share.unavailable"))
        return
    share_to_board("chest", share_summary(result, op, lang()), key=f"chest_share_{digest[:12]}_{op.preset}")


# --- header, model state, settings ------------------------------------------------------------
st.title(tr("app.page.chest"))
st.caption(tr("chest.intro"))
LANG = lang()
state = _state()
model, model_error = get_model()
if model is None:
    name = chest_loader.XRV_NAME
    if isinstance(model_error, chest_loader.ModelLoadError):
        show_user_error(model_error)
    st.warning(tr("chest.model.missing_page", name=name), icon=":material/deployed_code:")
    install_panel(get_card(name), key="chest_install")
    st.caption(tr("chest.model.gate_only"))
elif model.is_test_model:
    st.error(tr("chest.test_model"), icon=":material/science:")
else:
    st.caption(tr("chest.model.using", title=model.title, version=model.version, sha=model.sha256[:12]))
    if model.name != chest_loader.XRV_NAME:
        starter = chest_loader.starter_summary(model.name)
        st.info(tr("chest.model.starter_notice", auc=starter["auc"], lo=starter["lo"], hi=starter["hi"], n=starter["n"]), icon=":material/explore:")
        with st.expander(tr("chest.model.starter_upgrade")):
            install_panel(get_card(chest_loader.XRV_NAME), key="chest_upgrade")

with st.expander(tr("chest.settings"), expanded=True):
    left, right = st.columns(2)
    with left:
        preset = st.segmented_control(
            tr("chest.preset.label"), options=list(PRESETS), default=DEFAULT_PRESET, required=True,
            format_func=lambda p, _l=LANG: t(f"chest.preset.{p}", _l), key="chest_preset",
        ) or DEFAULT_PRESET
        st.caption(tr("chest.preset.help", band=f"{BAND:.2f}", **{k: f"{v:.2f}" for k, v in PRESETS.items()}))
    with right:
        opacity = st.slider(tr("chest.opacity"), 0.0, 1.0, 0.5, 0.05, key="chest_opacity")
        statuses = {n: s for n in writer_names() if "chest" in (s := writer_status(n)).handles}
        writer_name = st.selectbox(tr("chest.report.writer"), list(statuses), key="chest_writer",
                                   format_func=lambda n, _l=LANG: _writer_label(statuses[n], _l))
        if not statuses[writer_name].available:
            _show_unavailable(statuses[writer_name])
            writer_name = "structured"
op = OperatingPoint.of(preset)

# no type filter: extension-less DICOM (PACS/CD exports such as IM000001) and .jfif must reach the loader, which
# detects the type from the bytes, and a wrong file (a PDF) must get its translated advice, not Streamlit's English one
uploads = st.file_uploader(tr("chest.upload"), accept_multiple_files=True, help=tr("chest.upload_help"), key="chest_upload") or []
samples = list_samples("chest")


if samples:
    with st.expander(tr("app.demo.title")):
        st.caption(tr("app.demo.help"))
        pick = st.selectbox(tr("app.demo.pick"), range(len(samples)), format_func=lambda i, _l=LANG: sample_label(samples[i], _l), key="chest_sample")
        if st.button(tr("app.demo.load"), key="chest_sample_load"):
            sample = samples[int(pick)]
            try:
                entry = (sample.name, sample.read_bytes())
            except (OSError, ValueError):
                entry = None
            if entry and entry[0] not in [s[0] for s in state["samples"]]:
                state["samples"].append(entry)
                st.toast(tr("app.demo.loaded", name=sample.name))

cases = _cases(list(uploads), state)
if not cases:
    st.info(tr("chest.empty"))
    st.stop()

results = [_analysis(case, model, state) for case in cases]
for analysed in results:  # every analysed image is in the audit trail, opened or not
    if isinstance(analysed, ChestAnalysis) and analysed.analysed:
        _record_audit(analysed, op, state)
for i, case in enumerate(cases):  # dropped by the memory budget while this batch was analysed
    if case.digest in state["store"].dropped:
        case.dropped, results[i] = True, None


# --- batch summary ----------------------------------------------------------------------------
def _summary_row(index: int, case: Case, result: Any) -> dict[str, Any]:
    row = {tr("chest.col.index"): index + 1, tr("chest.col.file"): case.name}
    if case.error is not None:
        row[tr("chest.col.gate")] = tr("chest.summary.error")
        return row
    if case.dropped:
        row[tr("chest.col.gate")] = tr("chest.summary.dropped")
        return row
    gate = result.gate if isinstance(result, ChestAnalysis) else result
    row[tr("chest.col.gate")] = tr(f"chest.gate.decision.{gate.decision}")
    if isinstance(result, ChestAnalysis) and result.analysed:
        top = (result.reported_findings or result.findings)[0]
        counts = result.counts(op)
        row[tr("chest.col.top")] = f"{localized_name(top.label, lang())} ({top.probability:.2f})"
        row[tr("chest.col.positive")] = str(counts["positive"])
        row[tr("chest.col.uncertain")] = str(counts["uncertain"])
    else:
        row[tr("chest.col.top")] = tr("chest.summary.not_analysed")
        row[tr("chest.col.positive")] = row[tr("chest.col.uncertain")] = "–"
    return row


st.subheader(tr("chest.batch.title", n=len(cases)))
summary = pd.DataFrame([_summary_row(i, c, r) for i, (c, r) in enumerate(zip(cases, results, strict=True))])
st.dataframe(summary, hide_index=True, width="stretch")
if any(c.dropped for c in cases):
    st.warning(tr("chest.memory.dropped", n=sum(c.dropped for c in cases), budget=state["store"].budget.limit // MIB),
               icon=":material/memory:")
selected = st.selectbox(tr("chest.open"), range(len(cases)), format_func=lambda i: f"{i + 1}. {cases[i].name}", key="chest_open")
case, result = cases[int(selected)], results[int(selected)]

# --- one image --------------------------------------------------------------------------------
if case.dropped and state.get("revived") != case.digest:  # opened again: decode it again (pinned from now on)
    state["store"].pin(case.digest)
    state["store"].image(case.digest, lambda: _decode(case), revive=True)
    state["revived"] = case.digest  # one rerun per revival, never a loop
    st.rerun()
state.pop("revived", None)
if case.dropped:
    st.stop()
if case.error is not None:
    show_user_error(case.error)
    st.stop()
assert case.compact is not None
if case.compact.reduced:
    height, width = case.compact.original_size
    st.caption(tr("chest.memory.reduced", width=width, height=height, kept=max(case.compact.pixels.shape[:2])))
burned = case.compact.values["meta"].get("burned_in_annotation") is True
if burned:
    st.warning(tr("chest.burned_in.warning"), icon=":material/badge:")

gate = result.gate if isinstance(result, ChestAnalysis) else result
st.subheader(tr("chest.gate.title"))
if not gate.issues:
    st.success(tr("chest.gate.ok"), icon=":material/check_circle:")
for issue in gate.issues:
    (st.error if issue.severity == "refuse" and not gate.overridden else st.warning)(issue.message(lang()), icon=":material/warning:")
if isinstance(result, ChestAnalysis) and result.inverted_applied:
    st.info(tr("chest.gate.inverted_applied"))
if isinstance(result, ChestAnalysis) and result.rotation_applied:
    st.info(tr("chest.gate.rotated_applied"))
if gate.overridden:
    st.info(tr("chest.gate.override_note"))

if model is None:
    st.image(case.compact.to_uint8(), caption=tr("chest.original"), width="stretch")
    st.stop()

assert isinstance(result, ChestAnalysis)
if not result.analysed:
    st.error(tr("chest.gate.refused"))
    choices = state["choices"].setdefault(case.digest, {})
    if gate.rotation and not choices.get("rotate"):
        if st.button(tr("chest.gate.rotate_button", correction=gate.rotation), key=f"rotate_{case.digest[:12]}"):
            choices["rotate"] = gate.rotation
            st.rerun()
    elif gate.inverted and not choices.get("invert"):
        if st.button(tr("chest.gate.invert_button"), key=f"invert_{case.digest[:12]}"):
            choices["invert"] = True
            st.rerun()
    elif gate.can_override and not choices.get("override"):
        if st.button(tr("chest.gate.override_button"), key=f"override_{case.digest[:12]}"):
            choices["override"] = True
            st.rerun()
    elif not gate.can_override:
        st.caption(tr("chest.gate.override_unavailable"))
    st.image(case.compact.to_uint8(), caption=tr("chest.original"), width="stretch")
    st.stop()

pred = result.prediction
assert pred is not None
if pred.model.is_test_model:
    st.error(tr("chest.test_model"), icon=":material/science:")
st.caption(tr("chest.analysed_by", title=pred.model.title, version=pred.model.version, method=tr(f"chest.cam_method.{pred.cam_method}")))

# heatmaps: every finding, on the full-resolution image
facts = result.facts(op)
by_label = {f.label: f for f in facts.findings}
order = [f.index for f in result.findings]
finding_of = {f.index: f for f in result.findings}
shown = st.selectbox(
    tr("chest.heatmap.finding"), order, key=f"heat_{case.digest[:12]}",
    format_func=lambda i, _l=LANG: f"{localized_name(finding_of[i].label, _l)} ({finding_of[i].probability:.2f})",
    help=tr("chest.heatmap.help"),
)
finding = finding_of[int(shown)]
base = np.asarray(result.image.pixels)
if max(base.shape[:2]) > DISPLAY_MAX_PX:  # only absurdly large films are reduced for the browser
    from core.chest.analysis import thumbnail

    base = thumbnail(base, DISPLAY_MAX_PX)
heat = heatmap(pred, finding.index, base.shape[0], base.shape[1])
col_a, col_b = st.columns(2)
with col_a:
    st.image(np.uint8(np.clip(base, 0, 1) * 255 + 0.5), caption=tr("chest.original"), width="stretch")
with col_b:
    st.image(overlay(base, heat, opacity), caption=tr("chest.heatmap.caption", name=localized_name(finding.label, lang()), score=f"{finding.probability:.2f}"), width="stretch")
if pred.cam_peak[finding.index] <= 0:
    st.caption(tr("chest.heatmap.empty", name=localized_name(finding.label, lang())))
if not finding.reported:
    st.caption(tr("chest.status.unreliable_heatmap", name=localized_name(finding.label, lang())))

# findings, sorted by probability, with bars and the uncertain band
st.subheader(tr("chest.findings.title"))
st.caption(tr("chest.band_help", op=f"{op.threshold:.2f}", lo=f"{op.threshold - op.band:.2f}", hi=f"{op.threshold + op.band:.2f}"))
rows = []
for f in result.reported_findings:
    fact = by_label[f.label]
    rows.append({
        tr("chest.col.finding"): localized_name(f.label, lang()),
        tr("chest.col.probability"): f.probability,
        tr("chest.col.status"): tr(f"chest.status.{fact.status}"),
        tr("chest.col.location"): location_phrase(fact, lang()) or "–",
        tr("chest.col.plain"): localized_plain(f.label, lang()),
    })
st.dataframe(
    pd.DataFrame(rows), hide_index=True, width="stretch", height=36 * (len(rows) + 1) + 4,
    column_config={tr("chest.col.probability"): st.column_config.ProgressColumn(tr("chest.col.probability"), min_value=0.0, max_value=1.0, format="%.2f")},
)
unreliable = [localized_name(f.label, lang()) for f in result.findings if not f.reported]
if unreliable:
    st.caption(tr("chest.status.unreliable_list", names=", ".join(unreliable)), help=tr("chest.status.unreliable_reason"))

# pneumonia screening (a second head of the same fine-tuned network), and what is not assessed
st.subheader(tr("chest.screening.title"))
screening_model = get_screening_model()
screening_key = (case.digest, "screening", result.gate.overridden, result.inverted_applied, op.preset)
screening = (state["store"].result(screening_key, lambda: screen(result, screening_model, op))
             if screening_model is not None else None)
if screening is None:
    st.caption(tr("chest.screening.missing"))
else:
    figs = "; ".join(f"{name} {a:.2f} [{lo:.2f}, {hi:.2f}]" for name, a, lo, hi in screening.figures
                     if a is not None and lo is not None and hi is not None)
    st.metric(tr("chest.screening.title"), tr("chest.screening.value", p=f"{screening.probability:.2f}",
                                               status=tr(f"chest.status.{screening.status}")),
              help=tr("chest.screening.help", figures=figs or "–"), label_visibility="collapsed")
st.caption(tr("chest.screening.not_assessed"))

# written report (streamed once per image / operating point / language / writer)
st.subheader(tr("chest.report.title"))
st.caption(tr("chest.report.machine"))
report_key = (case.digest, pred.model.sha256, result.gate.overridden, result.inverted_applied, result.rotation_applied, op.preset, lang(), writer_name)
if statuses[writer_name].kind == "llm":
    if report_key not in state["reports"]:
        outcome = run_guarded(writer_name, facts)  # the draft streams into its own labelled area
        state["reports"][report_key], state["outcomes"][report_key] = outcome.text, outcome
    _show_outcome_notes(state["outcomes"][report_key])
    st.markdown(_as_markdown(state["reports"][report_key]))
elif report_key not in state["reports"]:
    chunks: list[str] = []

    def _stream() -> Any:
        for chunk in report_stream(result, op, lang(), get_writer(writer_name)):
            chunks.append(chunk)
            yield _as_markdown(chunk)

    st.write_stream(_stream())
    state["reports"][report_key] = "".join(chunks)
else:
    st.markdown(_as_markdown(state["reports"][report_key]))
report_text = state["reports"][report_key]
shown_outcome = state["outcomes"].get(report_key)
report_writer = writer_name if shown_outcome is None or shown_outcome.checked else "structured"

# export
st.subheader(tr("chest.export.title"))
stem = f"chest-{case.digest[:12]}"
# pixels with patient details burned in go into the PDF only when the user confirms (default: left out)
include_images = st.checkbox(tr("chest.burned_in.include"), value=False, key=f"chest_burned_{case.digest[:12]}") if burned else True
col_pdf, col_json = st.columns(2)
with col_pdf:
    # built only when the button is pressed (0.3-0.8 s): moving the opacity slider stays instant
    export_key = (*report_key, round(opacity, 2), include_images)

    def _pdf(_key: tuple = export_key, _result: ChestAnalysis = result, _op: OperatingPoint = op, _lang: str = lang(),
             _text: str = report_text, _opacity: float = opacity, _writer: str = report_writer,
             _images: bool = include_images, _cache: dict = state["exports"]) -> bytes:
        if _key not in _cache:
            while len(_cache) >= 4:  # keep a few PDFs per session
                _cache.pop(next(iter(_cache)))
            _cache[_key] = to_pdf(_result, _op, _lang, _text, opacity=_opacity, writer=_writer, screening=screening,
                                  include_images=_images)
        return _cache[_key]

    if PDF_READY:
        st.download_button(tr("export.download_pdf"), _pdf, file_name=f"{stem}.pdf", mime="application/pdf", key="chest_pdf")
    else:
        st.error(tr("export.failed", detail="font"))
with col_json:
    st.download_button(
        tr("export.download_json"), to_json(result, op, lang(), report_text, report_writer, screening),
        file_name=f"{stem}.json", mime="application/json", key="chest_json",
    )

with st.expander(tr("export.audit.title")):
    st.caption(tr("export.audit.help"))
    st.caption(tr("export.audit.count", n=audit.count()))
    col_csv, col_jsonl = st.columns(2)
    with col_csv:
        st.download_button(tr("export.audit.download_csv"), audit.export_csv, file_name="chest-audit.csv", mime="text/csv", key="chest_audit_csv")
    with col_jsonl:
        st.download_button(tr("export.audit.download_jsonl"), audit.export_jsonl, file_name="chest-audit.jsonl", mime="application/jsonl", key="chest_audit_jsonl")

_share(result, op, case.digest)
