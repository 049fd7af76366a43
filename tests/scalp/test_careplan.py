"""The knowledge-base care plan: traceable lines, both languages, never a diagnosis."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest

from core.i18n import catalog, t
from core.scalp.careplan import KNOWLEDGE_BASE, SECTIONS, build_plan, render_item
from core.scalp.questionnaire import MULTI, SINGLE, Questionnaire
from core.scalp.severity import CONDITIONS

BASE: dict[str, Any] = {"age_group": "40s", "gender": "male", "shampoo_frequency": "daily",
                        "perm_cycle": "never", "dye_cycle": "never", "hair_state": ["normal"]}
CALM = dict.fromkeys(CONDITIONS, 0)


def q(**changes: Any) -> Questionnaire:
    return Questionnaire.from_form({**BASE, **changes})


def test_rule_ids_are_unique_and_every_text_exists_in_both_languages() -> None:
    ids = [r.rule_id for r in KNOWLEDGE_BASE]
    assert len(ids) == len(set(ids))
    assert {r.section for r in KNOWLEDGE_BASE} == set(SECTIONS)
    for lang in ("ko", "en"):
        cat = catalog(lang)
        for rid in ids:
            assert f"scalp.plan.{rid}.text" in cat and f"scalp.plan.{rid}.reason" in cat


def test_a_calm_scalp_gets_only_the_basics() -> None:
    plan = build_plan(CALM, q())
    assert plan.rule_ids() == ("W-BASE", "L-RECHECK", "D-ALWAYS")
    assert plan.source == "knowledge_base"


def test_findings_and_answers_pick_their_rules() -> None:
    grades = {**CALM, "dandruff": 2, "excess_sebum": 1, "hair_loss": 3, "follicular_erythema_pustules": 2}
    answers = q(shampoo_frequency="every_3plus_days", products_used=["hair_oil"], stress="high",
                smoking="yes", family_history="yes", purchase_considerations=["price"])
    ids = set(build_plan(grades, answers, pustules=2).rule_ids())
    assert {"W-FREQ", "W-OILY", "P-ANTIDANDRUFF", "P-OIL", "A-OILS", "P-MINOXIDIL", "A-TIGHT", "A-PICK",
            "L-STRESS", "L-SMOKE", "P-ACTIVE", "D-SEVERE", "D-PUSTULE", "D-LOSS", "D-NOIMPROVE"} <= ids
    assert "P-MOIST" not in ids  # sebum seen: no moisturising advice


def test_symptoms_send_to_a_dermatologist_even_with_a_calm_photo() -> None:
    ids = build_plan(CALM, q(symptoms=["patchy_loss"])).rule_ids()
    assert "D-PATCHY" in ids


def test_items_come_in_section_order_with_rendered_reasons() -> None:
    grades = {**CALM, "dandruff": 1, "fine_scale": 2}
    plan = build_plan(grades, q(hair_state=["itchy"]))
    order = [SECTIONS.index(i.section) for i in plan.items]
    assert order == sorted(order)
    for lang in ("ko", "en"):
        for item in plan.items:
            text, reason = render_item(item, lang)
            assert text and reason
            assert not {n for _, n, _, _ in string.Formatter().parse(reason) if n}, reason
            assert not re.search(r"scalp\.[a-z_]+\.", text + reason), (text, reason)
    anti = next(i for i in plan.items if i.rule_id == "P-ANTIDANDRUFF")
    assert t("scalp.condition.dandruff", "ko") in render_item(anti, "ko")[1]
    assert plan.to_dict()["items"][0]["rule_id"] == plan.items[0].rule_id


_CLAIMS = {
    "en": re.compile(r"\byou have\b|\bdiagnosed with\b|\byour diagnosis\b|\bis diagnosed\b", re.I),
    "ko": re.compile(r"진단됩니다|진단입니다|로 진단|질환입니다|환자입니다"),
}


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_no_advice_line_claims_a_diagnosis(lang: str) -> None:
    worst = dict.fromkeys(CONDITIONS, 3)
    answers: dict[str, Any] = {name: options[-1] for name, options in SINGLE.items()}
    answers.update({name: [o for o in options if o != "none"] for name, options in MULTI.items()})
    answers["hair_state"] = ["oily", "dry", "itchy", "flaky", "thinning", "shedding"]
    everything = Questionnaire.from_form(answers)
    plan = build_plan(worst, everything, pustules=3)
    assert len(plan.items) >= 20
    for item in plan.items:
        text, reason = render_item(item, lang)
        assert not _CLAIMS[lang].search(text + " " + reason), (item.rule_id, text)
    assert "D-ALWAYS" in plan.rule_ids()
