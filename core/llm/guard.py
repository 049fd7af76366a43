"""Consistency guard: LLM-written chest reports and scalp care plans are checked before display.

Chest (:func:`check_chest_report`) labels the text with :mod:`core.llm.labeler` and compares
each label with the classifier's facts:

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

Care plan (:func:`check_care_plan`): fails when a condition graded >= 2 is not mentioned (or
only denied), when a condition graded 0 is asserted as present (conditional, topical or
user-reported mentions such as "if you see dandruff", "for hair loss", "you describe your scalp
as oily" are not assertions), when the text states a diagnosis (a disease name with a diagnostic
verb: "you have seborrhoeic dermatitis", "지루성 피부염입니다", "모낭염으로 진단"), or when it gives
a medication dose (a drug name and, in the same sentence, an amount with a unit: mg, ml, %,
정, 알, tablets... or a daily frequency: "twice a day", "하루 2회"). Weekly shampoo use
("2-3 times a week", "주 2~3회") is an application schedule, not a dose.

Rules and limits: ``docs/llm_guard.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from core.i18n import catalog, t
from core.llm import labeler
from core.llm.facts import ChestReportFacts
from core.llm.labeler import NO_FINDING, Mention

Kind = Literal["chest", "care_plan"]

#: Translation keys of the problems (each takes ``{names}``, a list of finding/condition names).
P_ASSERTED = "guard.problem.asserted"
P_OVERSTATED = "guard.problem.overstated"
P_NOT_ASSESSED = "guard.problem.not_assessed"
P_OMITTED = "guard.problem.omitted"
P_CONTRADICTED = "guard.problem.contradicted"
P_NORMAL_CLAIM = "guard.problem.normal_claim"
P_EMPTY = "guard.problem.empty"
P_INVENTED = "guard.problem.invented_condition"
P_OMITTED_CONDITION = "guard.problem.omitted_condition"
P_DIAGNOSIS = "guard.problem.diagnosis"
P_DOSE = "guard.problem.dose"


@dataclass(frozen=True)
class GuardResult:
    """Outcome of a check.

    Attributes:
        ok: True when the text may be shown.
        asserted_not_found: labels (chest) or conditions (scalp) the text asserts although the
            classifier did not find them (or does not assess them).
        omitted: labels / conditions the classifier flagged that the text leaves out or denies.
        problems: translation keys (namespace ``guard``) of the failed rules, in rule order.
        details: (problem key, labels or phrases it concerns) pairs, for :meth:`note`.
        kind: ``chest`` or ``care_plan`` (says what is shown instead).
    """

    ok: bool
    asserted_not_found: tuple[str, ...] = ()
    omitted: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    details: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())
    kind: Kind = "chest"

    def reasons(self, lang: str | None) -> list[str]:
        """One translated sentence part per problem."""
        out = []
        names_of = dict(self.details)
        for key in self.problems:
            names = t("guard.list_separator", lang).join(_display(n, self.kind, lang) for n in names_of.get(key, ()))
            out.append(t(key, lang, names=names))
        return out

    def note(self, lang: str | None) -> str:
        """One paragraph for the UI saying why the AI text is hidden and what is shown instead.

        Empty when ``ok``.
        """
        if self.ok:
            return ""
        reasons = t("guard.reason_separator", lang).join(self.reasons(lang))
        return t(f"guard.note.{self.kind}", lang, reasons=reasons)


def _display(name: str, kind: Kind, lang: str | None) -> str:
    if kind == "care_plan":
        key = f"scalp.condition.{name}"
        return t(key, lang) if key in catalog("en") else name
    if name == NO_FINDING:
        return t("guard.no_finding", lang)
    from core.chest.labels import localized_name

    return localized_name(name, lang)


def _result(kind: Kind, details: Sequence[tuple[str, tuple[str, ...]]], asserted: Sequence[str],
            omitted: Sequence[str]) -> GuardResult:
    details = tuple((k, tuple(dict.fromkeys(v))) for k, v in details if v or k in (P_EMPTY,))
    return GuardResult(ok=not details, asserted_not_found=tuple(dict.fromkeys(asserted)),
                       omitted=tuple(dict.fromkeys(omitted)), problems=tuple(k for k, _ in details),
                       details=details, kind=kind)


# ------------------------------------------------------------------------------ chest
def check_chest_report(text: str, facts: ChestReportFacts, lang: str) -> GuardResult:
    """Check a chest report against the classifier's facts (rules in the module docstring).

    Raises:
        TypeError: ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if not text.strip():
        return _result("chest", [(P_EMPTY, ())], (), tuple(f.label for f in facts.positives))
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
    return _result("chest", details, asserted + overstated + not_assessed, omitted_all)


# ------------------------------------------------------------------------------ scalp
# Asserting vocabulary: the condition names and their direct synonyms (a grade-0 condition
# named positively is "invented"). Broad words (oily, redness, flakes, thinning...) only count
# as *mentions* of a condition graded >= 2.
_SCALP_STRICT: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "fine_scale": (r"fine[- ]scal(?:e|es|ing)",),
        "excess_sebum": (r"excess(?:ive)? sebum", r"excess(?:ive)? oil(?:iness)?", r"oily scalp", r"seborrh?o?ea"),
        "interfollicular_erythema": (r"redness between (?:the )?follicles", r"interfollicular (?:erythema|redness)",
                                     r"(?<!follicular )erythema"),
        "follicular_erythema_pustules": (r"follicle redness(?: ?/ ?pustules)?", r"follicular (?:erythema|redness)",
                                         r"pustul(?:e|es|ar)", r"folliculitis"),
        "dandruff": (r"(?<!anti-)(?<!anti )dandruff(?! shampoo)",),
        "hair_loss": (r"hair[- ]loss(?! shampoo)", r"alopecia", r"balding"),
    },
    "ko": {
        "fine_scale": (r"미세\s?각질",),
        "excess_sebum": (r"피지\s?과다", r"과다한\s?피지", r"지성\s?두피"),
        "interfollicular_erythema": (r"모낭\s?사이\s?홍반", r"(?<!모낭)(?<!모낭 )홍반"),
        "follicular_erythema_pustules": (r"모낭\s?홍반(?:\s?농포)?", r"농포", r"모낭염"),
        "dandruff": (r"비듬(?!\s?샴푸)",),
        "hair_loss": (r"탈모(?!\s?샴푸)",),
    },
}
_SCALP_BROAD: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "fine_scale": (r"scal(?:e|es|ing|y)", r"flak(?:e|es|y|ing)"),
        "excess_sebum": (r"sebum", r"oily", r"oiliness", r"greas(?:y|iness)"),
        "interfollicular_erythema": (r"redness", r"red"),
        "follicular_erythema_pustules": (r"spots", r"pimples?", r"bumps"),
        "dandruff": (r"flak(?:e|es|y|ing)",),
        "hair_loss": (r"thinning", r"shedding", r"hair fall"),
    },
    "ko": {
        "fine_scale": (r"각질",),
        "excess_sebum": (r"피지", r"기름", r"지성"),
        "interfollicular_erythema": (r"붉", r"발적"),
        "follicular_erythema_pustules": (r"뾰루지", r"고름"),
        "dandruff": (r"각질",),
        "hair_loss": (r"숱", r"빠지", r"빠짐"),
    },
}
_SCALP_EN_PRE = (
    (r"if|for|when|whenever|whether|any|prevent(?:ing|s)?|avoid|wants?|wish|describe[ds]?|report(?:ed|s)?|in case"
     r"|such as|like|linked with|associated with|related to|candidates?|treat(?:ment|ing|s)? for|sold for"
     r"|evidence for|kind of|type of|may|might|could|can|possible|signs? of", "uncertain"),
    (r"no|not|without|free of|none|0|zero|absence of", "negative"),
)
_SCALP_EN_POST = (
    (r"or|reported|you describe|candidates?|can|may|linked|if|seen or(?: reported)?|visible or", "uncertain"),
    (r"good|none|not seen|not visible|(?:is|are|was|were) not|absent", "negative"),
    (r"mild|moderate|severe|seen|visible|present", "positive"),
)
_SCALP_KO_POST = (
    (r"(?:보이|있|하|이)?거나|(?:있|없|보이|하|이|으|라)?(?:이|으|라)?면(?=[\s,.)]|$)|경우|원함|원하|원해|관련|예방|에\s?(?:근거|효과|도움|좋|쓰|사용)"
     r"|후보|수\s?있|가능|의심|또는|답함|답했", "uncertain"),
    (r"없|않|(?:보이|관찰되|있|확인되)지\s?않|양호|정상|아님|0\s?개", "negative"),
    (r"있|보임|보이|관찰|경증|중등도|중증", "positive"),
)
_SCALP_KO_PRE = re.compile(r"또는|만약|혹시")

_DISEASES_EN = (r"seborrh?o?eic (?:dermatitis|eczema)|psoriasis|alopecia areata|androgen(?:etic|ic) alopecia"
                r"|(?:male|female)[- ]pattern (?:hair loss|baldness)|folliculitis|tinea capitis|ringworm"
                r"|telogen effluvium|(?:fungal|bacterial) infection|eczema|(?:contact )?dermatitis|lichen planopilaris"
                r"|scarring alopecia")
_DIAG_EN = re.compile(
    rf"\b(?:you (?:have|'ve got|have got|are suffering from|suffer from|likely have|probably have|may have|might have)"
    rf"|(?:this|it|that) (?:is|looks like|appears to be|seems to be|is likely|is probably)"
    rf"|diagnos(?:ed|is of|is is|ed with|ed as|e you with)|consistent with|indicat(?:es|ive of)|confirm(?:s|ed)"
    rf"|caused by|due to)\b[^.;!?\n]{{0,40}}?\b(?:{_DISEASES_EN})\b"
    rf"|\b(?:{_DISEASES_EN})\b\s+(?:is|was) (?:diagnosed|confirmed|present|the cause|the diagnosis)", re.I)
_DISEASES_KO = (r"지루성\s?(?:피부염|두피염|습진)|지루\s?피부염|건선|원형\s?탈모|안드로겐성\s?탈모|남성형\s?탈모|여성형\s?탈모"
                r"|모낭염|두부\s?백선|백선|휴지기\s?탈모|곰팡이\s?감염|진균\s?감염|습진|접촉\s?피부염")
_DIAG_KO = re.compile(
    rf"(?:{_DISEASES_KO})\s?(?:(?:으로|로|이라고|라고)\s?(?:진단|판단|보입니다|보여|보임|생각|추정)"
    rf"|(?:입니다|이다|임(?=[\s.,]|$)|이에요|예요|이네요)|(?:이|가)\s?(?:있습니다|있어요|있음|있네요|있다|맞)"
    rf"|에\s?걸리|(?:으로|로)\s?인한|증상입니다)"
    rf"|진단(?:명|\s?결과)(?:은|는)?\s?(?:{_DISEASES_KO})")
_DRUGS = (r"ketoconazole|minoxidil|finasteride|dutasteride|spironolactone|(?:cortico)?steroids?|clobetasol"
          r"|betamethasone|hydrocortisone|prednisol?one|ciclopirox|selenium sulfide|zinc pyrithione|salicylic acid"
          r"|coal tar|biotin|propecia|rogaine|케토코나졸|미녹시딜|피나스테리드|두타스테리드|스피로노락톤|스테로이드"
          r"|클로베타솔|베타메타손|하이드로코티손|프레드니솔론|시클로피록스|황화셀레늄|징크피리치온|살리실산|비오틴|프로페시아")
_DRUG_RX = re.compile(rf"(?:{_DRUGS})", re.I)
_DOSE_RX = re.compile(
    r"\d+(?:[.,]\d+)?\s?(?:mg|mcg|µg|μg|g|ml|cc|%|퍼센트|iu|정|알|캡슐|tablets?|pills?|capsules?|drops?|방울"
    r"|밀리그램|밀리리터)(?![a-z])"
    r"|(?:\d+|once|twice|three times)\s?(?:times?\s)?(?:a|per|each)\s?day"
    r"|(?:daily|하루|1일|매일|일일)\s?(?:에\s?)?\d+\s?(?:회|번|차례)|\d+\s?(?:회|번)\s?/\s?일", re.I)
_SENTENCES = re.compile(r"[^.!?\n。]+(?:[.!?。]|$)")


@cache
def _scalp_patterns(lang: str, strict: bool) -> tuple[tuple[str, re.Pattern[str]], ...]:
    table = (_SCALP_STRICT if strict else _SCALP_BROAD)[lang]
    names = catalog(lang)
    out = []
    for condition, alts in table.items():
        alts = list(alts)
        name = names.get(f"scalp.condition.{condition}")
        if strict and name:
            alts.append(r"\s?".join(re.escape(p) for p in name.split()))
        body = "|".join(f"(?:{a})" for a in alts)
        # product names ("anti-dandruff shampoo", "탈모 샴푸") are not statements about the scalp
        rx = (rf"(?<![\w-])(?<!anti-)(?<!anti )(?:{body})(?![\w])(?![- ]shampoo)" if lang == "en"
              else rf"(?:{body})(?!\s?샴푸)")
        out.append((condition, re.compile(rx, re.I)))
    return tuple(out)


_SCALP_EN_PRE_RX = labeler._compile_cues(_SCALP_EN_PRE, True)
_SCALP_EN_POST_RX = labeler._compile_cues(_SCALP_EN_POST, True)
_SCALP_KO_POST_RX = labeler._compile_cues(_SCALP_KO_POST, False)


def scalp_mentions(text: str, lang: str, strict: bool = True) -> list[Mention]:
    """Condition mentions in a care-plan text with their status (``label`` is the condition).

    ``strict``: only names and direct synonyms (what counts as asserting a condition);
    otherwise broad words too (what counts as mentioning one).

    Raises:
        ValueError: ``lang`` is neither ``"en"`` nor ``"ko"``.
    """
    if lang not in ("en", "ko"):
        raise ValueError(f"unsupported language {lang!r}")
    found: list[tuple[int, int, str, str]] = []
    langs = ("ko", "en") if lang == "ko" else ("en",)
    for mlang in langs:
        pats = list(_scalp_patterns(mlang, True))
        if not strict:
            pats += list(_scalp_patterns(mlang, False))
        for condition, rx in pats:
            found.extend((m.start(), m.end(), condition, mlang) for m in rx.finditer(text) if m.end() > m.start())
    kept = labeler.keep_longest(found)
    clauses = labeler._clauses(text, lang)
    out = []
    for a, b, condition, _ in kept:
        ca, cb = next(((x, y) for x, y in clauses if x <= a < y), (0, len(text)))
        clause = text[ca:cb]
        status, cue = _scalp_status(clause, a - ca, b - ca, lang)
        out.append(Mention(condition, a, b, text[a:b], status, cue))  # type: ignore[arg-type]
    return out


def _scalp_status(clause: str, start: int, end: int, lang: str) -> tuple[str, str | None]:
    if lang == "ko":
        post = labeler._nearest(_SCALP_KO_POST_RX, clause[end:], last=False)
        if post is not None:
            return post[0], post[1]
        pre = _SCALP_KO_PRE.search(clause[:start])
        if pre:
            return "uncertain", pre.group(0)
    pre_en = labeler._nearest(_SCALP_EN_PRE_RX, clause[:start], last=True)
    post_en = labeler._nearest(_SCALP_EN_POST_RX, clause[end:], last=False)
    found = [c for c in (pre_en, post_en) if c is not None]
    for status in ("uncertain", "negative"):
        for c in found:
            if c[0] == status:
                return status, c[1]
    return "positive", (post_en[1] if post_en else None)


def find_diagnoses(text: str) -> list[str]:
    """Phrases that state a diagnosis (disease name + diagnostic verb), Korean or English."""
    return [m.group(0) for rx in (_DIAG_EN, _DIAG_KO) for m in rx.finditer(text)]


def find_doses(text: str) -> list[str]:
    """Sentences giving a medication dose: a drug name and an amount or a daily frequency."""
    return [s.strip() for s in _SENTENCES.findall(text) if _DRUG_RX.search(s) and _DOSE_RX.search(s)]


def check_care_plan(text: str, grades: Mapping[str, int | None], lang: str) -> GuardResult:
    """Check a scalp care-plan text against the six grades (rules in the module docstring).

    ``grades``: condition -> 0..3, or None when it could not be graded (then it is neither
    required nor treated as absent).

    Raises:
        TypeError: ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    required = tuple(c for c, g in grades.items() if g is not None and g >= 2)
    if not text.strip():
        return _result("care_plan", [(P_EMPTY, ())], (), required)
    lang = "ko" if lang == "ko" or labeler.detect_lang(text) == "ko" else "en"
    strict = scalp_mentions(text, lang, strict=True)
    broad = scalp_mentions(text, lang, strict=False)
    invented = [m.label for m in strict if m.status == "positive" and grades.get(m.label) == 0]
    present = {m.label for m in broad if m.status in ("positive", "uncertain")}
    omitted = [c for c in required if c not in present]
    details = [
        (P_INVENTED, tuple(invented)),
        (P_OMITTED_CONDITION, tuple(omitted)),
        (P_DIAGNOSIS, tuple(find_diagnoses(text))),
        (P_DOSE, tuple(find_doses(text))),
    ]
    return _result("care_plan", details, invented, omitted)
