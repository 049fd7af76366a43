"""Care plan from a curated knowledge base: every advice line comes from one rule with an id.

A plan is structured data (:class:`CarePlan` of :class:`AdviceItem`: rule id, section, text key,
reason key and parameters), rendered into Korean or English only at display time. An LLM
writer can later be asked to rephrase a plan and be checked against it (same rule ids, no new
claims); until then the knowledge base is the only source of text.

Sources behind the rules are listed in ``docs/scalp.md`` (AAD patient guidance on dandruff and
seborrhoeic dermatitis and on hair loss, trichoscopy and telogen-effluvium reviews). No rule
names a disease as the user's diagnosis: the plan talks about *signs seen in the photo*.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.i18n import has_key, t
from core.scalp.questionnaire import Questionnaire
from core.scalp.severity import CONDITIONS, ConditionGrade

SECTIONS: tuple[str, ...] = ("washing", "look_for", "avoid", "lifestyle", "doctor")
KB_VERSION = "kb-2026.1"
ParamValue = str | int | float | tuple[str, ...]


@dataclass(frozen=True)
class PlanContext:
    """What the rules look at: final grades (None read as 0), answers and pustule count."""

    grades: Mapping[str, int | None]
    answers: Questionnaire
    pustules: int = 0

    def g(self, condition: str) -> int:
        return self.grades.get(condition) or 0

    def worst(self) -> int:
        return max((v or 0) for v in self.grades.values()) if self.grades else 0

    def at_least(self, level: int, *among: str) -> tuple[str, ...]:
        """Label keys of the conditions (all, or those ``among``) graded >= level (for reasons)."""
        return tuple(f"scalp.condition.{c}" for c in CONDITIONS if self.g(c) >= level and (not among or c in among))


@dataclass(frozen=True)
class AdviceItem:
    """One advice line. Text: ``scalp.plan.<rule_id>.text``; why: ``scalp.plan.<rule_id>.reason``."""

    rule_id: str
    section: str
    text_key: str
    reason_key: str
    reason_params: tuple[tuple[str, ParamValue], ...] = ()

    def params(self) -> dict[str, ParamValue]:
        return dict(self.reason_params)


@dataclass(frozen=True)
class CarePlan:
    items: tuple[AdviceItem, ...]
    source: str = "knowledge_base"
    version: str = KB_VERSION

    def rule_ids(self) -> tuple[str, ...]:
        return tuple(i.rule_id for i in self.items)

    def section(self, name: str) -> tuple[AdviceItem, ...]:
        return tuple(i for i in self.items if i.section == name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "version": self.version,
            "items": [
                {"rule_id": i.rule_id, "section": i.section, "text_key": i.text_key,
                 "reason_key": i.reason_key,
                 "reason_params": {k: list(v) if isinstance(v, tuple) else v for k, v in i.reason_params}}
                for i in self.items
            ],
        }


@dataclass(frozen=True)
class KbRule:
    """One rule. ``variant`` picks the reason among ``scalp.plan.<id>.reason<variant>`` by what
    made the rule fire, so a reason names only what holds: a sign seen in the photo (graded, as on
    its card), an answer, or both; never a condition that was not assessed."""

    rule_id: str
    section: str
    when: Callable[[PlanContext], bool]
    reason: Callable[[PlanContext], dict[str, ParamValue]] = field(default=lambda c: {})
    variant: Callable[[PlanContext], str] = field(default=lambda c: "")


def _chem_frequent(q: Questionnaire) -> bool:
    return q.perm_cycle == "under_3_months" or q.dye_cycle == "under_3_months"


def _grade_key(ctx: PlanContext, condition: str) -> str:
    """The grade as its card shows it: "not assessed" for a condition without a grade."""
    grade = ctx.grades.get(condition)
    return "scalp.grade.not_assessed" if grade is None else f"scalp.grade.{grade}"


def _grade(condition: str) -> Callable[[PlanContext], dict[str, ParamValue]]:
    return lambda c: {"condition": f"scalp.condition.{condition}", "grade": _grade_key(c, condition)}


def _which(seen: bool, answered: bool) -> str:
    """Reason variant: "" (seen in the photo), "_answer" (answered only) or "_both"."""
    if seen and answered:
        return "_both"
    return "" if seen else "_answer"


def _seen(*conditions: str, level: int = 1) -> Callable[[PlanContext], bool]:
    return lambda c: any(c.g(x) >= level for x in conditions)


def _answered(*pairs: tuple[str, str]) -> Callable[[PlanContext], bool]:
    return lambda c: any(c.answers.has(field_name, value) for field_name, value in pairs)


def _either(seen: Callable[[PlanContext], bool], answered: Callable[[PlanContext], bool]) -> Callable[[PlanContext], str]:
    return lambda c: _which(seen(c), answered(c))


_OILY = _answered(("hair_state", "oily"))
_DRY = _answered(("hair_state", "dry"))
_ITCH = _answered(("hair_state", "itchy"), ("symptoms", "itch"))
_MILD = _answered(("hair_state", "itchy"), ("purchase_considerations", "mildness"),
                  ("purchase_considerations", "fragrance_free"))
_LOSS_WISH = _answered(("care_wishes", "hair_loss"))
_SHEDDING_OR_DIET = _answered(("hair_state", "shedding"), ("recent_triggers", "weight_loss"))
_THINNING = _answered(("hair_state", "thinning"))
_PAIN = _answered(("symptoms", "pain_burning"))


def _chem_with_redness(c: PlanContext) -> bool:
    return c.g("interfollicular_erythema") >= 1 and (c.answers.perm_cycle != "never" or c.answers.dye_cycle != "never")


def _chem_variant(c: PlanContext) -> str:
    frequent, redness = _chem_frequent(c.answers), _chem_with_redness(c)
    return "_both" if frequent and redness else "_redness" if redness else ""


def _pustule_variant(c: PlanContext) -> str:
    graded, counted = c.g("follicular_erythema_pustules") >= 1, c.pustules > 0
    return "_both" if graded and counted else "_count" if counted else ""


def _pustule_doctor_variant(c: PlanContext) -> str:
    counted, graded = c.pustules > 0, c.g("follicular_erythema_pustules") >= 2
    if not (counted or graded):
        return "_answer"
    return ("_count" if counted else "") + ("_pain" if _PAIN(c) else "")


def _pustule_facts(c: PlanContext) -> dict[str, ParamValue]:
    return {**_grade("follicular_erythema_pustules")(c), "pustules": c.pustules}


_TRIGGERS = ("illness_fever", "childbirth", "weight_loss", "new_medication")

KNOWLEDGE_BASE: tuple[KbRule, ...] = (
    # --- washing
    KbRule("W-BASE", "washing", lambda c: True),
    KbRule("W-OILY", "washing", lambda c: c.g("excess_sebum") >= 1 or c.answers.has("hair_state", "oily"),
           _grade("excess_sebum"), _either(_seen("excess_sebum"), _OILY)),
    KbRule("W-FREQ", "washing",
           lambda c: c.answers.shampoo_frequency == "every_3plus_days"
           and max(c.g("excess_sebum"), c.g("dandruff"), c.g("fine_scale")) >= 1,
           lambda c: {"conditions": c.at_least(1, "excess_sebum", "dandruff", "fine_scale")}),
    KbRule("W-OVER", "washing",
           lambda c: c.answers.shampoo_frequency == "twice_daily" and c.g("excess_sebum") <= 1
           and (c.g("fine_scale") >= 1 or c.answers.has("hair_state", "dry")),
           _grade("fine_scale"), _either(_seen("fine_scale"), _DRY)),
    KbRule("W-DRY", "washing", lambda c: max(c.g("dandruff"), c.g("excess_sebum")) >= 1,
           lambda c: {"conditions": c.at_least(1, "dandruff", "excess_sebum")}),
    KbRule("W-GENTLE", "washing",
           lambda c: max(c.g("interfollicular_erythema"), c.g("follicular_erythema_pustules")) >= 1
           or c.answers.has("hair_state", "itchy") or c.answers.has("symptoms", "itch"),
           lambda c: {"conditions": c.at_least(1, "interfollicular_erythema", "follicular_erythema_pustules")},
           _either(_seen("interfollicular_erythema", "follicular_erythema_pustules"), _ITCH)),
    # --- what to look for
    KbRule("P-ANTIDANDRUFF", "look_for", lambda c: c.g("dandruff") >= 1 or c.g("fine_scale") >= 2,
           lambda c: {"conditions": c.at_least(1, "dandruff", "fine_scale")}),
    KbRule("P-SALICYLIC", "look_for", lambda c: c.g("fine_scale") >= 1, _grade("fine_scale")),
    KbRule("P-OIL", "look_for", lambda c: c.g("excess_sebum") >= 1, _grade("excess_sebum")),
    KbRule("P-MILD", "look_for",
           lambda c: c.g("interfollicular_erythema") >= 1 or c.answers.has("hair_state", "itchy")
           or c.answers.has("purchase_considerations", "mildness")
           or c.answers.has("purchase_considerations", "fragrance_free"),
           lambda c: {"conditions": c.at_least(1, "interfollicular_erythema")},
           _either(_seen("interfollicular_erythema"), _MILD)),
    KbRule("P-MINOXIDIL", "look_for",
           lambda c: c.g("hair_loss") >= 1 or c.answers.has("care_wishes", "hair_loss"),
           _grade("hair_loss"), _either(_seen("hair_loss"), _LOSS_WISH)),
    KbRule("P-ACTIVE", "look_for",
           lambda c: c.answers.has("purchase_considerations", "price")
           or c.answers.has("purchase_considerations", "effect_evidence")
           or c.answers.has("purchase_considerations", "brand")),
    KbRule("P-MOIST", "look_for",
           lambda c: c.g("excess_sebum") == 0
           and (c.answers.has("hair_state", "dry") or c.answers.has("care_wishes", "moisture")),
           variant=lambda c: "" if c.grades.get("excess_sebum") is not None else "_unassessed"),
    # --- what to avoid
    KbRule("A-CHEM", "avoid",
           lambda c: _chem_frequent(c.answers) or _chem_with_redness(c),
           _grade("interfollicular_erythema"), _chem_variant),
    KbRule("A-OILS", "avoid",
           lambda c: c.g("excess_sebum") >= 1
           and (c.answers.has("products_used", "hair_oil") or c.answers.has("products_used", "styling")),
           _grade("excess_sebum")),
    KbRule("A-PICK", "avoid", lambda c: c.g("follicular_erythema_pustules") >= 1 or c.pustules > 0,
           _pustule_facts, _pustule_variant),
    KbRule("A-TIGHT", "avoid", lambda c: c.g("hair_loss") >= 1, _grade("hair_loss")),
    KbRule("A-HOT", "avoid", lambda c: c.g("interfollicular_erythema") >= 1 or c.g("fine_scale") >= 1,
           lambda c: {"conditions": c.at_least(1, "interfollicular_erythema", "fine_scale")}),
    # --- lifestyle
    KbRule("L-STRESS", "lifestyle", lambda c: c.answers.stress == "high"),
    KbRule("L-SLEEP", "lifestyle", lambda c: c.answers.sleep == "lt6"),
    KbRule("L-SMOKE", "lifestyle", lambda c: c.answers.smoking == "yes"),
    KbRule("L-DIET", "lifestyle",
           lambda c: c.g("hair_loss") >= 1 or c.answers.has("hair_state", "shedding")
           or c.answers.has("recent_triggers", "weight_loss"),
           _grade("hair_loss"), _either(_seen("hair_loss"), _SHEDDING_OR_DIET)),
    KbRule("L-TRIGGER", "lifestyle",
           lambda c: any(c.answers.has("recent_triggers", v) for v in _TRIGGERS)
           and (c.answers.has("hair_state", "shedding") or c.g("hair_loss") >= 1)),
    KbRule("L-SUN", "lifestyle", lambda c: c.g("hair_loss") >= 1 or c.answers.has("hair_state", "thinning"),
           _grade("hair_loss"), _either(_seen("hair_loss"), _THINNING)),
    KbRule("L-RECHECK", "lifestyle", lambda c: True),
    # --- when to see a dermatologist
    KbRule("D-SEVERE", "doctor", lambda c: c.worst() >= 3, lambda c: {"conditions": c.at_least(3)}),
    KbRule("D-PUSTULE", "doctor",
           lambda c: c.pustules > 0 or c.g("follicular_erythema_pustules") >= 2
           or c.answers.has("symptoms", "pain_burning"),
           _pustule_facts, _pustule_doctor_variant),
    KbRule("D-PATCHY", "doctor",
           lambda c: c.answers.has("symptoms", "patchy_loss") or c.answers.has("symptoms", "sudden_shedding")),
    KbRule("D-LOSS", "doctor",
           lambda c: c.g("hair_loss") >= 2 or (c.g("hair_loss") >= 1 and c.answers.family_history == "yes"),
           _grade("hair_loss"), lambda c: "_family" if c.answers.family_history == "yes" else ""),
    KbRule("D-NOIMPROVE", "doctor",
           lambda c: c.g("dandruff") >= 1 or c.g("fine_scale") >= 2 or c.g("interfollicular_erythema") >= 2,
           lambda c: {"conditions": c.at_least(1, "dandruff", "fine_scale", "interfollicular_erythema")}),
    KbRule("D-ALWAYS", "doctor", lambda c: True),
)


def build_plan(grades: tuple[ConditionGrade, ...] | Mapping[str, int | None], answers: Questionnaire,
               pustules: int = 0) -> CarePlan:
    """The knowledge-base plan for final grades and answers, in section order."""
    if isinstance(grades, tuple):
        grade_map: dict[str, int | None] = {g.condition: g.final_grade for g in grades}
    else:
        grade_map = dict(grades)
    ctx = PlanContext(grade_map, answers, pustules)
    items = []
    for section in SECTIONS:
        for rule in KNOWLEDGE_BASE:
            if rule.section != section or not rule.when(ctx):
                continue
            variant = rule.variant(ctx)
            params = rule.reason(ctx) if variant != "_answer" else {}  # an answer names no condition
            items.append(AdviceItem(rule.rule_id, section, f"scalp.plan.{rule.rule_id}.text",
                                    f"scalp.plan.{rule.rule_id}.reason{variant}", tuple(sorted(params.items()))))
    return CarePlan(tuple(items))


def render_params(params: Mapping[str, ParamValue], lang: str | None) -> dict[str, str | int | float]:
    """Translate parameter values that are translation keys (tuples become comma lists)."""
    out: dict[str, str | int | float] = {}
    for key, value in params.items():
        if isinstance(value, tuple):
            out[key] = ", ".join(t(v, lang) for v in value) if value else t("scalp.plan.none", lang)
        elif isinstance(value, str) and value.startswith("scalp.") and has_key(value):
            out[key] = t(value, lang)
        else:
            out[key] = value
    return out


def render_item(item: AdviceItem, lang: str | None) -> tuple[str, str]:
    """(advice text, reason text) of one item in ``lang``."""
    return t(item.text_key, lang), t(item.reason_key, lang, **render_params(item.params(), lang))
