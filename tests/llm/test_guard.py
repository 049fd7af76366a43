"""The consistency guard: the structured writer and the knowledge base always pass, built hallucinations fail."""

from __future__ import annotations

import itertools
import random

import pytest

from core.chest.labels import XRV_LABELS, region, slug
from core.i18n import t
from core.llm.facts import ChestReportFacts, FindingFact
from core.llm.guard import GuardResult, check_care_plan, check_chest_report, find_doses
from core.llm.structured import StructuredWriter
from core.llm.writer import write_text
from core.scalp.careplan import build_plan, render_item
from core.scalp.questionnaire import Questionnaire
from core.scalp.severity import CONDITIONS

GATE_NOTES = ("chest.gate.unusual", "chest.gate.low_contrast", "chest.gate.blurry", "chest.gate.inverted_applied",
              "chest.gate.not_chest", "chest.gate.dicom_lateral", "chest.gate.low_resolution",
              "chest.gate.unusual_features", "chest.gate.dicom_decubitus")


def _fact(label: str, status: str, rng: random.Random | None = None) -> FindingFact:
    reg = region(label)
    side = level = None
    if rng is not None and reg in ("lung", "pleura", "bone"):
        side = rng.choice([None, "right", "left", "bilateral"])
        level = rng.choice([None, "upper", "middle", "lower"]) if side and reg != "bone" else None
    certainty = {"positive": "high", "uncertain": "low", "negative": "high"}[status]
    if rng is not None and status == "positive" and rng.random() < 0.5:
        certainty = "moderate"
    prob = {"positive": 0.8, "uncertain": 0.5, "negative": 0.1}[status]
    return FindingFact(label, slug(label), prob, status, certainty, reg, side, level)  # type: ignore[arg-type]


def _facts(statuses: dict[str, str], labels: tuple[str, ...] = XRV_LABELS, **kw) -> ChestReportFacts:
    findings = tuple(_fact(lab, statuses.get(lab, "negative")) for lab in labels)
    base = dict(preset="balanced", operating_point=0.5, band=0.1, model_title="TorchXRayVision DenseNet-121",
                model_version="v1", n_assessed=len(labels))
    base.update(kw)
    return ChestReportFacts(findings=findings, **base)


def test_structured_reports_always_pass_the_guard() -> None:
    rng = random.Random(8)
    cases = 0
    for preset in ("sensitive", "balanced", "specific"):
        # each finding alone in each status, then random mixes
        singles = [{lab: st} for lab in XRV_LABELS for st in ("positive", "uncertain")]
        for statuses in singles[::3] + [{}]:
            facts = _facts(statuses, preset=preset)
            for lang in ("en", "ko"):
                result = check_chest_report(write_text(StructuredWriter(), facts, lang), facts, lang)
                assert result.ok, (lang, statuses, result)
                cases += 1
        for _ in range(12):
            findings = tuple(_fact(lab, rng.choice(["positive", "uncertain", "negative", "negative"]), rng)
                             for lab in XRV_LABELS)
            facts = ChestReportFacts(findings, preset, 0.5, 0.1, "TorchXRayVision DenseNet-121", "v1", 18,
                                     tuple(rng.sample(GATE_NOTES, rng.randint(0, 3))), rng.random() < 0.3)
            for lang in ("en", "ko"):
                text = write_text(StructuredWriter(), facts, lang)
                result = check_chest_report(text, facts, lang)
                assert result.ok, (lang, result, text)
                cases += 1
    assert cases > 100


CARDIO = _facts({"Cardiomegaly": "positive"})


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "Cardiomegaly. Small right pleural effusion."),
    ("ko", "심비대가 있습니다. 우측 흉수가 있습니다."),
    ("en", "Cardiomegaly. A right pleural effusion cannot be excluded."),
    ("ko", "심비대가 있고 흉수가 의심됩니다."),
])
def test_a_finding_the_classifier_did_not_flag_fails(lang: str, text: str) -> None:
    result = check_chest_report(text, CARDIO, lang)
    assert not result.ok
    assert result.asserted_not_found == ("Effusion",)
    assert result.problems == ("guard.problem.asserted",)
    note = result.note(lang)
    assert t("chest.finding.effusion", lang) in note
    assert note == t("guard.note.chest", lang, reasons=result.reasons(lang)[0])


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "No acute cardiopulmonary abnormality. The lungs are clear."),
    ("ko", "폐는 깨끗합니다. 흉수나 기흉은 없습니다."),
])
def test_dropping_a_flagged_finding_fails(lang: str, text: str) -> None:
    result = check_chest_report(text, CARDIO, lang)
    assert not result.ok and result.omitted == ("Cardiomegaly",)
    assert "guard.problem.omitted" in result.problems
    assert t("chest.finding.cardiomegaly", lang) in result.note(lang)


def test_denying_overstating_and_unassessed_findings_fail() -> None:
    denied = check_chest_report("The heart is not enlarged.", CARDIO, "en")
    assert not denied.ok and denied.problems == ("guard.problem.contradicted",) and denied.omitted == ("Cardiomegaly",)
    unsure = _facts({"Cardiomegaly": "uncertain"})
    assert check_chest_report("Possible cardiomegaly.", unsure, "en").ok
    assert check_chest_report("심비대 가능성이 있습니다.", unsure, "ko").ok
    over = check_chest_report("Cardiomegaly.", unsure, "en")
    assert over.problems == ("guard.problem.overstated",) and over.asserted_not_found == ("Cardiomegaly",)
    nih = tuple(lab for lab in XRV_LABELS if lab not in ("Fracture", "Lung Opacity"))
    small = _facts({"Cardiomegaly": "positive"}, labels=nih)
    unassessed = check_chest_report("Cardiomegaly. Left rib fracture.", small, "en")
    assert unassessed.problems == ("guard.problem.not_assessed",) and unassessed.asserted_not_found == ("Fracture",)
    assert check_chest_report("Cardiomegaly.", small, "en").ok
    # positive facts mentioned as uncertain count as present
    assert check_chest_report("Possible cardiomegaly.", CARDIO, "en").ok


def test_an_empty_text_fails_and_ok_results_have_no_note() -> None:
    empty = check_chest_report("  ", CARDIO, "en")
    assert not empty.ok and empty.problems == ("guard.problem.empty",)
    ok = check_chest_report("Mild cardiomegaly.", CARDIO, "en")
    assert ok == GuardResult(ok=True, kind="chest") and ok.note("en") == ""


# ------------------------------------------------------------------------------ scalp
FORMS = (
    {"age_group": "30s", "gender": "male", "shampoo_frequency": "daily", "perm_cycle": "never",
     "dye_cycle": "never", "hair_state": ["normal"]},
    {"age_group": "30s", "gender": "female", "shampoo_frequency": "twice_daily", "perm_cycle": "under_3_months",
     "dye_cycle": "under_3_months", "hair_state": ["oily", "itchy", "dry", "shedding", "thinning"],
     "products_used": ["hair_oil", "styling"], "care_wishes": ["hair_loss", "moisture"],
     "purchase_considerations": ["price", "mildness", "fragrance_free", "effect_evidence", "brand"],
     "family_history": "yes", "recent_triggers": ["illness_fever", "childbirth", "weight_loss", "new_medication"],
     "stress": "high", "sleep": "lt6", "smoking": "yes",
     "symptoms": ["itch", "pain_burning", "patchy_loss", "sudden_shedding"]},
)


def _plan_text(grades: dict[str, int | None], answers: Questionnaire, pustules: int, lang: str) -> str:
    return "\n".join(" ".join(render_item(item, lang)) for item in build_plan(grades, answers, pustules).items)


def test_knowledge_base_plans_always_pass_the_guard() -> None:
    rng = random.Random(3)
    combos = [c for c in itertools.product(range(4), repeat=6) if len(set(c)) == 1]  # all 0, all 1...
    combos += [tuple(3 if i == j else 0 for i in range(6)) for j in range(6)]  # one severe sign alone
    combos += [tuple(rng.randrange(4) for _ in range(6)) for _ in range(16)]
    forms = [*FORMS, dict(FORMS[1], shampoo_frequency="every_3plus_days")]
    answers = [Questionnaire.from_form(f) for f in forms]
    for combo in combos:
        grades: dict[str, int | None] = dict(zip(CONDITIONS, combo, strict=True))
        for q, pustules, lang in itertools.product(answers, (0, 2), ("en", "ko")):
            result = check_care_plan(_plan_text(grades, q, pustules, lang), grades, lang)
            assert result.ok, (lang, grades, pustules, result)


ZERO = dict.fromkeys(CONDITIONS, 0)


@pytest.mark.parametrize(("lang", "text", "grades", "problem", "names"), [
    ("en", "Keep washing daily.", dict(ZERO, dandruff=2), "guard.problem.omitted_condition", ("dandruff",)),
    ("ko", "매일 감으세요.", dict(ZERO, hair_loss=3), "guard.problem.omitted_condition", ("hair_loss",)),
    ("en", "The photo shows dandruff.", ZERO, "guard.problem.invented_condition", ("dandruff",)),
    ("ko", "사진에서 탈모가 보입니다.", ZERO, "guard.problem.invented_condition", ("hair_loss",)),
    ("en", "You have seborrhoeic dermatitis.", ZERO, "guard.problem.diagnosis", None),
    ("ko", "지루성 피부염입니다.", ZERO, "guard.problem.diagnosis", None),
    ("ko", "건선으로 진단됩니다.", ZERO, "guard.problem.diagnosis", None),
    ("en", "Apply minoxidil 5% twice a day.", ZERO, "guard.problem.dose", None),
    ("en", "Take finasteride 1 mg.", ZERO, "guard.problem.dose", None),
    ("ko", "미녹시딜을 하루 2회 바르세요.", ZERO, "guard.problem.dose", None),
    ("ko", "스테로이드 1정을 드세요.", ZERO, "guard.problem.dose", None),
])
def test_care_plan_hallucinations_fail(lang: str, text: str, grades: dict[str, int | None], problem: str,
                                       names: tuple[str, ...] | None) -> None:
    result = check_care_plan(text, grades, lang)
    assert not result.ok and result.problems == (problem,), result
    assert result.kind == "care_plan" and result.note(lang)
    if names is not None:
        assert (result.omitted or result.asserted_not_found) == names
        assert t(f"scalp.condition.{names[0]}", lang) in result.note(lang)


def test_care_plan_conditional_and_denied_mentions_are_not_assertions() -> None:
    assert check_care_plan("If you notice dandruff, use an anti-dandruff shampoo.", ZERO, "en").ok
    assert check_care_plan("No dandruff was seen.", ZERO, "en").ok
    assert check_care_plan("비듬은 보이지 않습니다.", ZERO, "ko").ok
    assert check_care_plan("비듬이 생기면 비듬 샴푸를 쓰세요.", ZERO, "ko").ok
    assert check_care_plan("Dandruff: moderate.", dict(ZERO, dandruff=2), "en").ok
    assert not check_care_plan("No dandruff.", dict(ZERO, dandruff=2), "en").ok
    assert check_care_plan("Anything.", dict.fromkeys(CONDITIONS), "en").ok  # ungraded: nothing required


def test_weekly_shampoo_use_is_not_a_dose() -> None:
    assert find_doses("Use a ketoconazole shampoo 2-3 times a week.") == []
    assert find_doses("케토코나졸 샴푸를 주 2~3회 쓰세요.") == []
    assert find_doses("Wash once a day.") == []
    assert len(find_doses("Ketoconazole 2% shampoo.")) == 1
