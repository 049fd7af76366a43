"""Questionnaire validation (translated errors naming the field) and risk adjustments."""

from __future__ import annotations

from typing import Any

import pytest

from core.i18n import t
from core.scalp.questionnaire import MULTI, SINGLE, Questionnaire, QuestionnaireError, adjustments

BASE: dict[str, Any] = {
    "age_group": "30s", "gender": "female", "shampoo_frequency": "daily", "perm_cycle": "never",
    "dye_cycle": "never", "hair_state": ["normal"],
}


def form(**changes: Any) -> dict[str, Any]:
    return {**BASE, **changes}


def test_a_complete_form_validates_with_defaults_for_optional_fields() -> None:
    q = Questionnaire.from_form(form(products_used=["shampoo", "conditioner"], field_of_view_mm=12))
    assert q.age_group == "30s" and q.hair_state == ("normal",)
    assert q.products_used == ("conditioner", "shampoo")
    assert q.family_history == "unknown" and q.stress == "medium" and q.smoking == "no"
    assert q.field_of_view_mm == 12.0
    assert Questionnaire.from_form(form(field_of_view_mm=0)).field_of_view_mm is None
    assert q.as_dict()["products_used"] == ["conditioner", "shampoo"]


def test_every_field_has_labels_in_both_languages() -> None:
    for lang in ("ko", "en"):
        for name, options in {**SINGLE, **MULTI}.items():
            assert t(f"scalp.q.{name}", lang) != f"scalp.q.{name}"
            for value in options:
                assert t(f"scalp.q.{name}.{value}", lang) != f"scalp.q.{name}.{value}"


@pytest.mark.parametrize("missing", ["age_group", "gender", "shampoo_frequency", "perm_cycle", "dye_cycle"])
def test_a_missing_required_answer_names_the_field_in_the_users_language(missing: str) -> None:
    with pytest.raises(QuestionnaireError) as info:
        Questionnaire.from_form(form(**{missing: None}))
    assert t(f"scalp.q.{missing}", "ko") in info.value.message("ko")
    assert t(f"scalp.q.{missing}", "en") in info.value.message("en")


def test_every_missing_answer_is_named_at_once_in_form_order() -> None:
    """Issue 14: missing answers were flagged one at a time."""
    with pytest.raises(QuestionnaireError) as info:
        Questionnaire.from_form({"gender": "male", "hair_state": []})
    assert info.value.key == "scalp.error.required_many"
    missing = ("age_group", "shampoo_frequency", "perm_cycle", "dye_cycle", "hair_state")
    for lang in ("ko", "en"):
        message = info.value.message(lang)
        positions = [message.index(t(f"scalp.q.{name}", lang)) for name in missing]
        assert positions == sorted(positions), message  # in the order of the form
        assert t("scalp.q.gender", lang) not in message
    assert "5" in info.value.message("ko")
    with pytest.raises(QuestionnaireError) as info:
        Questionnaire.from_form({})
    assert all(t(f"scalp.q.{name}", "en") in info.value.message("en") for name in (*missing, "gender"))


def test_hair_state_is_required_and_options_are_checked() -> None:
    with pytest.raises(QuestionnaireError, match="Your hair and scalp now"):
        Questionnaire.from_form(form(hair_state=[]))
    with pytest.raises(QuestionnaireError):
        Questionnaire.from_form(form(gender="robot"))
    for bad in (["snake_oil"], [{"x": 1}], 5):
        with pytest.raises(QuestionnaireError):
            Questionnaire.from_form(form(products_used=bad))
    with pytest.raises(QuestionnaireError):
        Questionnaire.from_form(form(gender=["female"]))


def test_exclusive_answers_cannot_be_combined() -> None:
    with pytest.raises(QuestionnaireError) as info:
        Questionnaire.from_form(form(products_used=["none", "shampoo"]))
    assert t("scalp.q.products_used.none", "ko") in info.value.message("ko")
    with pytest.raises(QuestionnaireError):
        Questionnaire.from_form(form(hair_state=["normal", "oily"]))


@pytest.mark.parametrize("fov", [1.0, 150, "wide"])
def test_field_of_view_must_be_a_plausible_width(fov: object) -> None:
    with pytest.raises(QuestionnaireError) as info:
        Questionnaire.from_form(form(field_of_view_mm=fov))
    assert "mm" in info.value.message("en")


def test_adjustments_state_a_reason_and_touch_each_condition_once() -> None:
    q = Questionnaire.from_form(form(
        shampoo_frequency="every_3plus_days", hair_state=["oily", "thinning"], family_history="yes",
        dye_cycle="under_3_months", symptoms=["pain_burning"],
    ))
    adj = {a.condition: a for a in adjustments(q)}
    assert adj["excess_sebum"].rule_id == "ADJ-SEBUM-WASH"  # the more specific rule wins
    assert adj["hair_loss"].rule_id == "ADJ-LOSS-FAMILY"
    assert adj["fine_scale"].rule_id == "ADJ-SCALE-CHEM"
    assert adj["follicular_erythema_pustules"].rule_id == "ADJ-PUST-PAIN"
    assert "dandruff" not in adj
    for a in adj.values():
        assert a.delta == 1
        assert t(a.reason_key, "ko") != a.reason_key and t(a.reason_key, "en") != a.reason_key
    assert adjustments(Questionnaire.from_form(form())) == ()


def test_the_form_starts_required_questions_empty_and_optional_ones_at_their_default() -> None:
    from core.scalp.questionnaire import DEFAULTS, REQUIRED_SINGLE, SINGLE, default_index

    assert all(default_index(name) is None for name in REQUIRED_SINGLE)
    assert SINGLE["stress"][default_index("stress")] == "medium" == DEFAULTS["stress"]
    assert SINGLE["family_history"][default_index("family_history")] == "unknown"
    assert all(name in SINGLE and name not in REQUIRED_SINGLE and value in SINGLE[name] for name, value in DEFAULTS.items())
    with pytest.raises(KeyError):
        default_index("no_such_question")
