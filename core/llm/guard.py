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
only denied); when a condition graded 0 is asserted as present (conditional, topical or
user-reported mentions such as "if you see dandruff", "for hair loss", "you describe your scalp
as oily" are not assertions); when a severity word contradicts a grade ("mild", "barely",
"가벼운", "약간" for a condition graded >= 2, "severe", "심한" for one graded 0-1); when the
knowledge base's plan for these grades sends the user to a dermatologist (rules D-SEVERE,
D-PUSTULE, D-LOSS) and the text does not; when it states a diagnosis, plain or hedged (a disease
name with a diagnostic verb: "you have seborrhoeic dermatitis", "it's psoriasis", "points to
folliculitis", "지루성 피부염일 가능성", "모낭염 같습니다"); when it gives a medication dose (an
amount in a medical unit whatever the drug: "100 mg", "one tablet", "1정", "두 알"; a drug with %/g;
or a daily frequency such as "twice a day", "하루 두 번" in a sentence about a drug or medicine);
or when it brings in medication (a prescription drug or antibiotic, or minoxidil recommended
without asking a pharmacist or doctor). Weekly shampoo use ("2-3 times a week", "주 2~3회") and
washing once a day are not doses.

Rules and limits: ``docs/llm_guard.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Literal

from core.chest.facts import ChestReportFacts
from core.i18n import catalog, t
from core.llm import labeler
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
P_MEDICATION = "guard.problem.medication"
P_SEVERITY = "guard.problem.severity"
P_REFERRAL = "guard.problem.referral"


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
# A disease name after a diagnostic verb, plain or hedged ("you have", "it's", "this looks like",
# "suggests", "points to", "most likely"...), or before one ("psoriasis is likely").
_DIAG_EN = re.compile(
    rf"\b(?:you (?:most |very |quite )?(?:likely |probably |possibly |may |might |could |must )?"
    rf"(?:have|'ve got|have got|are suffering from|suffer from|are dealing with)"
    rf"|(?<!whether )(?<!if )(?:this|it|that|these|they)(?:'s|’s|'re|’re| is| are| looks? like| appears? to be| seems? to be"
    rf"| seems? like| could be| may be| might be| must be| is likely| is probably)"
    rf"|diagnos(?:ed|is of|is is|ed with|ed as|e you with)|consistent with|indicat(?:es|ive of)|confirm(?:s|ed)"
    rf"|suggest(?:s|ing|ive of)|point(?:s|ing)? (?:to|towards?)|most likely|(?:likely|probably|possibly) (?:is|has|be)"
    rf"|typical of|characteristic of|sounds? like|resembl(?:es|ing)|caused by|due to)\b"
    rf"[^.;!?\n]{{0,40}}?\b(?:{_DISEASES_EN})\b"
    rf"|\b(?:{_DISEASES_EN})\b\s+(?:is|was|seems|looks) (?:diagnosed|confirmed|present|the cause|the diagnosis"
    rf"|(?:most |very )?likely|probable|suspected)", re.I)
_DISEASES_KO = (r"지루성\s?(?:피부염|두피염|습진)|지루\s?피부염|건선|원형\s?탈모|안드로겐성\s?탈모|남성형\s?탈모|여성형\s?탈모"
                r"|모낭염|두부\s?백선|백선|휴지기\s?탈모|곰팡이\s?감염|진균\s?감염|습진|접촉\s?피부염")
# Korean: the disease name, then a copula or a (hedged) diagnostic predicate ("~입니다", "~으로 진단",
# "~일 가능성이 높습니다", "~ 같습니다", "~이 의심됩니다", "~을 시사").
_DIAG_KO = re.compile(
    rf"(?:{_DISEASES_KO})\s?(?:(?:으로|로|이라고|라고)\s?(?:진단|판단|보입니다|보여|보임|보이|생각|추정|의심)"
    rf"|(?:입니다|이다|임(?=[\s.,]|$)|이에요|예요|이네요)|(?:이|가)\s?(?:있습니다|있어요|있음|있네요|있다|맞)"
    rf"|(?:이|가)\s?(?:의심|보입|보여|보이|시사|추정|강하게)|(?:을|를)\s?(?:시사|의심|암시)"
    rf"|(?:일|인)\s?(?:가능성|것\s?같|것으로|듯|수\s?(?:도\s?)?있)|(?:의\s?)?가능성(?:이|은|도)?\s?(?:높|있|큽|크|많)"
    rf"|같(?:습니다|아요|네요|음|다(?=[\s.,]|$))|(?:의\s?)?(?:증상|소견|징후)(?:입니다|으로\s?보|이\s?보|과\s?일치)"
    rf"|에\s?걸리|(?:으로|로)\s?인한|증상입니다)"
    rf"|진단(?:명|\s?결과)(?:은|는)?\s?(?:{_DISEASES_KO})")
# Non-prescription actives the knowledge base itself names (anti-dandruff shampoos, topical minoxidil).
_OTC_DRUGS = (r"ketoconazole|minoxidil|ciclopirox|selenium sulfide|zinc pyrithione|salicylic acid|coal tar|biotin"
              r"|rogaine|케토코나졸|미녹시딜|시클로피록스|황화셀레늄|징크피리치온|살리실산|비오틴")
# Prescription drugs (and anything oral): the knowledge base never names one, so a plan must not either.
_RX_DRUGS = (r"finasteride|dutasteride|spironolactone|(?:cortico)?steroids?|clobetasol|betamethasone|hydrocortisone"
             r"|prednis(?:ol)?one|triamcinolone|mometasone|fluocinolone|isotretinoin|propecia|avodart"
             r"|(?:oral )?antibiotics?|antibacterials?|doxycycline|minocycline|tetracycline|clindamycin|erythromycin"
             r"|azithromycin|cefalexin|cephalexin|amoxicillin|fusidic acid|mupirocin|terbinafine|griseofulvin"
             r"|itraconazole|fluconazole|baricitinib|ritlecitinib|tofacitinib|methotrexate|cyclosporine|ciclosporin"
             r"|dupilumab|oral (?:\w+ )?(?:minoxidil|medications?|medicines?|drugs?|tablets?|pills?|treatments?)"
             r"|피나스테리드|두타스테리드|스피로노락톤|스테로이드|클로베타솔|베타메타손|하이드로코티손|프레드니솔론"
             r"|트리암시놀론|이소트레티노인|프로페시아|아보다트|항생제|항생\s?연고|항균제|독시사이클린|미노사이클린"
             r"|테트라사이클린|클린다마이신|에리스로마이신|아지트로마이신|세팔렉신|아목시실린|무피로신|테르비나핀"
             r"|그리세오풀빈|이트라코나졸|플루코나졸|바리시티닙|메토트렉세이트|사이클로스포린"
             r"|(?:먹는|경구|복용하는)\s?(?:약|미녹시딜|치료제|항생제)|경구\s?약")
_DRUGS = f"{_OTC_DRUGS}|{_RX_DRUGS}"
_DRUG_RX = re.compile(rf"(?:{_DRUGS})", re.I)
_RX_DRUG_RX = re.compile(rf"(?<![\w-])(?:{_RX_DRUGS})(?!-free)", re.I)
_NUM_EN = r"\d+(?:[.,]\d+)?|one|two|three|four|five|six|ten|half an?|a half|an?"
_NUM_KO = r"\d+(?:[.,]\d+)?|한|두|세|네|다섯|반"
# An amount in a medical unit is a dose whatever the drug ("100 mg", "one tablet", "1정", "두 알").
_UNIT_DOSE_RX = re.compile(
    rf"(?<![\w.])(?:\d+(?:[.,]\d+)?)\s?(?:mg|mcg|µg|μg|ml|cc|iu|milligrams?|millilit(?:er|re)s?|밀리그램|밀리리터"
    rf"|정(?!도)|알|캡슐|방울)(?![a-z])"
    rf"|\b(?:{_NUM_EN})[\s-]?(?:tablets?|pills?|capsules?|drops?)\b"
    rf"|(?<![가-힣])(?:{_NUM_KO})\s(?:알|캡슐|방울)(?:씩|을|만|이)?(?![가-힣])", re.I)
# An amount only a drug gives meaning to ("5%", "2 g").
_AMOUNT_RX = re.compile(r"\d+(?:[.,]\d+)?\s?(?:%|퍼센트|g)(?![a-z])", re.I)
# A daily (not weekly) frequency: a dose when the sentence is about a drug or a medicine.
_DAILY_RX = re.compile(
    rf"\b(?:once|twice|thrice|three times|(?:{_NUM_EN}|\d+) times?)\s?(?:a|per|each|every)\s?day\b"
    rf"|\b(?:once|twice|thrice|three times|\d+ times) (?:daily|nightly)\b|\bevery \d+ hours\b|\b(?:b\.?i\.?d|t\.?i\.?d|q\.?d)\b"
    rf"|(?:daily|하루|1일|매일|일일)\s?(?:에\s?)?(?:{_NUM_KO}|\d+)\s?(?:회|번|차례)|\d+\s?(?:회|번)\s?/\s?일"
    rf"|아침\s?저녁(?:으로)?\s?(?:복용|드세요|바르세요)", re.I)
_MED_CONTEXT_RX = re.compile(
    r"\b(?:take|taking|swallow|dose|dosage|medicines?|medications?|drugs?|tablets?|pills?|capsules?|foam|solution"
    r"|lotion|ointment|cream|topical|oral|prescri\w*)\b|복용|먹(?:는|으|어)|드세요|드시|알약|(?:바르는|먹는)\s?약"
    r"|약(?:을|은|이|물)|연고|크림|용액|폼", re.I)
# Recommending minoxidil ("start", "use", "바르세요") needs the pharmacist/doctor step the knowledge
# base gives; prescription drugs are refused whatever the wording unless the sentence forbids them.
_START_RX = re.compile(
    r"\b(?:start(?:ing)?|begin(?:ning)?|take|taking|use|using|try|apply|applying|buy|get|switch to|add|consider)\b"
    r"|시작하|바르세요|발라\s?(?:보|주)|사용하세요|사용해\s?보|쓰세요|써\s?보|복용|드세요|드시|구입|구매", re.I)
_DEFER_RX = re.compile(
    r"\b(?:pharmacists?|doctors?|dermatologists?|physicians?|GP|prescri\w*)\b|약사|의사|피부과|전문의|상의|처방", re.I)
_MINOXIDIL_RX = re.compile(r"minoxidil|rogaine|미녹시딜", re.I)
_FORBID_RX = re.compile(
    r"\b(?:do not|don't|never|avoid|should not|shouldn't|must not|not to|no need"
    r"|(?:is|are) not (?:needed|necessary|recommended|required))\b"
    r"|마세요|말고|말아야|말\s?것|금물|삼가|피하세요|필요(?:는|가)?\s?없|필요하지\s?않", re.I)
_SENTENCES = re.compile(r"(?:[^.!?\n。]|(?<=\d)\.(?=\d))+[.!?。]?")  # a line without a full stop is a sentence too


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
    """Phrases that state a diagnosis (disease name + diagnostic verb, plain or hedged), Korean or English."""
    return [m.group(0) for rx in (_DIAG_EN, _DIAG_KO) for m in rx.finditer(text)]


def _sentences(text: str) -> list[tuple[int, int]]:
    return [(m.start(), m.end()) for m in _SENTENCES.finditer(text) if m.group(0).strip()]


@lru_cache(maxsize=4096)
def _is_dose(sentence: str) -> bool:
    if _UNIT_DOSE_RX.search(sentence):
        return True
    drug = _DRUG_RX.search(sentence)
    if drug and _AMOUNT_RX.search(sentence):
        return True
    return bool(_DAILY_RX.search(sentence) and (drug or _MED_CONTEXT_RX.search(sentence)))


def find_doses(text: str) -> list[str]:
    """Sentences giving a medication dose.

    A dose is an amount in a medical unit ("100 mg", "one tablet", "1정", "두 알"), whatever the
    drug; an amount in %/g with a drug name; or a daily frequency ("twice a day", "하루 두 번")
    in a sentence about a drug or a medicine. Washing once a day and weekly shampoo use are not doses.
    """
    return [text[a:b].strip() for a, b in _sentences(text) if _is_dose(text[a:b])]


def find_medication_advice(text: str) -> list[str]:
    """Sentences that bring in medication the knowledge base does not give.

    A prescription drug or an oral medicine (finasteride, steroids, antibiotics, doxycycline,
    항생제...) named in a sentence that does not forbid it ("do not", "마세요"); or a drug such as
    minoxidil recommended ("start", "use", "바르세요") without the pharmacist/doctor step in that
    sentence or the next one. Dose sentences are left to :func:`find_doses`.
    """
    spans = _sentences(text)
    out = []
    for i, (a, b) in enumerate(spans):
        sentence = text[a:b]
        if _is_dose(sentence) or _FORBID_RX.search(sentence):
            continue
        following = text[spans[i + 1][0]:spans[i + 1][1]] if i + 1 < len(spans) else ""
        if _RX_DRUG_RX.search(sentence):
            out.append(sentence.strip())
        elif (_MINOXIDIL_RX.search(sentence) and _START_RX.search(sentence)
              and not _DEFER_RX.search(sentence) and not _DEFER_RX.search(following)):
            out.append(sentence.strip())
    return out


# ------------------------------------------------------------------------------ severity words
# Words that rate a sign lower than moderate, or as severe. "not severe" is a low word; product
# adjectives ("a mild shampoo", "mild, fragrance-free products") and comparisons ("more severe",
# "slightly more often", "조금 더", "더 이르고 심한") are not ratings of the sign.
_PRODUCT_EN = r"shampoos?|products?|cleansers?|soaps?|formulas?|formulations?|conditioners?|washes|care|ones?|detergents?"
_SEVERITY_EN = re.compile(
    r"(?P<low>\bnot (?:very |too |that )?(?:severe|serious|bad)\b"
    rf"|\bmild(?:ly)?\b(?!,?\s+(?:[\w-]+,?\s+){{0,2}}?(?:{_PRODUCT_EN})\b)"
    r"|\bslight(?:ly)?\b(?! (?:more|less|longer|shorter|warmer|cooler)\b)|\bminimal(?:ly)?\b|\bminor\b|\bbarely\b"
    r"|\bhardly\b|\bscarcely\b|\bfaint(?:ly)?\b|\bnegligible\b|\btraces? of\b)"
    r"|(?P<high>(?<!more )(?<!less )(?<!most )(?<!even )\b(?:severe(?:ly)?|serious(?:ly)?|extreme(?:ly)?|intense"
    r"|advanced|profuse)\b)", re.I)
_SEVERITY_KO = re.compile(
    r"(?P<low>(?:심하|심각하)지\s?(?:는\s?)?않|심한\s?편(?:은|이)?\s?아니|가벼운|가볍(?:습|다|워)|약간(?!\s?더)|경미|경증|살짝|조금(?!\s?더|씩)"
    r"|미미|미약|거의\s?(?:없|안|보이지))"
    r"|(?P<high>심한|심하게|심합|심해요|심함|심각|중증(?!도)|극심)")
_COMPARATIVE_KO = re.compile(r"더\s?(?:[가-힣]+\s)?$|보다\s?$")
# Conditional or user-reported sentences do not rate the photo ("if the redness becomes severe",
# "you describe your scalp as slightly oily", "심해지면", "답함").
_NOT_A_RATING_EN = re.compile(r"\b(?:if|when|whenever|unless|in case|should it|you describe|you report(?:ed)?"
                              r"|you said|you mentioned|you feel)\b", re.I)
_NOT_A_RATING_KO = re.compile(r"[가-힣]면(?=[\s,.)]|$)|경우|때(?:는|에|엔)?(?=\s)|답함|답했|답하|말씀|느끼")


def find_severity_conflicts(text: str, grades: Mapping[str, int | None], lang: str,
                            mentions: Sequence[Mention] | None = None) -> list[str]:
    """Conditions the text rates against their grade, in text order.

    A low word ("mild", "barely", "not severe", "가벼운", "약간", "경증") for a condition graded >= 2,
    or a high word ("severe", "심한", "중증") for one graded 0-1. Each word goes with the nearest
    condition mention (name or broad word) in its sentence; denied mentions take no high word;
    conditional and user-reported sentences are skipped. ``mentions``: ``scalp_mentions(text, lang,
    strict=False)`` when already computed.

    Raises:
        ValueError: ``lang`` is neither ``"en"`` nor ``"ko"``.
    """
    if mentions is None:
        mentions = scalp_mentions(text, lang, strict=False)
    out: list[str] = []
    for a, b in _sentences(text):
        sentence = text[a:b]
        inside = [m for m in mentions if a <= m.start < b]
        if not inside or _NOT_A_RATING_EN.search(sentence) or (lang == "ko" and _NOT_A_RATING_KO.search(sentence)):
            continue
        for rx in (_SEVERITY_KO, _SEVERITY_EN) if lang == "ko" else (_SEVERITY_EN,):
            for w in rx.finditer(sentence):
                ws, we = a + w.start(), a + w.end()
                if rx is _SEVERITY_KO and _COMPARATIVE_KO.search(text[a:ws]):
                    continue
                # nearest mention; at equal distance the one before the word
                m = min(inside, key=lambda m: (max(m.start - we, ws - m.end, 0), m.start > ws))
                grade = grades.get(m.label)
                if grade is None:
                    continue
                if w.group("low") and grade >= 2:
                    out.append(m.label)
                elif w.group("high") and grade <= 1 and m.status != "negative":
                    out.append(m.label)
    return list(dict.fromkeys(out))


# ------------------------------------------------------------------------------ referral
#: Doctor rules of the knowledge base (core.scalp.careplan) that the grades alone trigger, and when.
#: ``tests/llm/test_guard.py`` checks this table against ``build_plan`` for all 4,096 grade sets.
REFERRAL_RULES: tuple[tuple[str, str], ...] = (
    ("D-SEVERE", "any condition graded 3"),
    ("D-PUSTULE", "follicle redness / pustules graded >= 2, or pustules counted"),
    ("D-LOSS", "hair loss graded >= 2"),
)
_DERMATOLOGIST = re.compile(r"\b(?:dermatolog\w*|skin (?:specialist|doctor|clinic))\b|피부과|피부\s?전문의", re.I)
_DOCTOR = re.compile(r"\b(?:doctors?|physicians?|GPs?|general practitioner|specialists?|clinic|hospital"
                     r"|medical (?:advice|attention|care|help|professional)|health ?care (?:provider|professional))\b"
                     r"|의사|병원|진료|전문의|의료진|의원", re.I)
_NO_NEED = re.compile(
    r"\b(?:no need|(?:do not|don't|doesn't|does not|won't|will not) (?:need|have to)|needn't|not (?:necessary|needed|required)"
    r"|unnecessary|no reason to|(?:do not|don't|never) (?:see|visit|consult|go)|instead of (?:seeing|visiting))\b"
    r"|필요(?:는|가)?\s?없|필요하지\s?않|가지\s?않아도|안\s?가도|받지\s?않아도|않아도\s?(?:됩|돼|괜찮)", re.I)
# A plain doctor mention counts only when it is not a catch-all ("see a doctor whenever something
# worries you", "if it goes on"); a dermatologist mention counts in any form the knowledge base uses.
_CATCH_ALL = re.compile(r"\b(?:if|whenever|when|in case|worr\w*|concern\w*)\b|걱정|[가-힣]면(?=[\s,.)]|$)|경우", re.I)


def required_referrals(grades: Mapping[str, int | None], pustules: int = 0) -> tuple[str, ...]:
    """Ids of the knowledge-base doctor rules the grades (and pustule count) trigger (None read as 0)."""
    g = {c: v or 0 for c, v in grades.items()}
    out = []
    if any(v >= 3 for v in g.values()):
        out.append("D-SEVERE")
    if pustules > 0 or g.get("follicular_erythema_pustules", 0) >= 2:
        out.append("D-PUSTULE")
    if g.get("hair_loss", 0) >= 2:
        out.append("D-LOSS")
    return tuple(out)


def has_referral(text: str) -> bool:
    """True when a sentence sends the reader to a dermatologist (or, not as a catch-all, a doctor)."""
    for a, b in _sentences(text):
        sentence = text[a:b]
        if _NO_NEED.search(sentence):
            continue
        if _DERMATOLOGIST.search(sentence) or (_DOCTOR.search(sentence) and not _CATCH_ALL.search(sentence)):
            return True
    return False


def check_care_plan(text: str, grades: Mapping[str, int | None], lang: str, *, pustules: int = 0,
                    referrals: Sequence[str] | None = None) -> GuardResult:
    """Check a scalp care-plan text against the six grades (rules in the module docstring).

    ``grades``: condition -> 0..3, or None when it could not be graded (then it is neither
    required nor treated as absent). ``pustules``: pustules counted in the photo (the knowledge
    base's D-PUSTULE doctor rule uses it; 0 when unknown). ``referrals``: the dermatologist rules
    (:data:`REFERRAL_RULES` ids) the knowledge-base plan actually fired, when the caller has the
    plan (answers can fire them too); otherwise they are inferred from the grades.

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
    severity = [c for c in find_severity_conflicts(text, grades, lang, broad) if c not in invented]
    known = {rule for rule, _ in REFERRAL_RULES}
    referrals = (required_referrals(grades, pustules) if referrals is None
                 else tuple(r for r in referrals if r in known))
    details = [
        (P_INVENTED, tuple(invented)),
        (P_OMITTED_CONDITION, tuple(omitted)),
        (P_SEVERITY, tuple(severity)),
        (P_REFERRAL, referrals if referrals and not has_referral(text) else ()),
        (P_DIAGNOSIS, tuple(find_diagnoses(text))),
        (P_DOSE, tuple(find_doses(text))),
        (P_MEDICATION, tuple(find_medication_advice(text))),
    ]
    return _result("care_plan", details, invented, omitted)
