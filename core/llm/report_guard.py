"""Consistency guard of LLM-written chest reports, checked before display.

:func:`check_chest_report` labels the text with :mod:`core.llm.labeler` and compares each label with
the classifier's facts:

=========================  ======================  =====================  =====================
text says \\ classifier     positive                uncertain              negative
=========================  ======================  =====================  =====================
positive                    ok                      fail (overstated)      fail (asserted)
uncertain                   ok (counts as present)  ok                     fail (asserted)
negative                    fail (contradicted)     fail (contradicted)    ok
not mentioned               fail (omitted)          ok                     ok
=========================  ======================  =====================  =====================

A positive or uncertain mention of a finding the classifier does not assess at all (absent
from ``facts.findings``) fails (``not_assessed``); a normal-study statement ("no acute
cardiopulmonary abnormality") fails when the classifier flagged anything.

Rules and limits: ``docs/llm_guard.md``.
"""

from __future__ import annotations

from core.chest.facts import ChestReportFacts
from core.llm import labeler
from core.llm.guard_result import (
    P_ASSERTED,
    P_CONTRADICTED,
    P_EMPTY,
    P_NORMAL_CLAIM,
    P_NOT_ASSESSED,
    P_OMITTED,
    P_OVERSTATED,
    GuardResult,
    guard_result,
)
from core.llm.labeler import NO_FINDING


def check_chest_report(text: str, facts: ChestReportFacts, lang: str) -> GuardResult:
    """Check a chest report against the classifier's facts (rules in the module docstring).

    Raises:
        TypeError: ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if not text.strip():
        return guard_result("chest", [(P_EMPTY, ())], (), tuple(f.label for f in facts.positives))
    mentions = labeler.find_mentions(text, "ko" if lang == "ko" or labeler.detect_lang(text) == "ko" else "en")
    said = labeler.aggregate(mentions)
    said.pop(NO_FINDING, None)
    status = {f.label: f.status for f in facts.findings}
    asserted, overstated, not_assessed, contradicted, omitted = [], [], [], [], []
    for label, claim in said.items():
        truth = status.get(label)
        if truth is None:
            if claim in ("positive", "uncertain"):
                not_assessed.append(label)
        elif claim == "positive" and truth == "uncertain":
            overstated.append(label)
        elif claim in ("positive", "uncertain") and truth == "negative":
            asserted.append(label)
        elif claim == "negative" and truth in ("positive", "uncertain"):
            contradicted.append(label)
    for fact in facts.positives:
        if said.get(fact.label) is None:
            omitted.append(fact.label)
    normal_claim = facts.positives and any(m.label == NO_FINDING and m.status == "positive" for m in mentions)
    details = [
        (P_ASSERTED, tuple(asserted)),
        (P_OVERSTATED, tuple(overstated)),
        (P_NOT_ASSESSED, tuple(not_assessed)),
        (P_OMITTED, tuple(omitted)),
        (P_CONTRADICTED, tuple(contradicted)),
        (P_NORMAL_CLAIM, (NO_FINDING,) if normal_claim else ()),
    ]
    omitted_all = omitted + [x for x in contradicted if status.get(x) == "positive"]
    return guard_result("chest", details, asserted + overstated + not_assessed, omitted_all)

