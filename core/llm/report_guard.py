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

Sides: a sentence that names flagged lung, pleura or bone findings and a side ("left", "right", "both
lungs"; "좌측", "우측", "양측") may name only sides their heatmaps give (``wrong_side``): a finding's own
side, either side for a bilateral one, none for one whose heatmap points outside the lung fields; with
several findings in one sentence, the sides of any of them (which side belongs to which would be a
guess). A sentence that names a side and no finding at all (a place on its own) must name a side some
flagged finding's heatmap gives (``stray_side``). The input check's own notes ("right and left may be
swapped") and heart, mediastinum or diaphragm findings ("left heart border") are not side-checked.

Rules and limits: ``docs/llm_guard.md``.
"""

from __future__ import annotations

import re

from core.chest.facts import ChestReportFacts, FindingFact
from core.i18n import t
from core.llm import labeler
from core.llm.guard_result import (
    P_ASSERTED,
    P_CONTRADICTED,
    P_EMPTY,
    P_NORMAL_CLAIM,
    P_NOT_ASSESSED,
    P_OMITTED,
    P_OVERSTATED,
    P_STRAY_SIDE,
    P_WRONG_SIDE,
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
    wrong_side, stray_side = _wrong_sides(text, mentions, facts)
    details = [
        (P_ASSERTED, tuple(asserted)),
        (P_OVERSTATED, tuple(overstated)),
        (P_NOT_ASSESSED, tuple(not_assessed)),
        (P_OMITTED, tuple(omitted)),
        (P_CONTRADICTED, tuple(contradicted)),
        (P_NORMAL_CLAIM, (NO_FINDING,) if normal_claim else ()),
        (P_WRONG_SIDE, tuple(wrong_side)),
        (P_STRAY_SIDE, tuple(stray_side)),
    ]
    omitted_all = omitted + [x for x in contradicted if status.get(x) == "positive"]
    return guard_result("chest", details, asserted + overstated + not_assessed, omitted_all)


_SIDED = ("lung", "pleura", "bone")
_SIDE_WORDS: dict[str, re.Pattern[str]] = {
    "bilateral": re.compile(r"\b(?:bilateral(?:ly)?|both\s+(?:lungs?|sides|hemithora(?:x|ces)))\b|양측|양쪽|양\s?폐", re.IGNORECASE),
    "right": re.compile(r"\bright\b|우측|오른쪽|우\s?폐|우[상중하]폐", re.IGNORECASE),
    "left": re.compile(r"\bleft\b|좌측|왼쪽|좌\s?폐|좌[상중하]폐", re.IGNORECASE),
}
_ALLOWED = {"right": {"right"}, "left": {"left"}, "bilateral": {"right", "left", "bilateral"}}
_SENTENCE_END = re.compile(r"(?<!\d)\.(?!\d)|[!?\n。]")


def _wrong_sides(text: str, mentions: list[labeler.Mention], facts: ChestReportFacts) -> tuple[list[str], list[str]]:
    """(labels placed on a side their heatmaps do not give, side words of sentences about no finding that
    no flagged finding's heatmap gives); rules in the module docstring."""
    by_label: dict[str, FindingFact] = {f.label: f for f in facts.findings}
    flagged_sided = [f for f in facts.findings if f.region in _SIDED and f.status != "negative"]
    text = _blank_gate_notes(text, facts)
    cuts = [0, *(m.end() for m in _SENTENCE_END.finditer(text)), len(text)]
    wrong: list[str] = []
    stray: list[str] = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        inside = [m for m in mentions if a <= m.start < b]
        sentence = text[a:b]
        for m in inside:  # a side word inside a finding's own name ("right heart") is not a side
            sentence = sentence[: m.start - a] + " " * (m.end - m.start) + sentence[m.end - a:]
        one_sided = _SIDE_WORDS["bilateral"].sub(lambda m: " " * len(m.group(0)), sentence)  # "both lungs" is no one side
        stated = {side for side, rx in _SIDE_WORDS.items() if rx.search(sentence if side == "bilateral" else one_sided)}
        if not stated:
            continue
        named = {m.label for m in inside if m.status in ("positive", "uncertain") and m.label != NO_FINDING}
        sided = [by_label[x] for x in sorted(named) if x in by_label and by_label[x].region in _SIDED and by_label[x].status != "negative"]
        if sided:
            if stated - set().union(*(_allowed(f) for f in sided)):
                wrong.extend(f.label for f in sided)
        elif not inside:  # a place with no finding named: some flagged finding's heatmap must point there
            extra = stated - set().union(*(_allowed(f) for f in flagged_sided))
            stray.extend(sorted(extra))
    return wrong, stray


def _allowed(fact: FindingFact) -> set[str]:
    """Sides a text may give this finding: its heatmap's side (either, for bilateral); none when the
    heatmap points outside the lungs or gave no side."""
    return set() if fact.outside or fact.side is None else _ALLOWED[fact.side]


def _blank_gate_notes(text: str, facts: ChestReportFacts) -> str:
    """The text with the input check's own notes blanked ("right and left in the result may be swapped")."""
    for key in facts.gate_notes:
        for lang in ("en", "ko"):
            note = t(key, lang)
            text = text.replace(note, " " * len(note))
    return text
