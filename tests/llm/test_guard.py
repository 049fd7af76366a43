"""The consistency guard: the structured writer and the knowledge base always pass, built hallucinations fail."""

from __future__ import annotations

import itertools
import random

import pytest

from core.chest.facts import ChestReportFacts, FindingFact
from core.chest.labels import XRV_LABELS, region, slug
from core.i18n import t
from core.llm.careplan_guard import REFERRAL_RULES, check_care_plan, find_doses, required_referrals
from core.llm.guard_result import GuardResult
from core.llm.report_guard import check_chest_report
from core.llm.structured import StructuredWriter
from core.llm.writer import write_text
from core.scalp.careplan import build_plan, render_item
from core.scalp.questionnaire import Questionnaire
from core.scalp.severity import CONDITIONS

GATE_NOTES = ("chest.gate.unusual", "chest.gate.low_contrast", "chest.gate.blurry", "chest.gate.inverted_applied",
              "chest.gate.not_chest", "chest.gate.dicom_lateral", "chest.gate.low_resolution",
              "chest.gate.unusual_features", "chest.gate.dicom_decubitus", "chest.gate.mirrored", "chest.gate.cropped")


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
    outside = edge = False
    if rng is not None and reg in ("lung", "pleura", "bone"):
        where = rng.choice(["plain", "plain", "outside", "edge"])
        outside, edge = where == "outside", where == "edge" and side is not None
        if outside:
            side = level = None
    return FindingFact(label, slug(label), prob, status, certainty, reg, side, level, outside, edge)  # type: ignore[arg-type]


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
            text = _plan_text(grades, q, pustules, lang)
            result = check_care_plan(text, grades, lang, pustules=pustules)
            assert result.ok, (lang, grades, pustules, result)
            if pustules:  # the page's guard call does not pass the count (then D-PUSTULE is not required)
                assert check_care_plan(text, grades, lang).ok


ZERO = dict.fromkeys(CONDITIONS, 0)


@pytest.mark.parametrize(("lang", "text", "grades", "problem", "names"), [
    ("en", "Keep washing daily.", dict(ZERO, dandruff=2), "guard.problem.omitted_condition", ("dandruff",)),
    ("ko", "매일 감으세요. 피부과 진료를 받으세요.", dict(ZERO, hair_loss=3), "guard.problem.omitted_condition",
     ("hair_loss",)),
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
    assert find_doses("Take minoxidil 5 mg\nWash daily.") == ["Take minoxidil 5 mg"]  # a line is a sentence
    assert find_doses("샴푸를 2정도 짜서 쓰세요.") == []  # "정도" is "about", not tablets
    assert find_doses("Use a ketoconazole shampoo 2-3 times a week.") == []
    assert find_doses("케토코나졸 샴푸를 주 2~3회 쓰세요.") == []
    assert find_doses("Wash once a day.") == []
    assert len(find_doses("Ketoconazole 2% shampoo.")) == 1


# ------------------------------------------------------------------------------ care plan: review gaps
SEVERE_PUSTULES = dict(ZERO, follicular_erythema_pustules=3)
REFERRAL = {"en": " See a dermatologist soon.", "ko": " 피부과 진료를 받으세요."}


def _problems(text: str, grades: dict[str, int | None], lang: str) -> dict[str, tuple[str, ...]]:
    result = check_care_plan(text, grades, lang)
    assert result.ok == (not result.details) and result.kind == "care_plan"
    if not result.ok:
        note = result.note(lang)
        assert note and "guard.problem" not in note, note  # every reason is translated
    return dict(result.details)


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "It's seborrheic dermatitis."),
    ("en", "The flaking points to seborrhoeic dermatitis."),
    ("en", "The redness suggests psoriasis."),
    ("en", "You most likely have psoriasis."),
    ("en", "This looks like tinea capitis."),
    ("ko", "지루성 피부염일 가능성이 높습니다."),
    ("ko", "건선 같습니다."),
    ("ko", "지루성 피부염이 의심됩니다."),
])
def test_hedged_diagnoses_fail(lang: str, text: str) -> None:
    assert "guard.problem.diagnosis" in _problems(text, ZERO, lang)


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "This is not a diagnosis; a dermatologist can tell whether it is seborrheic dermatitis."),
    ("en", "Ketoconazole shampoos are used for dandruff and seborrhoeic dermatitis."),
    ("ko", "건선 같은 질환은 피부과에서 확인할 수 있습니다."),
])
def test_disease_names_without_a_diagnosis_pass(lang: str, text: str) -> None:
    assert _problems(text, ZERO, lang) == {}


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "The redness points to folliculitis."),
    ("ko", "모낭염 같습니다."),
])
def test_a_diagnosis_of_a_graded_sign_fails_even_when_the_sign_is_there(lang: str, text: str) -> None:
    grades = dict(ZERO, follicular_erythema_pustules=1)
    assert set(_problems(text, grades, lang)) == {"guard.problem.diagnosis"}


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "Take finasteride one tablet daily."),
    ("en", "Take doxycycline 100 mg."),
    ("en", "Take 100 mg twice a day."),  # no drug named: the unit makes it a dose
    ("en", "Apply the foam twice daily."),
    ("ko", "미녹시딜을 하루 두 번 바르세요."),
    ("ko", "항생제를 하루 두 번 드세요."),
    ("ko", "한 알씩 드세요."),
    ("en", "Apply minoxidil 2.5% twice a day"),  # a decimal point and no full stop
])
def test_doses_fail_whatever_the_drug(lang: str, text: str) -> None:
    problems = _problems(text, ZERO, lang)
    assert set(problems) == {"guard.problem.dose"}, problems  # reported once, not also as medication
    assert problems["guard.problem.dose"] == (text,)


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "Start minoxidil foam and an oral antibiotic."),
    ("en", "Use minoxidil foam on the thinning areas."),
    ("en", "A course of doxycycline will clear the spots."),
    ("en", "Ask your doctor for finasteride."),  # a prescription drug the plan never names
    ("ko", "미녹시딜을 바르기 시작하세요."),
    ("ko", "항생제를 드세요."),
    ("ko", "먹는 약으로 치료하세요."),
])
def test_new_medication_advice_fails(lang: str, text: str) -> None:
    assert set(_problems(text, dict(ZERO, hair_loss=1), lang)) == {"guard.problem.medication"}


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "Topical minoxidil has the best evidence. Ask a pharmacist before starting it."),
    ("en", "Use an anti-dandruff shampoo with ketoconazole 2-3 times a week."),
    ("en", "Do not take antibiotics without a prescription."),
    ("en", "Wash once a day; washing twice a day can dry out the scalp."),
    ("ko", "바르는 미녹시딜은 근거가 가장 탄탄합니다. 시작 전에 약사나 의사와 상의하세요."),
    ("ko", "하루 한 번 감아도 괜찮습니다."),
    ("ko", "항생제는 처방 없이 먹지 마세요."),
    ("en", "Antibiotics are not needed for dandruff."),
    ("en", "Choose steroid-free products."),
    ("ko", "항생제는 필요 없습니다."),
])
def test_medicines_the_knowledge_base_allows_pass(lang: str, text: str) -> None:
    assert _problems(text, dict(ZERO, hair_loss=1), lang) == {}


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "Do not pick the spots. Pustules: severe."),
    ("en", "Pustules are visible. See a doctor whenever something worries you."),  # a catch-all is no referral
    ("en", "Pustules are visible. You do not need to see a dermatologist."),
    ("ko", "뾰루지를 짜지 마세요. 농포가 중증입니다."),
    ("ko", "농포가 보입니다. 걱정되는 점이 있으면 언제든 의사와 상의하세요."),
])
def test_dropping_the_dermatologist_referral_fails(lang: str, text: str) -> None:
    problems = _problems(text, SEVERE_PUSTULES, lang)
    assert set(problems) == {"guard.problem.referral"}
    assert problems["guard.problem.referral"] == ("D-SEVERE", "D-PUSTULE")  # the knowledge base's rule ids
    note = check_care_plan(text, SEVERE_PUSTULES, lang).note(lang)
    assert t("guard.problem.referral", lang) in note and "D-SEVERE" not in note  # no internal rule ids for users
    assert _problems(text.replace("You do not need to", "Please") + REFERRAL[lang], SEVERE_PUSTULES, lang) == {}


def test_a_referral_the_plan_fired_from_the_answers_is_required_too() -> None:
    """Answers can fire a doctor rule (burning pain -> D-PUSTULE) at grade 0: the caller passes the plan's rules."""
    text = "Wash gently every day."
    assert "guard.problem.referral" not in dict(check_care_plan(text, ZERO, "en").details)
    fired = dict(check_care_plan(text, ZERO, "en", referrals=("D-PUSTULE", "D-ALWAYS")).details)
    assert fired["guard.problem.referral"] == ("D-PUSTULE",)  # D-ALWAYS (general advice) is not a referral rule
    assert "guard.problem.referral" not in dict(check_care_plan(text + " Please see a dermatologist.", ZERO, "en",
                                                                referrals=("D-PUSTULE",)).details)


def test_the_referral_follows_the_knowledge_base_doctor_rules() -> None:
    assert required_referrals(ZERO) == ()
    assert required_referrals(dict(ZERO, dandruff=3)) == ("D-SEVERE",)
    assert required_referrals(dict(ZERO, hair_loss=2)) == ("D-LOSS",)
    assert required_referrals(ZERO, pustules=1) == ("D-PUSTULE",)
    assert required_referrals(dict.fromkeys(CONDITIONS)) == ()  # ungraded: nothing required
    assert "guard.problem.referral" in _problems("Hair loss is visible.", dict(ZERO, hair_loss=2), "en")
    assert _problems("Hair loss is visible.", dict(ZERO, hair_loss=1), "en") == {}
    assert "guard.problem.referral" in dict(check_care_plan("농포가 보입니다.", ZERO, "ko", pustules=2).details)
    # the table mirrors core.scalp.careplan for every grade combination (answers that add no doctor rule)
    quiet = Questionnaire.from_form(FORMS[0])
    for combo in itertools.product(range(4), repeat=6):
        grades: dict[str, int | None] = dict(zip(CONDITIONS, combo, strict=True))
        for pustules in (0, 1):
            kb = tuple(r for r in build_plan(grades, quiet, pustules).rule_ids() if r in dict(REFERRAL_RULES))
            assert required_referrals(grades, pustules) == kb, (grades, pustules)


@pytest.mark.parametrize(("lang", "text", "grades", "names"), [
    ("en", "Your excess sebum is mild and pustules are barely there.",
     dict(ZERO, excess_sebum=2, follicular_erythema_pustules=2), ("excess_sebum", "follicular_erythema_pustules")),
    ("en", "Your excess sebum is mild and pustules are barely there.",
     dict(ZERO, excess_sebum=3, follicular_erythema_pustules=3), ("excess_sebum", "follicular_erythema_pustules")),
    ("en", "Dandruff is present but not severe.", dict(ZERO, dandruff=3), ("dandruff",)),
    ("en", "There is slight hair loss.", dict(ZERO, hair_loss=2), ("hair_loss",)),
    ("en", "You have severe dandruff.", dict(ZERO, dandruff=1), ("dandruff",)),
    ("en", "The redness is severe.", dict(ZERO, interfollicular_erythema=1), ("interfollicular_erythema",)),
    ("ko", "피지과다는 가벼운 편이고 농포는 약간 보입니다.",
     dict(ZERO, excess_sebum=2, follicular_erythema_pustules=2), ("excess_sebum", "follicular_erythema_pustules")),
    ("ko", "비듬이 있지만 심하지 않습니다.", dict(ZERO, dandruff=2), ("dandruff",)),
    ("ko", "비듬이 심한 편입니다.", dict(ZERO, dandruff=1), ("dandruff",)),
    ("ko", "탈모가 중증입니다.", dict(ZERO, hair_loss=1), ("hair_loss",)),
])
def test_severity_words_that_contradict_the_grade_fail(lang: str, text: str, grades: dict[str, int | None],
                                                        names: tuple[str, ...]) -> None:
    problems = _problems(text + REFERRAL[lang], grades, lang)
    assert set(problems) == {"guard.problem.severity"}, problems
    assert problems["guard.problem.severity"] == names
    note = check_care_plan(text, grades, lang).note(lang)
    assert all(t(f"scalp.condition.{n}", lang) in note for n in names)


@pytest.mark.parametrize(("lang", "text", "grades"), [
    ("en", "Excess sebum: 2 (moderate). Fine scale: 1 (mild).", dict(ZERO, excess_sebum=2, fine_scale=1)),
    ("en", "Your dandruff is mild.", dict(ZERO, dandruff=1)),
    ("en", "Severe hair loss is visible.", dict(ZERO, hair_loss=3)),
    ("en", "Use a mild shampoo for the excess sebum.", dict(ZERO, excess_sebum=2)),
    ("en", "Prefer mild, fragrance-free products because of the redness.", dict(ZERO, interfollicular_erythema=2)),
    ("en", "If the redness becomes severe, see a dermatologist.", dict(ZERO, interfollicular_erythema=1)),
    ("en", "Smoking is linked with earlier and more severe hair loss.", dict(ZERO, hair_loss=1)),
    ("en", "Wash slightly more often because of the excess sebum.", dict(ZERO, excess_sebum=2)),
    ("ko", "피지과다: 2단계(중등도). 미세각질: 1단계(경증).", dict(ZERO, excess_sebum=2, fine_scale=1)),
    ("ko", "흡연은 더 이르고 심한 탈모와 관련이 있습니다.", dict(ZERO, hair_loss=1)),
    ("ko", "비듬이 심해지면 피부과에 가세요.", dict(ZERO, dandruff=1)),
    ("ko", "피지가 많으니 조금 더 자주 감으세요.", dict(ZERO, excess_sebum=2)),
    ("ko", "비듬이 보이니 비듬 샴푸로 가볍게 마사지하세요.", dict(ZERO, dandruff=2)),
])
def test_severity_words_that_agree_or_do_not_rate_the_photo_pass(lang: str, text: str,
                                                                 grades: dict[str, int | None]) -> None:
    assert "guard.problem.severity" not in _problems(text + REFERRAL[lang], grades, lang)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_structured_care_plan_the_app_writes_passes(lang: str) -> None:
    from core.llm import StructuredWriter, write_text
    from core.llm.careplan import care_plan_facts

    rng = random.Random(11)
    answers = [Questionnaire.from_form(f) for f in FORMS]
    combos = [tuple(rng.choice((None, 0, 1, 2, 3)) for _ in range(6)) for _ in range(10)]
    combos += [(3,) * 6, (0,) * 6, (2, 2, 2, 3, 1, 3)]
    for combo in combos:
        grades: dict[str, int | None] = dict(zip(CONDITIONS, combo, strict=True))
        for q, pustules in itertools.product(answers, (0, 3)):
            facts = care_plan_facts(build_plan(grades, q, pustules), grades, q, pustules)
            text = write_text(StructuredWriter(), facts, lang)
            result = check_care_plan(text, facts.grade_map(), lang, pustules=facts.pustules)
            assert result.ok, (grades, pustules, result)



def _sided(label: str, side: str | None, *, outside: bool = False, others: dict[str, str] | None = None) -> ChestReportFacts:
    from dataclasses import replace

    facts = _facts({label: "positive", **(others or {})})
    return replace(facts, findings=tuple(replace(f, side=side, level="lower" if side else None, outside=outside)
                                         if f.label == label else f for f in facts.findings))


@pytest.mark.parametrize(("lang", "text", "side", "ok"), [
    ("en", "Left pleural effusion.", "left", True),
    ("en", "Pleural effusion in the left lower zone.", "left", True),
    ("en", "Right pleural effusion.", "left", False),
    ("en", "Pleural effusion at the right base.", "left", False),
    ("en", "Bilateral pleural effusions.", "left", False),
    ("en", "Pleural effusion in both lungs.", "bilateral", True),
    ("en", "Left pleural effusion.", "bilateral", True),
    ("en", "Pleural effusion.", "right", True),  # no side named: nothing to check
    ("ko", "좌측 하폐야에 흉수가 있을 가능성이 높습니다.", "left", True),
    ("ko", "우측 흉수가 있을 가능성이 높습니다.", "left", False),
    ("ko", "흉수: 있을 가능성이 높음, 위치: 양측 폐, 주로 하폐야.", "bilateral", True),
    ("ko", "양측 흉수가 있습니다.", "right", False),
])
def test_a_finding_placed_on_a_side_its_heatmap_does_not_give_fails(lang: str, text: str, side: str, ok: bool) -> None:
    result = check_chest_report(text, _sided("Effusion", side), lang)
    assert result.ok is ok, result
    if not ok:
        assert result.problems == ("guard.problem.wrong_side",) and "Effusion" in result.details[0][1]
        assert result.note(lang) and "{" not in result.note(lang)


@pytest.mark.parametrize(("lang", "text"), [("en", "Right pleural effusion."), ("ko", "좌측 흉수가 있습니다.")])
def test_a_side_for_a_heatmap_outside_the_lungs_fails_and_no_side_passes(lang: str, text: str) -> None:
    facts = _sided("Effusion", None, outside=True)
    assert check_chest_report(text, facts, lang).problems == ("guard.problem.wrong_side",)
    plain = {"en": "Pleural effusion.", "ko": "흉수가 있습니다."}[lang]
    assert check_chest_report(plain, facts, lang).ok


def _two_sided(effusion: str, pneumonia: str) -> ChestReportFacts:
    from dataclasses import replace

    facts = _sided("Effusion", effusion, others={"Pneumonia": "positive", "Cardiomegaly": "positive"})
    return replace(facts, findings=tuple(replace(f, side=pneumonia, level="lower") if f.label == "Pneumonia" else f
                                         for f in facts.findings))


def test_a_sentence_naming_several_findings_may_name_the_sides_of_any_of_them_and_heart_findings_none() -> None:
    text = "Right lower zone pneumonia and left pleural effusion. Enlarged heart with a prominent left heart border."
    assert check_chest_report(text, _two_sided("left", "right"), "en").ok
    result = check_chest_report(text, _two_sided("left", "left"), "en")  # nothing on the right
    assert result.problems == ("guard.problem.wrong_side",) and set(result.details[0][1]) == {"Effusion", "Pneumonia"}
    ko = "우측 하폐야 폐렴과 좌측 흉수가 있습니다. 심비대가 있습니다."
    assert check_chest_report(ko, _two_sided("left", "right"), "ko").ok
    assert check_chest_report(ko, _two_sided("left", "left"), "ko").problems == ("guard.problem.wrong_side",)


@pytest.mark.parametrize(("lang", "text", "ok"), [
    ("en", "Pleural effusion, likely present. Left lower zone: location approximate.", True),
    ("en", "Pleural effusion, likely present. Right lower zone: location approximate.", False),
    ("ko", "흉수, 있을 가능성이 높음. 좌측 하폐야: 위치 대략적.", True),
    ("ko", "흉수, 있을 가능성이 높음. 우측 하폐야 (히트맵이 추정 폐야의 가장자리를 가리킴): 위치 대략적.", False),
    ("en", "Pleural effusion, likely present. No right-sided abnormality is described for pneumothorax.", True),
])
def test_a_place_named_without_a_finding_must_be_where_a_flagged_finding_points(lang: str, text: str, ok: bool) -> None:
    result = check_chest_report(text, _sided("Effusion", "left"), lang)
    assert result.ok is ok, result
    if not ok:
        assert result.problems == ("guard.problem.stray_side",)
        assert t("llm.report.side.right", lang) in result.note(lang)


def test_the_input_checks_own_notes_may_name_sides() -> None:
    from dataclasses import replace

    facts = replace(_sided("Effusion", "left"), gate_notes=("chest.gate.mirrored", "chest.gate.cropped"))
    for lang in ("en", "ko"):
        text = write_text(StructuredWriter(), facts, lang)
        assert t("chest.gate.mirrored", lang) in text
        assert check_chest_report(text, facts, lang).ok
