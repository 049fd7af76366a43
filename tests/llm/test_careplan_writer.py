"""Care-plan facts, the structured care-plan writer (the knowledge-base plan as text), the care-plan
prompt, and LLM writers on care plans (fake LLM; the tiny Llama lives in test_hf.py)."""

from __future__ import annotations

import pytest

from core.i18n import t
from core.llm import StructuredWriter, write_text
from core.llm.careplan import CarePlanFacts, care_plan_facts
from core.llm.guarded_writer import GuardedWriter
from core.llm.prompts import SEED_FIELDS, care_plan_prompt
from core.scalp import CONDITIONS, Questionnaire, build_plan, render_item

ANSWERS = Questionnaire.from_form({
    "age_group": "40s", "gender": "female", "shampoo_frequency": "every_3plus_days", "perm_cycle": "never",
    "dye_cycle": "under_3_months", "hair_state": ["oily", "itchy"], "products_used": ["hair_oil", "shampoo"],
    "care_wishes": ["oil_control"], "purchase_considerations": ["mildness", "price"],
})
GRADES = {"fine_scale": 1, "excess_sebum": 2, "interfollicular_erythema": 0, "follicular_erythema_pustules": 0,
          "dandruff": 0, "hair_loss": None}


@pytest.fixture(scope="module")
def facts() -> CarePlanFacts:
    return care_plan_facts(build_plan(GRADES, ANSWERS), GRADES, ANSWERS)


def test_facts_keep_the_six_grades_in_order_and_are_frozen(facts: CarePlanFacts) -> None:
    assert [c for c, _ in facts.grades] == list(CONDITIONS)
    assert facts.grade_map() == GRADES and facts.kind == "careplan"
    with pytest.raises(AttributeError):
        facts.pustules = 3  # type: ignore[misc]
    with pytest.raises(ValueError, match="unknown scalp conditions"):
        care_plan_facts(facts.plan, {"acne": 2}, ANSWERS)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_structured_writer_renders_the_knowledge_base_plan(facts: CarePlanFacts, lang: str) -> None:
    chunks = list(StructuredWriter().write(facts, lang))
    text = "".join(chunks)
    assert len(chunks) > len(facts.plan.items)
    for item in facts.plan.items:  # every rule's advice and reason, nothing dropped
        advice, reason = render_item(item, lang)
        assert advice in text and reason in text
    assert t("scalp.plan.section.doctor", lang) in text and t("scalp.plan.section.washing", lang) in text
    assert t("llm.careplan.grade", lang, name=t("scalp.condition.excess_sebum", lang), grade=2,
             word=t("scalp.grade.2", lang)) in text
    assert t("llm.careplan.grade_none", lang, name=t("scalp.condition.hair_loss", lang)) in text
    assert facts.plan.version in text


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_prompt_states_the_seed_fields_grades_and_plan(facts: CarePlanFacts, lang: str) -> None:
    prompt = care_plan_prompt(facts, lang)
    text = prompt.text
    for _seed, field_id in SEED_FIELDS:
        assert t(f"scalp.q.{field_id}", lang) in text
    assert t("scalp.q.age_group.40s", lang) in text and t("scalp.q.dye_cycle.under_3_months", lang) in text
    assert t("scalp.q.products_used.hair_oil", lang) in text and t("scalp.q.purchase_considerations.price", lang) in text
    for item in facts.plan.items:
        assert render_item(item, lang)[0] in text
    assert t("scalp.condition.excess_sebum", lang) in text
    assert ("한국어" in text) == (lang == "ko")
    heading = {"ko": "### 맞춤 관리 계획", "en": "### Personal care plan"}[lang]
    assert text.endswith(heading + "\n") and prompt.prefix == ""  # ends on the answer's heading


def test_an_llm_writer_rephrases_a_care_plan_through_the_guard(facts: CarePlanFacts) -> None:
    class Rephraser:
        name, kind, last_stop, max_time = "fake", "llm", "eos", 10.0

        def available(self) -> bool:
            return True

        def write(self, f, lang):  # noqa: ANN001, ANN202
            assert isinstance(f, CarePlanFacts)
            yield "Wash daily with a mild shampoo. "
            yield "See a dermatologist if it gets worse."

    checked: list[tuple[str, dict]] = []

    def check(text, f, lang):  # noqa: ANN001, ANN202
        checked.append((text, f.grade_map()))

        class R:
            ok = True

        return R()

    out = GuardedWriter(Rephraser(), check=check).run(facts, "en")
    assert out.checked and out.text.startswith("Wash daily")
    assert checked == [(out.text, GRADES)]

    out = GuardedWriter(Rephraser(), check=lambda *_: type("R", (), {"ok": False, "note": lambda s, lang: ""})()).run(facts, "en")
    assert out.source == "structured" and out.text == write_text(StructuredWriter(), facts, "en")


def test_the_hf_writer_builds_the_care_plan_prompt(facts: CarePlanFacts) -> None:
    from core.llm.hf import build_prompt

    assert build_prompt(facts, "ko").text == care_plan_prompt(facts, "ko").text
    with pytest.raises(TypeError):
        build_prompt(object(), "en")  # type: ignore[arg-type]


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_with_the_real_guard_the_plan_text_passes_and_a_made_up_plan_is_replaced(facts: CarePlanFacts, lang: str) -> None:
    from core.llm.careplan_guard import check_care_plan

    structured = write_text(StructuredWriter(), facts, lang)
    assert check_care_plan(structured, facts.grade_map(), lang).ok  # the fallback itself is consistent

    class MadeUp:
        name, kind, last_stop = "fake", "llm", "eos"

        def available(self) -> bool:
            return True

        def write(self, f, lang):  # noqa: ANN001, ANN202
            yield {"en": "Your photo shows severe dandruff (grade 3) and severe hair loss.",
                   "ko": "사진에서 비듬이 중증(3단계)이고 탈모도 중증입니다."}[lang]

    out = GuardedWriter(MadeUp()).run(facts, lang)
    assert out.source == "structured" and out.text == structured and out.guard is not None
    assert not out.guard.ok and out.note(lang)
