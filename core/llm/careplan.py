"""What a care-plan writer is given: the knowledge-base plan, the six final grades and the answers.

:class:`CarePlanFacts` is to the scalp page what :class:`~core.chest.facts.ChestReportFacts` is to
the chest page: one immutable object every writer works from. The structured writer renders the
knowledge-base plan as text; LLM writers rephrase that plan as a personal plan, and the guard
(``core.llm.careplan_guard.check_care_plan``) checks their text against the grades.

Nothing here imports ``core.scalp`` at module level (it pulls in OpenCV and scikit-image); the
types are only needed for annotations and :func:`care_plan_facts` imports what it uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.scalp.severity import CONDITIONS

if TYPE_CHECKING:
    from core.scalp.careplan import CarePlan
    from core.scalp.questionnaire import Questionnaire
    from core.scalp.severity import ConditionGrade


@dataclass(frozen=True)
class CarePlanFacts:
    """Everything a personal care plan may say.

    Attributes:
        plan: the knowledge-base plan (rule ids, sections, text/reason keys and parameters).
        grades: ``(condition, final grade 0-3 or None)`` for the six conditions, in display order.
        answers: the validated questionnaire.
        pustules: pustules counted in the photo (the plan's doctor rule uses it).
    """

    plan: CarePlan
    grades: tuple[tuple[str, int | None], ...]
    answers: Questionnaire
    pustules: int = 0
    kind: str = "careplan"

    def grade_map(self) -> dict[str, int | None]:
        """``{condition: final grade}`` (what the guard checks against)."""
        return dict(self.grades)


def care_plan_facts(plan: CarePlan, grades: tuple[ConditionGrade, ...] | Mapping[str, int | None],
                    answers: Questionnaire, pustules: int = 0) -> CarePlanFacts:
    """Build :class:`CarePlanFacts` from a scalp result's plan, final grades and answers.

    ``grades`` is either the result's ``ConditionGrade`` tuple or a ``{condition: grade}`` map;
    the six conditions are kept in :data:`core.scalp.severity.CONDITIONS` order (a condition the
    map does not give is ``None``).

    Raises:
        ValueError: ``grades`` names a condition that is not one of the six.
    """
    if isinstance(grades, Mapping):
        grade_map = dict(grades)
    else:
        grade_map = {g.condition: g.final_grade for g in grades}
    unknown = sorted(set(grade_map) - set(CONDITIONS))
    if unknown:
        raise ValueError(f"unknown scalp conditions: {unknown}")
    ordered = tuple((c, grade_map.get(c)) for c in CONDITIONS)
    return CarePlanFacts(plan=plan, grades=ordered, answers=answers, pustules=int(pustules))
