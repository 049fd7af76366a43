"""Scalp page results: the six severities with the numbers behind them, the overlays and the
measurement table, the care plan and the optional language-model rewording of it."""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.llm import writer_names
from core.llm.careplan import care_plan_facts
from core.llm.guarded_writer import GuardedOutcome
from core.llm.writer import writer_status
from core.scalp import CONDITIONS, MODEL_CARD, SECTIONS, Questionnaire, ScalpResult, render_item
from core.scalp.overlay import OVERLAYS, cam_overlay, overlay
from core.scalp.severity import NOTE_NO_SCALE
from core.scalp.texts import evidence_text, grade_label, measurement_rows, overlay_numbers
from ui.common import lang, tr
from ui.llm import run_guarded
from ui.options import option_labels

S = st.session_state


def _assessed(result: ScalpResult) -> None:
    """Say plainly which signs the photo graded and which it did not (and that a missing grade is no "good")."""
    missing = result.not_assessed()
    graded = [c for c in CONDITIONS if c not in missing]
    st.caption(tr("scalp.result.assessed", conditions=", ".join(tr(f"scalp.condition.{c}") for c in graded)))
    if missing:
        st.info(tr("scalp.result.not_assessed", conditions=", ".join(tr(f"scalp.condition.{c}") for c in missing)),
                icon=":material/help:")


def severities(result: ScalpResult) -> None:
    """One card per condition: final grade, the photo's grade and its source, adjustments, evidence."""
    st.subheader(tr("scalp.result.title"))
    if result.source == "model":
        st.success(tr("scalp.model.used", name=result.model_name or MODEL_CARD, version=result.model_version or "-"),
                   icon=":material/neurology:")
    else:
        st.warning(tr("scalp.heuristic.notice"), icon=":material/straighten:")
    _assessed(result)
    code = lang()
    cols = st.columns(3)
    for i, g in enumerate(result.grades):
        with cols[i % 3].container(border=True):
            no_scale = g.note_key == NOTE_NO_SCALE
            st.metric(tr(f"scalp.condition.{g.condition}"),
                      tr("scalp.grade.not_assessed") if no_scale else grade_label(g.final_grade, code))
            source = tr("scalp.source.model") if g.source == "model" else tr("scalp.source.heuristic")
            image_grade = tr("scalp.grade.not_assessed") if no_scale else grade_label(g.image_grade, code)
            st.caption(tr("scalp.result.image_grade", grade=image_grade, source=source))
            if g.adjustment is not None:
                st.caption(tr("scalp.result.adjusted", reason=tr(g.adjustment.reason_key)))
            if g.note_key:
                st.caption(tr(g.note_key))
            if g.probabilities is not None:
                st.caption(tr("scalp.result.probabilities",
                              values=" / ".join(f"{p * 100:.0f}%" for p in g.probabilities)))
            for e in g.evidence:
                st.caption(evidence_text(e, code))
    st.caption(tr("scalp.result.not_diagnosis"))


def measurements(result: ScalpResult) -> None:
    """The pixels behind each measurement (one tab per overlay, the model's maps) and the table."""
    st.subheader(tr("scalp.overlay.title"))
    st.caption(tr("scalp.overlay.help"))
    analysed = result.analysed
    if analysed is None:
        return
    names = list(OVERLAYS) + (["model"] if result.cams else [])
    m = result.measurements
    for tab, name in zip(st.tabs([tr(f"scalp.overlay.{n}") for n in names]), names, strict=True):
        with tab:
            if name == "model" and result.cams:
                choice = st.selectbox(tr("scalp.overlay.model_condition"), list(CONDITIONS),
                                      format_func=option_labels("scalp.condition."), key="scalp_cam_choice")
                st.image(cam_overlay(analysed.image, result.cams[choice]), caption=tr("scalp.overlay.model_caption"))
                continue
            st.image(overlay(analysed, name), caption=tr(f"scalp.overlay.{name}_caption"))
            st.caption(overlay_numbers(name, m, lang()))
    with st.expander(tr("scalp.measure.title")):
        h, w = m.analysed_shape
        st.markdown(tr("scalp.measure.table", h=h, w=w, scale=f"{m.scale:.3f}"))
        rows = measurement_rows(m, lang())
        st.table({tr("scalp.measure.col_name"): list(rows), tr("scalp.measure.col_value"): list(rows.values())})
        if m.field_of_view_mm is None:
            st.caption(tr("scalp.measure.no_scale"))


def plan(result: ScalpResult) -> None:
    """The knowledge-base care plan, each item with its reason and rule."""
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


def _outcome(outcome: GuardedOutcome) -> None:
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


def personal_plan(result: ScalpResult) -> None:
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
    name = st.selectbox(tr("llm.ui.plan_writer"), ready, format_func=option_labels("llm.writer."),
                        key="scalp_llm_writer")
    key = (result.created, lang(), name)
    outcomes: dict[Any, GuardedOutcome] = S.setdefault("scalp_llm_outcomes", {})
    if key not in outcomes and st.button(tr("llm.ui.plan_run"), key="scalp_llm_run"):
        facts = care_plan_facts(result.plan, result.grades, answers, result.measurements.pustule_count)
        outcome = run_guarded(name, facts)
        outcomes.clear()  # one personalised plan per session is enough
        outcomes[key] = outcome
    if key in outcomes:
        _outcome(outcomes[key])
