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


# --- issue 14: every reason agrees with the cards ------------------------------------------------
def _cited(item: Any, grades: dict[str, int | None]) -> list[str]:
    """Conditions an item's reason names (only the parameters its template actually uses)."""
    used = {n for _, n, _, _ in string.Formatter().parse(t(item.reason_key, "en")) if n}
    params = item.params()
    cited = []
    if "condition" in used:
        cited.append(str(params["condition"]).removeprefix("scalp.condition."))
    if "conditions" in used:
        cited.extend(str(c).removeprefix("scalp.condition.") for c in params["conditions"])
    return cited


def test_minoxidil_wanted_while_hair_loss_is_not_assessed_names_the_wish_only() -> None:
    """The issue's case: "탈모: 양호" was given as the reason while the hair-loss card said "평가하지 않음"."""
    grades: dict[str, int | None] = {**CALM, "hair_loss": None}
    plan = build_plan(grades, q(care_wishes=["hair_loss"]))
    [item] = [i for i in plan.items if i.rule_id == "P-MINOXIDIL"]
    for lang in ("ko", "en"):
        _, reason = render_item(item, lang)
        assert reason == t("scalp.plan.P-MINOXIDIL.reason_answer", lang)
        for word in (t("scalp.grade.0", lang), t("scalp.grade.not_assessed", lang), t("scalp.condition.hair_loss", lang) + ":"):
            assert word not in reason, reason
    assert render_item(item, "ko")[1] == "설문에서 탈모 관리를 원함"
    # seen in the photo and wished for: both named, with the card's grade
    seen = build_plan({**CALM, "hair_loss": 2}, q(care_wishes=["hair_loss"]))
    [item] = [i for i in seen.items if i.rule_id == "P-MINOXIDIL"]
    assert render_item(item, "ko")[1] == "사진 소견 — 탈모 중등도, 그리고 탈모 관리를 원함"


def _random_case(rng: Any) -> tuple[dict[str, int | None], Questionnaire, int]:
    grades: dict[str, int | None] = {c: rng.choice([None, 0, 0, 1, 2, 3]) for c in CONDITIONS}
    form: dict[str, Any] = {**BASE}
    for name, options in SINGLE.items():
        form[name] = rng.choice(options)
    for name, options in MULTI.items():
        picks = sorted(set(rng.sample(options, rng.randint(0, 3))))
        exclusive = {"products_used": "none", "recent_triggers": "none", "symptoms": "none", "hair_state": "normal"}.get(name)
        if exclusive in picks and len(picks) > 1:
            picks.remove(exclusive)
        form[name] = picks
    if not form["hair_state"]:
        form["hair_state"] = ["normal"]
    return grades, Questionnaire.from_form(form), rng.choice([0, 0, 1, 3])


def test_no_reason_cites_a_condition_the_cards_do_not_show_as_seen() -> None:
    """Across many grade/answer mixes (grades missing included), a reason names a condition only
    when its card shows it graded mild or worse, and then with that card's grade; no reason shows
    "good", "not assessed" or "not assessable", and no reason template is left unfilled."""
    import random

    rng = random.Random(14)
    grade_words = {lang: [t(f"scalp.grade.{g}", lang) for g in ("0", "1", "2", "3", "none", "not_assessed")]
                   for lang in ("ko", "en")}
    for _ in range(400):
        grades, answers, pustules = _random_case(rng)
        for item in build_plan(grades, answers, pustules).items:
            for condition in _cited(item, grades):
                assert (grades[condition] or 0) >= 1, (item.rule_id, item.reason_key, condition, grades)
            for lang in ("ko", "en"):
                _, reason = render_item(item, lang)
                assert "{" not in reason and "scalp." not in reason, reason
                for bad in (t("scalp.grade.0", lang), t("scalp.grade.none", lang), t("scalp.grade.not_assessed", lang)):
                    assert bad not in reason, (item.rule_id, reason)
                for condition in CONDITIONS:
                    label = t(f"scalp.condition.{condition}", lang)
                    for word in grade_words[lang]:
                        if f"{label} {word}" in reason or f"{label}: {word}" in reason:
                            assert word == t(f"scalp.grade.{grades[condition]}", lang), (item.rule_id, reason, grades)


def test_every_reason_variant_exists_in_both_languages_with_the_same_placeholders() -> None:
    import random

    rng = random.Random(7)
    keys = set()
    for _ in range(400):
        keys |= {i.reason_key for i in build_plan(*_random_case(rng)).items}
    for key in keys:
        assert key in catalog("en") and key in catalog("ko"), key
