"""Scalp self-check: photo quality, measurements without trained weights, six severities,
questionnaire, care plan, local history, and the optional trained model.

Public API (nothing here imports torch; ``core.scalp.model`` and ``core.scalp.train`` do)::

    from core.scalp import Questionnaire, analyse, check_quality

    answers = Questionnaire.from_form({...})          # raises QuestionnaireError
    result = analyse(image.rgb(), answers)            # raises PhotoQualityError
    result.grades      # six ConditionGrade (image grade, source, evidence, adjustment, final)
    result.plan        # CarePlan: AdviceItem(rule_id, section, text_key, reason_key, params)
"""

from core.scalp.analysis import ScalpResult, analyse
from core.scalp.careplan import SECTIONS, AdviceItem, CarePlan, build_plan, render_item
from core.scalp.history import HistoryEntry, HistoryError, HistoryStore, compare
from core.scalp.measure import ANALYSIS_LONG_SIDE, Analysed, Measurements, measure
from core.scalp.quality import PhotoQualityError, QualityReport, check_quality
from core.scalp.questionnaire import FIELDS, MULTI, SINGLE, Questionnaire, QuestionnaireError
from core.scalp.severity import CONDITIONS, MODEL_CARD, RULES, THRESHOLDS_VERSION, ConditionGrade

__all__ = [
    "ANALYSIS_LONG_SIDE", "CONDITIONS", "FIELDS", "MODEL_CARD", "MULTI", "RULES", "SECTIONS", "SINGLE", "THRESHOLDS_VERSION",
    "AdviceItem", "Analysed", "CarePlan", "ConditionGrade", "HistoryEntry", "HistoryError", "HistoryStore",
    "Measurements", "PhotoQualityError", "QualityReport", "Questionnaire", "QuestionnaireError", "ScalpResult",
    "analyse", "build_plan", "check_quality", "compare", "measure", "render_item",
]
