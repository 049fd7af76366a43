"""Scalp self-check: photo (upload or camera) -> quality gate -> questionnaire -> six severities with
the pixels behind each measurement -> care plan -> optional local history and sharing.
Thin page: widgets -> core.scalp -> display. The photo stays in this session's memory."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from core import audit
from core.errors import UserError
from core.i18n import t
from core.imaging.compact import CompactImage, load_compact
from core.llm import writer_names
from core.llm.careplan import care_plan_facts
from core.llm.guarded_writer import GuardedOutcome
from core.llm.writer import writer_status
from core.models.registry import installed_path
from core.samples import list_samples
from core.scalp import (
    CONDITIONS,
    MODEL_CARD,
    MULTI,
    SECTIONS,
    SINGLE,
    HistoryEntry,
    HistoryStore,
    PhotoQualityError,
    Questionnaire,
    ScalpResult,
    analyse,
    check_quality,
    compare,
    render_item,
)
from core.scalp.history import UNKNOWN_VERSION, new_code, normalise_code
from core.scalp.measure import ANALYSIS_LONG_SIDE
from core.scalp.overlay import OVERLAYS, cam_overlay, overlay
from core.scalp.questionnaire import REQUIRED_SINGLE
from core.scalp.severity import NOTE_NO_SCALE, Evidence
from ui.common import lang, show_user_error, tr
from ui.demo import sample_picker
from ui.llm import run_guarded

S = st.session_state


def _fmt(prefix: str) -> Callable[[Any], str]:
    """Option labels in the language of this run."""
    code = lang()
    return lambda value: t(prefix + str(value), code)


@st.cache_resource(show_spinner=False)
def _cached_model(path: str, stamp: float) -> Any:
    """Load once per file version (``stamp`` = its mtime, part of the cache key)."""
    from core.scalp.model import load_checkpoint  # imports torch: only when a model is installed

    return load_checkpoint(Path(path))


def get_model() -> Any:
    """The installed trained model, or None (the usual case: it is not shipped)."""
    path = installed_path(MODEL_CARD)
    if path is None:
        return None
    try:
        return _cached_model(str(path), path.stat().st_mtime)
    except (OSError, ValueError, RuntimeError):
        st.warning(tr("scalp.model.unreadable"), icon=":material/warning:")
        return None


@st.cache_data(show_spinner=False, max_entries=2)
def _demo_photo() -> bytes:
    from core.scalp.synthetic import encode_jpeg, make_phantom

    return encode_jpeg(make_phantom(seed=7, hairs=22, pustules=1, follicle_a_star=24.0).rgb)


def _photo_input() -> tuple[str, bytes] | None:
    tab_upload, tab_camera, tab_demo = st.tabs([tr("scalp.input.tab_upload"), tr("scalp.input.tab_camera"),
                                                tr("scalp.input.tab_demo")])
    with tab_upload:
        # no type filter: a wrong file (a PDF) must reach the loader and get translated advice,
        # not Streamlit's untranslated extension error
        upload = st.file_uploader(tr("scalp.input.upload"), key="scalp_upload", help=tr("scalp.input.upload_help"))
    with tab_camera:
        shot = st.camera_input(tr("scalp.input.camera"), key="scalp_camera")
    with tab_demo:
        st.caption(tr("scalp.input.demo_help"))
        if st.button(tr("scalp.input.demo"), key="scalp_demo_button"):
            S["scalp_demo"] = ("synthetic-scalp.jpg", _demo_photo())
        if list_samples("scalp"):  # real photos a presenter placed in the samples folder (scalp/*)
            sample_picker("scalp", "scalp_sample")
            if S.get("scalp_sample_button") and S.get("scalp_sample"):  # loaded just now
                S["scalp_demo"] = S["scalp_sample"]
    with st.expander(tr("scalp.input.tips_title")):
        st.markdown(tr("scalp.input.tips"))
    if upload is not None:
        return upload.name, upload.getvalue()
    if shot is not None:
        return "camera.jpg", shot.getvalue()
    return S.get("scalp_demo")


def _load(name: str, data: bytes) -> CompactImage | None:
    """Decode once per photo (a 12-MP JPEG takes ~0.2 s); the session keeps only the analysis-size
    copy (long side 1024 px, float16), not the full-resolution float32 pixels."""
    digest = hashlib.sha256(data).hexdigest()
    cached = S.get("scalp_image")
    if cached is not None and cached[0] == digest:
        return cached[1]
    try:
        image = load_compact(data, name, max_side=ANALYSIS_LONG_SIDE, precise=True)
    except UserError as err:
        show_user_error(err)
        return None
    S["scalp_image"] = (digest, image)
    return image


def _questionnaire() -> Questionnaire | None:
    """The form; returns validated answers on submit (None otherwise or when invalid)."""
    with st.form(key="scalp_form"):
        st.subheader(tr("scalp.q.title"))
        st.caption(tr("scalp.q.help"))
        values: dict[str, Any] = {}
        names = list(SINGLE)
        # rows of two questions: on a phone the columns stack row by row, so the reading order stays
        # the form's order (two whole columns would stack as one column after the other)
        for start in range(0, len(names), 2):
            for col, name in zip(st.columns(2), names[start:start + 2], strict=False):
                required = name in REQUIRED_SINGLE
                values[name] = col.selectbox(
                    tr(f"scalp.q.{name}"), options=list(SINGLE[name]), index=None if required else _default_index(name),
                    format_func=_fmt(f"scalp.q.{name}."), placeholder=tr("scalp.q.choose"), key=f"scalp_q_{name}",
                )
        for name, options in MULTI.items():
            values[name] = st.multiselect(tr(f"scalp.q.{name}"), options=list(options),
                                          format_func=_fmt(f"scalp.q.{name}."), key=f"scalp_q_{name}",
                                          placeholder=tr("scalp.q.choose_many"))
        values["field_of_view_mm"] = st.number_input(
            tr("scalp.q.field_of_view_mm"), min_value=0.0, max_value=100.0, value=0.0, step=0.5,
            help=tr("scalp.q.field_of_view_help"), key="scalp_q_fov",
        )
        submitted = st.form_submit_button(tr("scalp.q.submit"), type="primary")
    if not submitted:
        return None
    try:
        return Questionnaire.from_form(values)
    except UserError as err:
        show_user_error(err)
        return None


def _default_index(name: str) -> int:
    defaults = {"family_history": "unknown", "stress": "medium", "sleep": "6to8", "smoking": "no"}
    return list(SINGLE[name]).index(defaults[name]) if name in defaults else 0


def _grade_label(grade: int | None) -> str:
    return tr("scalp.grade.none") if grade is None else f"{grade} · {tr(f'scalp.grade.{grade}')}"


def _evidence_text(e: Evidence) -> str:
    if e.unit == "share":
        value = f"{e.value * 100:.2f}%"
        cuts = " / ".join(f"{c * 100:g}%" for c in e.cuts)
    elif e.unit == "count":
        value, cuts = f"{e.value:.0f}", " / ".join(f"{c:g}" for c in e.cuts)
    else:
        value, cuts = f"{e.value:.1f}", " / ".join(f"{c:g}" for c in e.cuts)
    sign = "≥" if e.higher_is_worse else "<"
    return tr("scalp.evidence.line", name=tr(f"scalp.measure.{e.key}"), value=value, sign=sign, cuts=cuts,
              grade=e.grade)


def _severities(result: ScalpResult) -> None:
    st.subheader(tr("scalp.result.title"))
    if result.source == "model":
        st.success(tr("scalp.model.used", name=result.model_name or MODEL_CARD, version=result.model_version or "-"),
                   icon=":material/neurology:")
    else:
        st.warning(tr("scalp.heuristic.notice"), icon=":material/straighten:")
    _assessed(result)
    cols = st.columns(3)
    for i, g in enumerate(result.grades):
        with cols[i % 3].container(border=True):
            no_scale = g.note_key == NOTE_NO_SCALE
            st.metric(tr(f"scalp.condition.{g.condition}"),
                      tr("scalp.grade.not_assessed") if no_scale else _grade_label(g.final_grade))
            source = tr("scalp.source.model") if g.source == "model" else tr("scalp.source.heuristic")
            image_grade = tr("scalp.grade.not_assessed") if no_scale else _grade_label(g.image_grade)
            st.caption(tr("scalp.result.image_grade", grade=image_grade, source=source))
            if g.adjustment is not None:
                st.caption(tr("scalp.result.adjusted", reason=tr(g.adjustment.reason_key)))
            if g.note_key:
                st.caption(tr(g.note_key))
            if g.probabilities is not None:
                st.caption(tr("scalp.result.probabilities",
                              values=" / ".join(f"{p * 100:.0f}%" for p in g.probabilities)))
            for e in g.evidence:
                st.caption(_evidence_text(e))
    st.caption(tr("scalp.result.not_diagnosis"))


def _assessed(result: ScalpResult) -> None:
    """Say plainly which signs the photo graded and which it did not (and that a missing grade is no "good")."""
    missing = result.not_assessed()
    graded = [c for c in CONDITIONS if c not in missing]
    names = ", ".join(tr(f"scalp.condition.{c}") for c in graded)
    st.caption(tr("scalp.result.assessed", conditions=names))
    if missing:
        st.info(tr("scalp.result.not_assessed", conditions=", ".join(tr(f"scalp.condition.{c}") for c in missing)),
                icon=":material/help:")


def _measurements(result: ScalpResult) -> None:
    st.subheader(tr("scalp.overlay.title"))
    st.caption(tr("scalp.overlay.help"))
    analysed = result.analysed
    if analysed is None:
        return
    names = list(OVERLAYS) + (["model"] if result.cams else [])
    tabs = st.tabs([tr(f"scalp.overlay.{n}") for n in names])
    m = result.measurements
    for tab, name in zip(tabs, names, strict=True):
        with tab:
            if name == "model" and result.cams:
                choice = st.selectbox(tr("scalp.overlay.model_condition"), list(CONDITIONS),
                                      format_func=_fmt("scalp.condition."), key="scalp_cam_choice")
                st.image(cam_overlay(analysed.image, result.cams[choice]), caption=tr("scalp.overlay.model_caption"))
                continue
            st.image(overlay(analysed, name), caption=tr(f"scalp.overlay.{name}_caption"))
            st.caption(_overlay_numbers(name, m))
    with st.expander(tr("scalp.measure.title")):
        h, w = m.analysed_shape
        st.markdown(tr("scalp.measure.table", h=h, w=w, scale=f"{m.scale:.3f}"))
        rows = {
            tr("scalp.measure.hair_count"): f"{m.hair_count}",
            tr("scalp.measure.hair_width_px"): "-" if m.hair_width_px is None else
            f"{m.hair_width_px:.1f} px ({(m.hair_width_frac or 0) * 100:.2f}%)",
            tr("scalp.measure.hair_coverage"): f"{m.hair_coverage * 100:.1f}%",
            tr("scalp.measure.a_star_between"): f"{m.a_star_between:.1f}",
            tr("scalp.measure.a_star_follicular"): "-" if m.a_star_follicular is None else f"{m.a_star_follicular:.1f}",
            tr("scalp.measure.shine_share"): f"{m.shine_share * 100:.2f}%",
            tr("scalp.measure.fine_scale_share"): f"{m.fine_scale_share * 100:.2f}%",
            tr("scalp.measure.dandruff_share"): f"{m.dandruff_share * 100:.2f}%",
            tr("scalp.measure.pustule_count"): f"{m.pustule_count}",
        }
        if m.hair_density_per_cm2 is not None:
            rows[tr("scalp.measure.hair_density_per_cm2")] = f"{m.hair_density_per_cm2:.0f}"
            rows[tr("scalp.measure.hair_width_um")] = "-" if m.hair_width_um is None else f"{m.hair_width_um:.0f} µm"
        st.table({tr("scalp.measure.col_name"): list(rows), tr("scalp.measure.col_value"): list(rows.values())})
        if m.field_of_view_mm is None:
            st.caption(tr("scalp.measure.no_scale"))


def _overlay_numbers(name: str, m: Any) -> str:
    if name == "hair":
        width = "-" if m.hair_width_px is None else f"{m.hair_width_px:.1f}"
        return tr("scalp.overlay.hair_numbers", count=m.hair_count, width=width,
                  thin=f"{(m.thin_hair_share or 0) * 100:.0f}")
    if name == "redness":
        fol = "-" if m.a_star_follicular is None else f"{m.a_star_follicular:.1f}"
        return tr("scalp.overlay.redness_numbers", between=f"{m.a_star_between:.1f}", around=fol,
                  share=f"{m.erythema_share * 100:.1f}")
    if name == "shine":
        return tr("scalp.overlay.shine_numbers", share=f"{m.shine_share * 100:.2f}")
    if name == "flakes":
        return tr("scalp.overlay.flakes_numbers", fine=f"{m.fine_scale_share * 100:.2f}",
                  large=f"{m.dandruff_share * 100:.2f}", count=m.flake_count)
    return tr("scalp.overlay.pustules_numbers", count=m.pustule_count)


def _plan(result: ScalpResult) -> None:
    st.subheader(tr("scalp.plan.title"))
    st.caption(tr("scalp.plan.source"))
    code = lang()
    for section in SECTIONS:
        items = result.plan.section(section)
        if not items:
            continue
        st.markdown(f"**{tr(f'scalp.plan.section.{section}')}**")
        for item in items:
            text, reason = render_item(item, code)
            st.markdown(f"- {text}")
            st.caption(tr("scalp.plan.why", reason=reason, rule=item.rule_id))


def _personal_plan(result: ScalpResult) -> None:
    """Optional (off by default): a language model rephrases the plan; shown only once checked."""
    if not st.toggle(tr("llm.ui.plan_toggle"), key="scalp_llm_on", help=tr("llm.ui.plan_toggle_help")):
        return
    answers = S.get("scalp_answers")
    statuses = [writer_status(n) for n in writer_names() if n != "structured"]
    statuses = [s for s in statuses if s.kind == "llm" and "careplan" in s.handles]
    ready = [s.name for s in statuses if s.available]
    if not ready or not isinstance(answers, Questionnaire):
        st.info(tr("llm.ui.no_llm"))
        for status in statuses:
            reason = status.reason.message(lang()) if status.reason else ""
            st.caption(tr("llm.ui.unavailable", title=tr(f"llm.writer.{status.name}"), reason=reason))
            if status.command:
                st.code(status.command, language="bash")
        return
    name = st.selectbox(tr("llm.ui.plan_writer"), ready, format_func=_fmt("llm.writer."), key="scalp_llm_writer")
    key = (result.created, lang(), name)
    outcomes: dict[Any, GuardedOutcome] = S.setdefault("scalp_llm_outcomes", {})
    if key not in outcomes and st.button(tr("llm.ui.plan_run"), key="scalp_llm_run"):
        facts = care_plan_facts(result.plan, result.grades, answers, result.measurements.pustule_count)
        outcome = run_guarded(name, facts)
        outcomes.clear()  # one personalised plan per session is enough
        outcomes[key] = outcome
    outcome = outcomes.get(key)
    if outcome is None:
        return
    st.markdown(f"**{tr('llm.ui.plan_title')}**")
    if outcome.checked:
        st.info(tr("llm.ui.plan_machine", title=tr(f"llm.writer.{outcome.writer}")), icon=":material/smart_toy:")
        st.markdown(outcome.text.replace("\n", "  \n"))
    else:
        st.warning(outcome.note(lang()) or "", icon=":material/shield:")  # the knowledge-base plan above stays the plan
    if outcome.time_limited:
        st.warning(tr("llm.ui.time_limit", seconds=f"{outcome.max_time or 0:.0f}"), icon=":material/timer:")
    if outcome.checked and outcome.length_limited:
        st.warning(tr("llm.ui.length_limit"), icon=":material/short_text:")


def _method_label(entry: HistoryEntry) -> str:
    version = tr("scalp.history.version_unknown") if entry.version == UNKNOWN_VERSION else entry.version
    if entry.source == "model":
        return tr("scalp.history.method_model", name=entry.method, version=version)
    return tr("scalp.history.method_heuristic", version=version)


def _make_code() -> None:
    S["scalp_history_new_code"] = S["scalp_history_code"] = new_code()
    S.pop("scalp_history_confirm", None)


def _history_code() -> str:
    """The code input, with a button that makes a strong code for the user to keep."""
    st.button(tr("scalp.history.new"), key="scalp_history_new", on_click=_make_code)
    code = st.text_input(tr("scalp.history.code"), type="password", key="scalp_history_code",
                         help=tr("scalp.history.code_help"))
    fresh = S.get("scalp_history_new_code")
    if fresh and code == fresh:
        st.info(tr("scalp.history.new_code"), icon=":material/key:")
        st.code(fresh, language=None)
    return code


def _code_marker(code: str) -> str:
    """The same marker for every spelling of one code (case, spaces and dashes do not count)."""
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def _arm_delete(code: str) -> None:
    S["scalp_history_confirm"] = _code_marker(code)


def _cancel_delete() -> None:
    S.pop("scalp_history_confirm", None)


def _confirm_delete(code: str) -> None:
    S.pop("scalp_history_confirm", None)
    S.pop("scalp_history_saved", None)  # this result may be saved again afterwards
    try:
        S["scalp_history_deleted"] = HistoryStore().delete(code)
    except (UserError, OSError):
        S["scalp_history_deleted"] = None
        S["scalp_history_failed"] = True


def _history_delete(code: str, n: int) -> None:
    """Deleting asks first: "Delete my history" arms it, "Yes, delete" deletes, "Cancel" disarms."""
    st.button(tr("scalp.history.delete"), key="scalp_history_delete", disabled=n == 0,
              on_click=_arm_delete, args=(code,))
    armed = S.get("scalp_history_confirm")
    if armed is None or n == 0:
        return
    if armed != _code_marker(code):  # the code changed since: ask again
        S.pop("scalp_history_confirm", None)
        return
    st.warning(tr("scalp.history.delete_confirm", n=n), icon=":material/delete_forever:")
    yes, no = st.columns(2)
    yes.button(tr("scalp.history.delete_yes"), key="scalp_history_delete_yes", type="primary",
               on_click=_confirm_delete, args=(code,))
    no.button(tr("scalp.history.delete_cancel"), key="scalp_history_delete_no", on_click=_cancel_delete)


def _history_table(entries: list[HistoryEntry]) -> None:
    st.table({
        tr("scalp.history.col_time"): [e.time.replace("T", " ")[:16] for e in entries],
        tr("scalp.history.col_method"): [_method_label(e) for e in entries],
        **{tr(f"scalp.condition.{c}"): [_grade_label(e.final_grades.get(c)) for e in entries] for c in CONDITIONS},
    })
    comparison = compare(entries)
    latest = comparison.latest
    if latest is None or len(entries) < 2:
        return
    for skipped in comparison.skipped[:1]:  # the check just before, graded another way
        st.caption(tr("scalp.history.not_compared_method", time=skipped.time.replace("T", " ")[:16],
                      before=_method_label(skipped), after=_method_label(latest)))
    if comparison.previous is None:
        st.caption(tr("scalp.history.no_same_method", method=_method_label(latest)))
        return
    st.caption(tr("scalp.history.compared_with", time=comparison.previous.time.replace("T", " ")[:16],
                  method=_method_label(latest)))
    moved = False
    for change in comparison.changes:
        name = tr(f"scalp.condition.{change.condition}")
        if change.reason_key:
            st.caption(tr(change.reason_key, condition=name))
        elif change.delta:
            moved = True
            key = "scalp.history.worse" if change.delta > 0 else "scalp.history.better"
            st.caption(tr(key, condition=name, before=change.previous, after=change.latest))
    if not moved:
        st.caption(tr("scalp.history.unchanged"))


def _history(result: ScalpResult) -> None:
    st.subheader(tr("scalp.history.title"))
    st.caption(tr("scalp.history.help"))
    if not st.toggle(tr("scalp.history.opt_in"), key="scalp_history_on"):
        return
    store = HistoryStore()
    code = _history_code()
    deleted = S.pop("scalp_history_deleted", None)
    if deleted is not None:
        st.info(tr("scalp.history.deleted", n=deleted))
    if S.pop("scalp_history_failed", False):
        st.error(tr("scalp.history.io_error"))
    if not code:
        return
    try:
        entries = store.entries(code)  # checks the code (HistoryError when too weak)
        left, right = st.columns(2)
        with left:
            if st.button(tr("scalp.history.save"), key="scalp_history_save"):
                saved = S.setdefault("scalp_history_saved", set())
                marker = (_code_marker(code), result.created)
                if marker not in saved:
                    entries = store.add(code, result.history_entry())
                    saved.add(marker)
                st.success(tr("scalp.history.saved"))
        with right:
            _history_delete(code, len(entries))
        if entries:
            _history_table(entries)
    except UserError as err:
        show_user_error(err)
    except OSError:
        st.error(tr("scalp.history.io_error"))


def _share(result: ScalpResult) -> None:
    st.subheader(tr("scalp.share.title"))
    try:
        from ui.share import share_to_board
    except ImportError:  # board not installed in this build
        st.caption(tr("scalp.share.unavailable"))
        return
    share_to_board("scalp", result.share_summary(lang()), key="scalp_share")


def _audit(result: ScalpResult | None, sha: str, issues: list[str]) -> None:
    seen = S.setdefault("scalp_audited", set())
    key = (sha, result.created if result else "blocked")
    if key in seen:
        return
    fields: dict[str, Any] = {"feature": "scalp", "input_sha256": sha, "gate_decision": "ok" if result else "blocked",
                              "gate_issues": issues}
    if result is not None:
        fields["model_name"] = result.model_name or result.thresholds_version
        fields["model_version"] = result.model_version or result.thresholds_version
        fields["n_positive"] = sum(1 for g in result.grades if (g.final_grade or 0) >= 2)
    try:
        audit.record(fields)
        seen.add(key)
    except (OSError, audit.AuditError):
        pass


# --- page ------------------------------------------------------------------------------------------
st.title(tr("app.page.scalp"))
st.caption(tr("scalp.intro"))
model = get_model()
if model is None:
    st.info(tr("scalp.model.not_installed"), icon=":material/straighten:")
    with st.expander(tr("scalp.model.how_title")):
        st.markdown(tr("scalp.model.how"))
        st.code("python -m core.scalp.train fit --data /path/to/aihub-scalp --install", language="bash")

st.subheader(tr("scalp.input.title"))
photo = _photo_input()
image: CompactImage | None = None
small: np.ndarray | None = None
if photo is not None:
    image = _load(*photo)
if image is not None:
    if S.get("scalp_sha") != image.sha256:
        S["scalp_sha"] = image.sha256
        S.pop("scalp_result", None)
    small = image.to_input().rgb()  # the analysis-size float32 copy, rebuilt each run from the kept one
    height, width = image.original_size
    report = check_quality(small, (height, width), image.is_color)
    st.image(np.clip(small * 255.0 + 0.5, 0, 255).astype(np.uint8),
             caption=tr("scalp.input.preview", w=width, h=height), width=360)
    if not report.ok:
        show_user_error(PhotoQualityError(report))
        _audit(None, image.sha256, [i.code for i in report.issues])
    for issue in report.warnings:
        st.warning(tr(issue.key), icon=":material/photo_camera:")
else:
    st.caption(tr("scalp.input.none"))

answers = _questionnaire()
if answers is not None:
    if image is None or small is None:
        st.error(tr("scalp.error.no_photo"), icon=":material/warning:")
    else:
        try:
            with st.spinner(tr("scalp.result.running")):
                result = analyse(small, answers, model=model, is_color=image.is_color,
                                 input_sha256=image.sha256, with_cams=model is not None,
                                 source_shape=image.original_size)
        except PhotoQualityError as err:
            show_user_error(err)
        else:
            S["scalp_result"] = result
            S["scalp_answers"] = answers
            _audit(result, image.sha256, [i.code for i in result.quality.issues])

result = S.get("scalp_result")
if isinstance(result, ScalpResult) and image is not None and result.input_sha256 == image.sha256:
    _severities(result)
    _measurements(result)
    _plan(result)
    _personal_plan(result)
    _history(result)
    _share(result)
    st.caption(tr("scalp.result.footer"))
