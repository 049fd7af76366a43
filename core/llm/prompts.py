"""Prompts for LLM writers, built from facts only (Korean and English).

The packaged Gemma-3-270M is a *base* model, not chat-tuned, so the prompts are completion-style:
a short instruction, a few worked examples (facts -> the structured writer's text for them), then
the facts of this case and the start of the answer. The model continues the text; generation
stops at :data:`STOP` (the marker that separates examples) or at the end-of-sequence token.

:func:`chest_prompt` and :func:`care_plan_prompt` return a :class:`Prompt`: ``text`` is what the
model reads, ``prefix`` is the start of the answer already written into the prompt (a writer
yields it first, so the shown text is complete: ``prefix + continuation``).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.chest.facts import ChestReportFacts, FindingFact
from core.i18n import normalize_lang, t
from core.llm.careplan import CarePlanFacts
from core.llm.structured import (
    StructuredWriter,
    care_plan_lines,
    finding_name,
    grade_phrase,
    location_phrase,
    status_phrase,
)

STOP = "###"
STOP_STRINGS: tuple[str, ...] = (STOP, "<end_of_turn>", "<eos>")

# The prompt scaffolding is in the language of the answer. It is model input, not UI text, so it
# lives here beside the facts it frames rather than in locales/ (the UI never shows it).
_TEXT: dict[str, dict[str, str]] = {
    "en": {
        "chest_intro": (
            "Below are chest X-ray screening reports. Each report is written only from the "
            "classifier output above it: it names only the findings listed there, with their "
            "scores and heatmap locations, under FINDINGS and IMPRESSION, and it adds nothing else."
        ),
        "classifier": "Classifier output",
        "model": "Model: {model} ({version}); operating point {preset} ({op}); uncertain band +/- {band}",
        "assessed": "Findings assessed: {n}",
        "flagged": "Flagged findings:",
        "line": "- {name}: {status}, probability {p}, {certainty}; heatmap: {where}",
        "nowhere": "no location",
        "none": "- none above the uncertain band",
        "others": "All other findings: below the uncertain band.",
        "gate": "Input note: {note}",
        "test": "Test model with random weights: yes",
        "report": "Report",
        "plan_intro": (
            "Below is a scalp self-check: a person's questionnaire answers, six severities measured "
            "from a scalp photo (0 = good, 3 = severe) and a care plan from a curated knowledge base. "
            "Rewrite the care plan as a short, warm, personal plan in English addressed to the "
            "person. Keep every piece of advice and every reason to see a dermatologist; do not add "
            "advice, products, diagnoses or severities that are not given. Do not change any severity."
        ),
        "profile": "Person",
        "not_asked": "(The questionnaire records an age group, not an exact age.)",
        "severities": "Severities (0-3)",
        "plan": "Knowledge-base care plan",
        "personal": "Personal care plan",
        "none_answer": "none given",
    },
    "ko": {
        "chest_intro": (
            "다음은 흉부 X선 선별 판독문입니다. 각 판독문은 바로 위의 분류기 출력만으로 작성되며, "
            "그곳에 나열된 소견만 점수와 히트맵 위치와 함께 소견(FINDINGS)과 결론(IMPRESSION)에 "
            "적고, 그 밖의 내용은 덧붙이지 않습니다."
        ),
        "classifier": "분류기 출력",
        "model": "모델: {model} ({version}); 작동점 {preset} ({op}); 불확실 구간 +/- {band}",
        "assessed": "평가한 소견 수: {n}",
        "flagged": "표시된 소견:",
        "line": "- {name}: {status}, 확률 {p}, {certainty}; 히트맵: {where}",
        "nowhere": "위치 정보 없음",
        "none": "- 불확실 구간 이상인 소견 없음",
        "others": "나머지 소견: 모두 불확실 구간 미만.",
        "gate": "입력 참고: {note}",
        "test": "무작위 가중치 테스트 모델: 예",
        "report": "판독문",
        "plan_intro": (
            "다음은 두피 자가 점검 결과입니다: 설문 응답, 두피 사진에서 측정한 여섯 가지 중증도"
            "(0 = 양호, 3 = 중증), 그리고 검증된 지식 기반의 관리 계획입니다. 이 관리 계획을 "
            "본인에게 말하듯 짧고 따뜻한 한국어 맞춤 계획으로 다시 써 주세요. 모든 조언과 피부과 "
            "방문이 필요한 경우를 빠짐없이 유지하고, 주어지지 않은 조언·제품·진단·중증도를 "
            "덧붙이지 마세요. 중증도는 바꾸지 마세요."
        ),
        "profile": "사용자",
        "not_asked": "(설문은 정확한 나이가 아니라 연령대를 기록합니다.)",
        "severities": "중증도 (0-3)",
        "plan": "지식 기반 관리 계획",
        "personal": "맞춤 관리 계획",
        "none_answer": "응답 없음",
    },
}

# The seed's care-plan fields, in the seed's order, mapped to questionnaire fields. The seed asks
# for an age; the questionnaire records an age *group* (the closest field, used instead).
SEED_FIELDS: tuple[tuple[str, str], ...] = (
    ("age", "age_group"),
    ("gender", "gender"),
    ("shampoo_frequency", "shampoo_frequency"),
    ("perm_cycle", "perm_cycle"),
    ("dye_cycle", "dye_cycle"),
    ("hair_state", "hair_state"),
    ("products", "products_used"),
    ("wishes", "care_wishes"),
    ("purchase_considerations", "purchase_considerations"),
)


@dataclass(frozen=True)
class Prompt:
    """A completion prompt. ``text`` ends with ``prefix`` (the answer's first line(s))."""

    text: str
    prefix: str
    stop: tuple[str, ...] = STOP_STRINGS


def _s(lang: str, key: str, **params: object) -> str:
    return _TEXT[normalize_lang(lang)][key].format(**params)


# --- chest ----------------------------------------------------------------------------------------
def _finding_line(fact: FindingFact, lang: str) -> str:
    return _s(lang, "line", name=finding_name(fact, lang), status=status_phrase(fact, lang),
              p=f"{fact.probability:.2f}", certainty=t(f"llm.report.certainty.{fact.certainty}", lang),
              where=location_phrase(fact, lang) or _s(lang, "nowhere"))


def chest_facts_block(facts: ChestReportFacts, lang: str) -> str:
    """The classifier's output as the prompt states it: flagged findings, scores, heatmap places."""
    lines = [f"{STOP} {_s(lang, 'classifier')}",
             _s(lang, "model", model=facts.title_in(lang), version=facts.model_version,
                preset=t(f"chest.preset.{facts.preset}", lang), op=f"{facts.operating_point:.2f}",
                band=f"{facts.band:.2f}"),
             _s(lang, "assessed", n=facts.n_assessed)]
    if facts.test_model:
        lines.append(_s(lang, "test"))
    lines.extend(_s(lang, "gate", note=t(key, lang)) for key in facts.gate_notes)
    lines.append(_s(lang, "flagged"))
    flagged = facts.positives + facts.uncertain
    lines.extend(_finding_line(f, lang) for f in flagged) if flagged else lines.append(_s(lang, "none"))
    lines.append(_s(lang, "others"))
    return "\n".join(lines) + "\n"


def _example_facts() -> tuple[ChestReportFacts, ...]:
    """Worked examples (made-up outputs, not patients): one with findings, one with none."""
    common = dict(preset="balanced", operating_point=0.5, band=0.1, model_title="Chest classifier",
                  model_version="example", n_assessed=18)
    return (
        ChestReportFacts(findings=(
            FindingFact("Effusion", "effusion", 0.83, "positive", "high", "pleura", "right", "lower"),
            FindingFact("Atelectasis", "atelectasis", 0.66, "positive", "moderate", "lung", "right", "lower"),
            FindingFact("Cardiomegaly", "cardiomegaly", 0.54, "uncertain", "low", "heart"),
        ), **common),  # type: ignore[arg-type]
        ChestReportFacts(findings=(
            FindingFact("Nodule", "nodule", 0.12, "negative", "high", "lung", "left", "upper"),
        ), **common),  # type: ignore[arg-type]
    )


def chest_prompt(facts: ChestReportFacts, lang: str, examples: int = 2) -> Prompt:
    """Completion prompt for a chest report: instruction, ``examples`` worked examples whose
    answers are the structured writer's text for their facts, then this case's facts and the
    FINDINGS header (the prefix)."""
    writer = StructuredWriter()
    parts = [_s(lang, "chest_intro"), ""]
    for example in _example_facts()[:max(0, examples)]:
        parts.append(chest_facts_block(example, lang))
        parts.append(f"{STOP} {_s(lang, 'report')}\n" + "".join(writer.write(example, lang)))
    prefix = t("llm.report.findings_header", lang) + "\n"
    parts.append(chest_facts_block(facts, lang))
    parts.append(f"{STOP} {_s(lang, 'report')}\n" + prefix)
    return Prompt(text="\n".join(parts), prefix=prefix)


# --- care plan ------------------------------------------------------------------------------------
def _answer(field_id: str, value: object, lang: str) -> str:
    if isinstance(value, tuple):
        if not value:
            return _s(lang, "none_answer")
        return ", ".join(t(f"scalp.q.{field_id}.{v}", lang) for v in value)
    return t(f"scalp.q.{field_id}.{value}", lang)


def care_plan_profile(facts: CarePlanFacts, lang: str) -> str:
    """The seed's fields from the questionnaire, one per line (translated labels and answers)."""
    lines = []
    for _seed, field_id in SEED_FIELDS:
        value = getattr(facts.answers, field_id)
        lines.append(f"- {t(f'scalp.q.{field_id}', lang)}: {_answer(field_id, value, lang)}")
    return "\n".join(lines)


def care_plan_prompt(facts: CarePlanFacts, lang: str) -> Prompt:
    """Completion prompt asking the model to rephrase the knowledge-base plan as a personal plan."""
    severities = "\n".join("- " + grade_phrase(c, g, lang) for c, g in facts.grades)
    plan_text = "".join(list(care_plan_lines(facts, lang))[len(facts.grades) + 1:]).strip()
    text = "\n".join([
        _s(lang, "plan_intro"), "",
        f"{STOP} {_s(lang, 'profile')}", care_plan_profile(facts, lang),
        _s(lang, "not_asked"), "",
        f"{STOP} {_s(lang, 'severities')}", severities, "",
        f"{STOP} {_s(lang, 'plan')}", plan_text, "",
        f"{STOP} {_s(lang, 'personal')}\n",
    ])
    return Prompt(text=text, prefix="")
