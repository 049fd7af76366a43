"""Chest X-ray analysis: upload (several at once) -> input gate -> findings with heatmaps -> report ->
PDF/JSON export. Thin page: widgets -> core.chest (batch, analysis, export) and core.llm.report -> display.
Uploads stay in this session's memory."""

from __future__ import annotations

import time
from functools import partial
from typing import Any

import pandas as pd
import streamlit as st

from core.chest import batch
from core.chest import loader as chest_loader
from core.chest.analysis import ChestAnalysis
from core.chest.frozen import warmed
from core.chest.labels import localized_name
from core.chest.reading import BAND, DEFAULT_PRESET, PRESETS, OperatingPoint
from core.chest.screening import SCREENING_NAME, load_screening_model
from core.errors import MissingModelError
from core.export.cache import cached
from core.export.chest import share_refusal, share_summary, to_json, to_pdf
from core.export.pdf import FONT_PATH
from core.llm import report
from core.metrics import analysis_timings
from core.models.registry import get_card
from core.samples import list_samples
from core.session_memory import MIB
from ui.audit import audit_downloads
from ui.chest_model import show_model_state
from ui.common import fmt, lang, show_user_error, tr
from ui.demo import sample_batch
from ui.llm import show_report, show_unavailable, stream_report, writer_label
from ui.queue import waiting_notice
from ui.share import share_to_board

STATE = "chest_state"
PDF_READY = FONT_PATH.is_file()  # the Korean font the PDF needs
DISPLAY_MAX_PX = 4096


@st.cache_resource(show_spinner=False)
def _cached_model(which: str) -> Any:
    """The loaded model for registry entry ``which`` (a failure is not cached, so a later install shows up),
    its frozen trunk made now rather than on the first person's first film."""
    return warmed(chest_loader.load_best_model())


@st.cache_resource(show_spinner=False)
def _cached_screening(sha: str) -> Any:
    """The pneumonia screening model (keyed by its card checksum, so a new bundle is picked up)."""
    return warmed(load_screening_model())


def get_screening_model() -> Any:
    """The pneumonia screening model, or None when it is missing, damaged or of an old bundle."""
    try:
        return _cached_screening(get_card(SCREENING_NAME).sha256 or "")
    except (MissingModelError, ValueError, KeyError):
        return None


def get_model(name: str | None) -> tuple[Any, MissingModelError | None]:
    """(model, None), or (None, the error) when no chest model is installed or it cannot be loaded."""
    try:
        return _cached_model(name or "none"), None
    except MissingModelError as err:
        return None, err


def _share(result: ChestAnalysis, op: OperatingPoint, digest: str) -> None:
    """Opt-in sharing of the findings summary to the community board (not for a random-weight test model)."""
    st.subheader(tr("chest.share.title"))
    refusal = share_refusal(result)  # a test model's output, or analysed against the input check: never on the board
    if refusal is not None:
        st.caption(tr(refusal))
        return
    share_to_board("chest", share_summary(result, op, lang()), key=f"chest_share_{digest[:12]}_{op.preset}")


# --- header, model state, settings ------------------------------------------------------------
st.title(tr("app.page.chest"))
st.caption(tr("chest.intro"))
LANG = lang()
state: batch.ChestSession = st.session_state.setdefault(STATE, batch.ChestSession())  # images, analyses, reports
AVAIL = chest_loader.availability()  # the model to use, and any held back for an unfitted input check
model, model_error = get_model(AVAIL.name)
screening_model = get_screening_model() if model is not None else None  # loaded (once) with the page, not with a film
show_model_state(model, model_error, AVAIL)

with st.expander(tr("chest.settings"), expanded=True):
    left, right = st.columns(2)
    with left:
        preset = st.segmented_control(tr("chest.preset.label"), options=list(PRESETS), default=DEFAULT_PRESET, required=True,
                                      format_func=fmt("chest.preset."), key="chest_preset") or DEFAULT_PRESET
        st.caption(tr("chest.preset.help", band=f"{BAND:.2f}", **{k: f"{v:.2f}" for k, v in PRESETS.items()}))
    with right:
        opacity = st.slider(tr("chest.opacity"), 0.0, 1.0, 0.5, 0.05, key="chest_opacity")
        statuses = report.chest_writers()
        writer_name = st.selectbox(tr("chest.report.writer"), list(statuses), key="chest_writer",
                                   format_func=lambda n, _l=LANG: writer_label(statuses[n], _l))
        if not statuses[writer_name].available:
            show_unavailable(statuses[writer_name])
            writer_name = report.FALLBACK
op = OperatingPoint.of(preset)

# no type filter: extension-less DICOM (PACS exports), .jfif and a wrong file (gets translated advice) reach the loader
uploads = st.file_uploader(tr("chest.upload"), accept_multiple_files=True, help=tr("chest.upload_help"), key="chest_upload") or []
samples = sample_batch("chest", "chest_sample") if list_samples("chest") else []
files = [*samples, *((u.name, u.getvalue()) for u in uploads)]
cases = state.open(files, st.session_state.get("chest_open"))  # the open file: never dropped by the memory budget
if not cases:
    st.info(tr("chest.empty"))
    st.stop()
started = time.perf_counter()  # server-side time of a run that analyses a new film (GET /metrics)
with waiting_notice() as on_wait:  # shown only while this person's films wait for a free analysis slot
    # every analysed image is audited, opened or not; a new film is screened in its analysis's slot (it queues once)
    results = state.analyse(cases, model, op, on_wait=on_wait, screening_model=screening_model)

# --- batch summary ----------------------------------------------------------------------------
st.subheader(tr("chest.batch.title", n=len(cases)))
rows = [batch.summary_row(i, c, r, op, LANG) for i, (c, r) in enumerate(zip(cases, results, strict=True))]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
if any(c.dropped for c in cases):
    st.warning(tr("chest.memory.dropped", n=sum(c.dropped for c in cases), budget=state.store.budget.limit // MIB),
               icon=":material/memory:")
selected = st.selectbox(tr("chest.open"), range(len(cases)), format_func=lambda i: f"{i + 1}. {cases[i].name}", key="chest_open")
case, result = cases[int(selected)], results[int(selected)]

# --- one image --------------------------------------------------------------------------------
if state.revive(case):  # a dropped file opened again: decoded again (pinned from now on), shown in the next run
    st.rerun()
if case.dropped:
    st.stop()
if case.error is not None:
    show_user_error(case.error)
    st.stop()
assert case.compact is not None and result is not None
if case.compact.reduced:
    height, width = case.compact.original_size
    st.caption(tr("chest.memory.reduced", width=width, height=height, kept=max(case.compact.pixels.shape[:2])))
burned = case.compact.values["meta"].get("burned_in_annotation") is True
if burned:
    st.warning(tr("chest.burned_in.warning"), icon=":material/badge:")

gate = batch.gate_of(result)
st.subheader(tr("chest.gate.title"))
if not gate.issues:
    st.success(tr("chest.gate.ok"), icon=":material/check_circle:")
for issue in gate.issues:
    (st.error if issue.severity == "refuse" and not gate.overridden else st.warning)(issue.message(LANG), icon=":material/warning:")
for note in batch.applied_notes(result):
    st.info(tr(note))

if not isinstance(result, ChestAnalysis) or not result.analysed:  # no model (gate only), or refused
    if isinstance(result, ChestAnalysis):
        st.error(tr("chest.gate.refused"))
        fix = batch.next_fix(gate, choice := state.choice(case))
        if fix == "unavailable":
            st.caption(tr("chest.gate.override_unavailable"))
        elif fix and st.button(tr(f"chest.gate.{fix}_button", correction=gate.rotation), key=f"{fix}_{case.digest[:12]}"):
            batch.apply_fix(fix, gate, choice)
            st.rerun()
    st.image(case.compact.to_uint8(), caption=tr("chest.original"), width="stretch")
    st.stop()

pred = result.prediction
assert pred is not None
if pred.model.is_test_model:
    st.error(tr("chest.test_model"), icon=":material/science:")
st.caption(tr("chest.analysed_by", title=pred.model.title_in(LANG), version=pred.model.version, method=tr(f"chest.cam_method.{pred.cam_method}")))

# heatmaps: every finding, on the full-resolution image
finding_of = {f.index: f for f in result.findings}
shown = st.selectbox(tr("chest.heatmap.finding"), list(finding_of), key=f"heat_{case.digest[:12]}", help=tr("chest.heatmap.help"),
                     format_func=lambda i, _l=LANG: f"{localized_name(finding_of[i].label, _l)} ({finding_of[i].probability:.2f})")
finding = finding_of[int(shown)]
film, blended = batch.heatmap_views(result, finding.index, opacity, DISPLAY_MAX_PX)  # only absurdly large films are reduced
name = localized_name(finding.label, LANG)
col_a, col_b = st.columns(2)
col_a.image(film, caption=tr("chest.original"), width="stretch")
col_b.image(blended, caption=tr("chest.heatmap.caption", name=name, score=f"{finding.probability:.2f}"), width="stretch")
if pred.cam_peak[finding.index] <= 0:
    st.caption(tr("chest.heatmap.empty", name=name))
if not finding.reported:
    st.caption(tr("chest.status.unreliable_heatmap", name=name))

# findings, sorted by probability, with bars and the uncertain band
st.subheader(tr("chest.findings.title"))
st.caption(tr("chest.band_help", op=f"{op.threshold:.2f}", lo=f"{op.threshold - op.band:.2f}", hi=f"{op.threshold + op.band:.2f}"))
rows, prob = report.findings_table(result, op, LANG), tr("chest.col.probability")
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=36 * (len(rows) + 1) + 4,
             column_config={prob: st.column_config.ProgressColumn(prob, min_value=0.0, max_value=1.0, format="%.2f")})
unreliable = [localized_name(f.label, LANG) for f in result.findings if not f.reported]
if unreliable:
    st.caption(tr("chest.status.unreliable_list", names=", ".join(unreliable)), help=tr("chest.status.unreliable_reason"))

# pneumonia screening (a second head of the same fine-tuned network), and what is not assessed
st.subheader(tr("chest.screening.title"))
screening = state.screening(case, result, screening_model, op)
if screening is None:
    st.caption(tr("chest.screening.missing"))
else:
    st.metric(tr("chest.screening.title"), tr("chest.screening.value", p=f"{screening.probability:.2f}", status=tr(f"chest.status.{screening.status}")),
              help=tr("chest.screening.help", figures=screening.figures_text() or "–"), label_visibility="collapsed")
st.caption(tr("chest.screening.not_assessed"))

# written report (written once per image / operating point / language / writer; core says whose text it is)
st.subheader(tr("chest.report.title"))
st.caption(tr("chest.report.machine"))
report_key = batch.report_key(case, result, op, LANG, writer_name)
if report_key not in state.reports:
    llm = statuses[writer_name].kind == "llm"  # an LLM's draft shows in a box labelled "not yet checked"
    state.reports[report_key] = stream_report(writer_name, llm, partial(report.write, result, op, LANG, writer_name))
written = state.reports[report_key]
show_report(written)

# export
st.subheader(tr("chest.export.title"))
stem = f"chest-{case.digest[:12]}"
# pixels with patient details burned in go into the PDF only when the user confirms (default: left out)
include_images = st.checkbox(tr("chest.burned_in.include"), value=False, key=f"chest_burned_{case.digest[:12]}") if burned else True
col_pdf, col_json = st.columns(2)
with col_pdf:  # built only when the button is pressed (0.3-0.8 s): moving the opacity slider stays instant
    if PDF_READY:
        pdf = partial(cached, state.exports, (*report_key, round(opacity, 2), include_images),
                      partial(to_pdf, result, op, LANG, written.text, opacity=opacity, writer=written.writer_used,
                              screening=screening, include_images=include_images))
        st.download_button(tr("export.download_pdf"), pdf, file_name=f"{stem}.pdf", mime="application/pdf", key="chest_pdf")
    else:
        st.error(tr("export.failed", detail="font"))
with col_json:
    st.download_button(tr("export.download_json"), to_json(result, op, LANG, written.text, written.writer_used, screening),
                       file_name=f"{stem}.json", mime="application/json", key="chest_json")

audit_downloads("chest")

_share(result, op, case.digest)
if state.fresh:
    analysis_timings().add(time.perf_counter() - started)
