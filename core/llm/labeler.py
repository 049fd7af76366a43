"""Rule-based chest report labeler (Korean and English), in the spirit of the CheXpert/NegBio labeler.

Three steps, all regular expressions (no model, no network):

1. **Mentions**: every phrase that names one of the 18 chest findings of ``core.chest.labels``
   (synonyms and morphology: ``pleural fluid``, ``costophrenic blunting``, ``enlarged heart``,
   ``흉수``, ``심비대``, ``lung tumor`` (Mass), ``collapsed lung`` (Atelectasis), ``air in the
   pleural space`` (Pneumothorax)...), plus the translated names in ``locales/*/chest.json``, which the
   structured writer prints. Overlapping matches keep the longest.
2. **Classification** of each mention as ``positive``, ``negative`` or ``uncertain`` by cue
   phrases inside the mention's *clause* (a sentence cut at "but", "however", "although",
   "except", "which", "there is", ";", "지만", "으나", connective endings such as "없고 "...):

   * English: the nearest cue *before* the mention (``no``, ``without``, ``free of``,
     ``possible``, ``may``, ``cannot exclude``...) and the nearest cue *after* it (``is not
     seen``, ``has resolved``, ``cannot be excluded``, ``unlikely``...). Uncertainty beats
     negation beats the default, positive.
   * Korean puts the predicate after the noun: the nearest cue *after* the mention decides
     (``있음`` positive, ``없음``/``보이지 않``/``음성`` negative, ``의심``/``가능성``/``배제할 수
     없`` uncertain; ``가능성이 높`` positive, ``가능성 낮`` negative, longest cue first); with no
     cue after it, an uncertainty cue before it (``불확실``, ``의심되는``) makes it uncertain.
   * Pseudo-cues are masked first (``no change``, ``no interval change``, ``not only``...).
3. **Aggregation per label** as CheXpert does: positive beats uncertain beats negative.
   ``No Finding`` is positive when no finding is positive or uncertain, else negative.

Public API: :func:`find_mentions` (mentions with character spans, for highlighting) and
:func:`label_report` (label -> status). See ``docs/llm_guard.md`` for the measured figures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Literal

from core.chest.labels import XRV_LABELS, name_key
from core.i18n import catalog

MentionStatus = Literal["positive", "negative", "uncertain"]
NO_FINDING = "No Finding"
LABELS: tuple[str, ...] = (*XRV_LABELS, NO_FINDING)
_RANK = {"negative": 0, "uncertain": 1, "positive": 2}
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


@dataclass(frozen=True)
class Mention:
    """One phrase naming a finding.

    Attributes:
        label: model label (``"Effusion"``) or ``"No Finding"`` for a normal statement.
        start, end: character span in the text given to :func:`find_mentions`.
        text: the matched phrase.
        status: ``positive``, ``negative`` or ``uncertain``.
        cue: the phrase that decided the status (None: no cue, positive by default).
    """

    label: str
    start: int
    end: int
    text: str
    status: MentionStatus
    cue: str | None = None


# --------------------------------------------------------------------------- vocabulary
# English patterns are matched case-insensitively with word boundaries added around them.
# A tumour named as a history or a risk ("History of lung tumor", "Known left lung tumor") is not a
# finding now: checked on the clause before the mention (find_mentions), not next to the word only.
_HISTORY_BEFORE = re.compile(r"\b(?:known|history of|prior|previous|risk (?:of|factors? for)|factors for)\b", re.I)
_TUMOUR_WORD = re.compile(r"tumou?r|neoplas|malignan", re.I)
_EN: dict[str, tuple[str, ...]] = {
    "Atelectasis": (r"atelecta(?:sis|ses|tic)", r"(?:lobar|lobe|segmental|subsegmental) collapse",
                    r"collapse of the (?:right|left)? ?(?:upper|middle|lower)? ?lobe",
                    # a collapsed lung: MeSH "Pulmonary Atelectasis" (the IU indexers tag it so, with
                    # Pneumothorax too when the report names the pneumothorax that caused it)
                    r"collapsed (?:right |left )?(?:upper |middle |lower )?(?:lung|lobe)",
                    r"(?:lung|pulmonary) collapse", r"collapse of the (?:right |left )?lung"),
    "Consolidation": (r"consolidat(?:ion|ions|ive|ed)",),
    "Infiltration": (r"infiltrat(?:e|es|ion|ions|ive|ing)",),
    "Pneumothorax": (r"pneumothora(?:x|ces)", r"hydropneumothorax",
                     r"(?:free )?air (?:with)?in the (?:right |left )?pleural (?:space|cavity)", r"pleural air"),
    "Edema": (r"(?<!soft tissue )(?<!subcutaneous )o?edema(?:tous)?", r"pulmonary o?edema"),
    "Emphysema": (r"(?<!subcutaneous )(?<!soft tissue )emphysema(?:tous)?",),
    "Fibrosis": (r"fibros(?:is|ing)", r"(?:pulmonary|interstitial) fibrosis", r"fibrotic"),
    "Effusion": (r"(?<!pericardial )(?:pleural )?effusions?", r"pleural fluid", r"hydrothorax",
                 r"(?:blunting|blunted) (?:of )?(?:the )?(?:right |left |bilateral |both )?"
                 r"(?:lateral |posterior )?costophrenic (?:angles?|sulc(?:us|i))",
                 r"costophrenic (?:angle |sulcus )?blunting",
                 r"blunt(?:ed|ing)? (?:right |left |bilateral )?costophrenic (?:angles?|sulc(?:us|i))"),
    "Pneumonia": (r"(?:broncho)?pneumonias?", r"pneumonitis"),
    "Pleural_Thickening": (r"pleural thickening", r"pleural[- ]based thickening",
                           r"thickening of the (?:right |left |bilateral )?pleura",
                           r"pleural plaques?", r"thickened pleura", r"apical (?:pleural )?capping",
                           r"fissural thickening", r"thickening (?:of|in|along) the (?:\w+ )?fissures?",
                           r"thickened (?:\w+ )?fissures?"),
    "Cardiomegaly": (r"cardiomegaly", r"cardiac enlargement", r"enlargement of the (?:heart|cardiac silhouette)",
                     r"enlarged (?:heart|cardiac (?:silhouette|shadow|size))",
                     r"(?:heart|cardiac) (?:silhouette |shadow |contour |size )*(?:is |are |appears |remains |again "
                     r"|XXXX |to be |be )*(?:not )?(?:\w+ly |borderline )?(?:enlarged|large|increased|prominent)",
                     r"borderline (?:enlarged )?(?:heart|cardiac)(?: silhouette| size| contour| shadow)*",
                     r"(?:heart|cardiac) (?:silhouette |contour |shadow |size )*(?:is )?borderline(?: in size| enlarged)?",
                     r"heart enlargement"),
    "Nodule": (r"nodules?", r"nodular (?:lesions?|focus|foci)"),
    "Mass": (r"mass(?:es)?", r"mass lesions?", r"mass-?like (?:opacit(?:y|ies)|opacification|density|lesion)",
             # a tumour / neoplasm seen now; not a history ("known tumor", "history of neoplasm"), another
             # organ's ("brain tumor") or the nature of another finding ("nodules consistent with
             # neoplasm": MeSH tags the nodules only). Bare "malignancy" is mostly a hedge or a history
             # in reports ("to exclude pulmonary malignancy"), so it counts only with a place.
             r"(?<!brain )(?<!breast )tumou?rs?",
             r"malignant (?:mass|lesion|tumou?r|neoplasm|process)",
             r"malignan(?:cy|cies) (?:in|of|within|involving) the (?:\w+ ){0,3}?"
             r"(?:lobes?|lungs?|hil(?:um|a)|apex|apices|bases?|lingula|mediastinum)",
             r"(?<!consistent with )(?:neoplasms?|neoplastic (?:process|lesion|mass|disease))"),
    "Hernia": (r"hernia(?:s|tion)?", r"herniated"),
    "Lung Lesion": (r"(?:lung|pulmonary) lesions?",),
    "Fracture": (r"fractur(?:e|es|ed)",),
    "Lung Opacity": (r"opacit(?:y|ies)", r"opacification", r"opacified", r"air ?space (?:disease|opacit(?:y|ies))",
                     r"lung opacity"),
    "Enlarged Cardiomediastinum": (
        r"enlarged cardiomediastin(?:um|al silhouette|al contour)s?",
        r"(?:widened|widening of the|enlarged|prominent|wide) (?:superior )?mediastin(?:um|al silhouette|al contours?)",
        r"mediastinal (?:widening|enlargement)",
        r"cardiomediastinal (?:silhouette|contour)s? (?:is |are |appears )?(?:\w+ly )?(?:enlarged|widened|prominent)"),
}
#: Words that, just before a mention, make it something else (fixed-width look-behinds).
_EN_NOT_AFTER: dict[str, tuple[str, ...]] = {"Fibrosis": ("cystic",)}
_EN_NORMAL = (
    r"normal (?:chest|study|exam(?:ination)?|radiograph|x-?ray|chest radiograph)",
    r"no acute (?:cardiopulmonary|intrathoracic|pulmonary|cardiac|chest)? ?(?:abnormalit(?:y|ies)|disease|process|findings?|pathology)",
    r"no active (?:cardiopulmonary )?disease",
    r"no (?:significant )?(?:radiographic )?abnormalit(?:y|ies)",
)
# Korean: substrings (Korean attaches particles to nouns, so no word boundaries).
_KO: dict[str, tuple[str, ...]] = {
    "Atelectasis": (r"무기폐", r"(?:폐|엽)(?:가|이)?\s?허탈", r"허탈(?:된|한)\s?(?:폐|엽)"),
    "Consolidation": (r"(?<!동맥)(?<!동맥 )(?:폐\s?)?경화",),
    "Infiltration": (r"침윤",),
    "Pneumothorax": (r"기흉", r"(?:흉막|늑막)\s?(?:강|공간)\s?(?:내|안|속)?(?:의|에)?\s?(?:유리\s?)?공기"),
    "Edema": (r"폐\s?부종", r"폐\s?수종", r"(?<!연부조직 )(?<!피하 )부종"),
    "Emphysema": (r"폐\s?기종", r"(?<!피하 )(?<!피하)기종"),
    "Fibrosis": (r"(?:폐\s?)?섬유화", r"섬유증"),
    "Effusion": (r"흉수", r"(?:흉막|늑막)\s?삼출(?:액)?", r"(?:흉막|늑막)\s?액", r"늑(?:골)?횡격막각(?:의)?\s?둔화",
                 r"(?<!심낭 )(?<!심낭)삼출액"),
    "Pneumonia": (r"폐렴",),
    "Pleural_Thickening": (r"(?:흉막|늑막)\s?(?:비후|肥厚)", r"(?:흉막|늑막)이?\s?두꺼"),
    "Cardiomegaly": (r"심비대", r"심장\s?비대", r"심장\s?확대", r"심장(?:이|의 크기가| 크기가| 음영이)?\s?(?:커|크게|확대|증가)",
                     r"심장\s?크기\s?증가"),
    "Nodule": (r"결절",),
    "Mass": (r"종괴", r"덩이", r"(?:악성\s?)?종양", r"악성(?:\s?(?:병변|신생물|소견))?", r"신생물", r"폐\s?암"),
    "Hernia": (r"탈장",),
    "Lung Lesion": (r"폐\s?병변",),
    "Fracture": (r"골절",),
    "Lung Opacity": (r"(?:폐\s?)?음영\s?증가", r"간유리\s?음영", r"불투명(?:도|음영)?", r"(?<!심장 )(?<!심장)음영"),
    "Enlarged Cardiomediastinum": (r"(?:심장)?\s?종격동\s?(?:확대|확장|비대|넓어|넓음|증가)",),
}
_KO_NORMAL = (r"정상\s?흉부", r"(?:특이|이상|급성)\s?(?:소견|병변)(?:은|이|는)?\s?(?:없|보이지 않|관찰되지 않)",
              r"정상\s?소견")

# ------------------------------------------------------------------------------- cues
_EN_PSEUDO = re.compile(
    r"\b(?:no (?:significant |interval |substantial |appreciable )*change|without (?:interval )?change|"
    r"not only|no increase|no decrease|not significantly changed|gram[- ]negative|no new)\b", re.I)
_EN_PRE = (  # (pattern, status): nearest match before the mention wins
    (r"cannot (?:be )?(?:excluded?|ruled? out)|can ?not (?:be )?(?:excluded?|ruled? out)|can't (?:be )?(?:excluded?|ruled? out)"
     r"|not (?:be )?(?:excluded|ruled out)|(?:rule|ruled) out|r/o|possib(?:le|ly)|may(?: be| represent| reflect)?|might"
     r"|could(?: be| represent)?|suggest(?:s|ed|ive|ing)?(?: of)?|suspicious(?: for)?|suspect(?:ed)?|concern(?:ing)?(?: for)?"
     r"|questionable|question of|equivocal|indeterminate|uncertain|differential|versus|vs\.?|worrisome(?: for)?"
     r"|compatible with|cannot exclude|can't exclude|not entirely excluded", "uncertain"),
    (r"no|not|without|free of|negative for|absence of|absent|resolution of|resolved|clear of|no evidence of"
     r"|no signs? of|none|never|denies|unlikely|removal of|no longer", "negative"),
)
_EN_POST = (  # nearest match after the mention wins
    (r"(?:cannot|can ?not|can't) be (?:\w+ly )?(?:excluded|ruled out)|(?:is|are) not (?:entirely )?excluded"
     r"|not (?:be )?ruled out|(?:is|are) (?:suspected|possible|questioned|uncertain|questionable|not certain)"
     r"|may be present|uncertain|versus|vs\.?|or not", "uncertain"),
    (r"(?:is|are|was|were|has been|have been)? ?(?:not|no longer) (?:seen|identified|present|visualized|visualised"
     r"|demonstrated|appreciated|evident|noted|detected|shown|visible|apparent)|(?:has|have)? ?resolved|absent"
     r"|unlikely|(?:is|are) negative|(?:has|have) cleared|ruled out", "negative"),
    (r"likely present|probably present|(?:is|are) present|(?:is|are) seen|(?:is|are) noted", "positive"),
)
_EN_TERMINATORS = re.compile(
    r"\b(?:but|however|although|though|except|whereas|while|which|yet|apart from|aside from|otherwise|"
    r"there (?:is|are|has|have|was|were)|with the exception of|also)\b|[;]", re.I)

_KO_POST = (  # nearest match after the mention wins; at the same place the longest wins
    (r"있을\s?가능성이\s?(?:매우\s?)?(?:높|크|큼)|가능성이\s?(?:매우\s?)?(?:높|크|큼)", "positive"),
    (r"(?:있을\s?)?가능성(?:이|은)?\s?(?:매우\s?)?(?:낮|적|희박)", "negative"),
    (r"배제(?:할|하기|하지|될)?\s?(?:수\s?)?(?:없|어렵|못|않)|배제되지\s?않|가능성|의심|불확실|추정|시사|감별|애매"
     r"|(?:있을|일|될)\s?수\s?(?:도\s?)?있|수\s?있|확실하지\s?않|\?", "uncertain"),
    (r"없|않|(?:관찰되|보이|확인되|발견되|있|나타나)지\s?않|음성|아님|아니|배제|소실|해소|정상", "negative"),
    (r"있|보임|보이며|보입니다|보이는|보여|관찰됨|관찰되|확인됨|확인되|동반|시사되지", "positive"),
)
_KO_PRE_UNCERTAIN = re.compile(r"불확실|의심되는|의심스러운|가능성\s?있는|가능성이\s?있는|추정되는")
_KO_TERMINATORS = re.compile(
    r"(?<=[가-힣])(?:고|며|으며|지만|으나|하나|는데|반면)(?=[\s,])|그러나|하지만|반면|[;]")
_SENTENCE = re.compile(r"(?<!\d)\.(?!\d)|\.(?=\s|$)|[!?\n。]|(?<=[다음함됨임])\.")


def compile_cues(table: Sequence[tuple[str, str]], word: bool) -> list[tuple[re.Pattern[str], str]]:
    """``(pattern, status)`` pairs of a cue table, compiled case-insensitively; with ``word``, a cue
    matches only as a whole word (not inside another word or after a slash).

    Raises:
        re.error: a pattern of ``table`` is not a valid regular expression.
    """
    wrap = (lambda p: rf"(?<![\w/])(?:{p})(?![\w])") if word else (lambda p: f"(?:{p})")
    return [(re.compile(wrap(p), re.I), status) for p, status in table]


_EN_PRE_RX = compile_cues(_EN_PRE, True)
_EN_POST_RX = compile_cues(_EN_POST, True)
_KO_POST_RX = compile_cues(_KO_POST, False)


def _name_patterns(lang: str) -> dict[str, list[str]]:
    """The translated finding names (what the structured writer prints), as flexible patterns."""
    names = catalog(lang)
    out: dict[str, list[str]] = {}
    for label in XRV_LABELS:
        text = names.get(name_key(label))
        if text:
            parts = [re.escape(p) for p in text.split()]
            out.setdefault(label, []).append(r"\s?".join(parts) if lang == "ko" else r"\s+".join(parts))
    return out


@cache
def _mention_patterns(lang: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
    table = _EN if lang == "en" else _KO
    extra = _name_patterns(lang)
    pats: list[tuple[str, re.Pattern[str]]] = []
    for label in XRV_LABELS:
        alts = list(table.get(label, ())) + extra.get(label, [])
        body = "|".join(f"(?:{a})" for a in alts)
        # "subcutaneous emphysema", "soft tissue edema" are not lung findings, whatever the name;
        # nor is "cystic fibrosis" (a disease, not the radiographic finding)
        not_after = "".join(f"(?<!{w} )" for w in _EN_NOT_AFTER.get(label, ()))
        rx = (rf"(?<![\w-])(?<!subcutaneous )(?<!soft tissue ){not_after}(?:{body})(?![\w-])" if lang == "en"
              else f"(?:{body})")
        pats.append((label, re.compile(rx, re.I)))
    normal = _EN_NORMAL if lang == "en" else _KO_NORMAL
    body = "|".join(f"(?:{a})" for a in normal)
    pats.append((NO_FINDING, re.compile(rf"(?<![\w-])(?:{body})(?![\w-])" if lang == "en" else body, re.I)))
    return tuple(pats)


def detect_lang(text: str) -> str:
    """``"ko"`` when the text contains Hangul, else ``"en"``."""
    return "ko" if _HANGUL.search(text) else "en"


def _spans(pattern: re.Pattern[str], text: str) -> Iterable[tuple[int, int]]:
    for m in pattern.finditer(text):
        if m.end() > m.start():
            yield m.start(), m.end()


def clauses(text: str, lang: str) -> list[tuple[int, int]]:
    """Character ranges of the clauses (sentences cut at scope terminators)."""
    cuts = {0, len(text)}
    for m in _SENTENCE.finditer(text):
        cuts.add(m.end())
    terms = _EN_TERMINATORS if lang == "en" else _KO_TERMINATORS
    for m in terms.finditer(text):
        # English terminators start a new clause; Korean endings close the current one.
        cuts.add(m.start() if lang == "en" else m.end())
    if lang == "ko":  # English words inside Korean text (e.g. "FINDINGS") are harmless
        for m in _SENTENCE.finditer(text):
            cuts.add(m.end())
    ordered = sorted(cuts)
    return [(a, b) for a, b in zip(ordered, ordered[1:], strict=False) if b > a]


def _mask(text: str, pattern: re.Pattern[str]) -> str:
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def nearest_cue(cues: Sequence[tuple[re.Pattern[str], str]], window: str, *, last: bool) -> tuple[str, str, int] | None:
    """The cue nearest the mention: the last one in ``window`` (before) or the first (after).

    At the same position the longest match wins. Returns (status, cue text, position) or None.
    """
    best: tuple[int, int, str, str] | None = None  # (position key, -length, status, text)
    for rx, status in cues:
        for m in rx.finditer(window):
            if m.end() == m.start():
                continue
            key = -m.end() if last else m.start()
            cand = (key, -(m.end() - m.start()), status, m.group(0))
            if best is None or cand[:2] < best[:2]:
                best = cand
    if best is None:
        return None
    return best[2], best[3], best[0]


def _classify_en(clause: str, start: int, end: int, mention: str) -> tuple[MentionStatus, str | None]:
    if re.search(r"\bnot\b", mention, re.I):
        return "negative", "not"
    pre = nearest_cue(_EN_PRE_RX, clause[:start], last=True)
    post = nearest_cue(_EN_POST_RX, clause[end:], last=False)
    found = [c for c in (pre, post) if c is not None]
    for status in ("uncertain", "negative"):
        for c in found:
            if c[0] == status:
                return status, c[1]  # type: ignore[return-value]
    return "positive", (post[1] if post else None)


def _classify_ko(clause: str, start: int, end: int, mention: str) -> tuple[MentionStatus, str | None]:
    post = nearest_cue(_KO_POST_RX, clause[end:], last=False)
    if post is not None:
        return post[0], post[1]  # type: ignore[return-value]
    pre = _KO_PRE_UNCERTAIN.search(clause[:start])
    if pre:
        return "uncertain", pre.group(0)
    # An English cue (the text may mix languages) still counts.
    return _classify_en(clause, start, end, mention)


def keep_longest(found: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    """Of overlapping ``(start, end, label, lang)`` matches keep the longest (ties: the earlier,
    then the first listed); the survivors come back in text order."""
    found = sorted(found, key=lambda m: (-(m[1] - m[0]), m[0]))
    kept: list[tuple[int, int, str, str]] = []
    for cand in found:
        if all(cand[1] <= k[0] or cand[0] >= k[1] for k in kept):
            kept.append(cand)
    return sorted(kept)


def find_mentions(text: str, lang: str | None = None) -> list[Mention]:
    """Every finding mention in ``text`` with its span and status, in text order.

    Args:
        text: report text (any length; empty gives no mentions).
        lang: ``"en"``, ``"ko"`` or None to detect (Hangul -> Korean). Korean text also gets the
            English rules, since Korean reports often use English terms.

    Raises:
        TypeError: ``text`` is not a string.
        ValueError: ``lang`` is neither None, ``"en"`` nor ``"ko"``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be str, not {type(text).__name__}")
    if lang is None:
        lang = detect_lang(text)
    if lang not in ("en", "ko"):
        raise ValueError(f"unsupported language {lang!r}")
    langs = ("ko", "en") if lang == "ko" else ("en",)
    found: list[tuple[int, int, str, str]] = []  # start, end, label, lang
    for mlang in langs:
        for label, rx in _mention_patterns(mlang):
            found.extend((a, b, label, mlang) for a, b in _spans(rx, text))
    kept = keep_longest(found)
    ranges = clauses(text, lang)
    masked = _mask(text, _EN_PSEUDO)
    out: list[Mention] = []
    for a, b, label, _ in kept:
        ca, cb = next(((x, y) for x, y in ranges if x <= a < y), (0, len(text)))
        clause = masked[ca:cb]
        if label == NO_FINDING:
            status: MentionStatus = "positive"
            cue = None
        elif lang == "ko":
            status, cue = _classify_ko(clause, a - ca, b - ca, text[a:b])
        else:
            status, cue = _classify_en(clause, a - ca, b - ca, text[a:b])
            if label == "Mass" and _TUMOUR_WORD.search(text[a:b]) and _HISTORY_BEFORE.search(clause[: a - ca]):
                status, cue = "negative", "history"
        out.append(Mention(label, a, b, text[a:b], status, cue))
    return out


def aggregate(mentions: Iterable[Mention]) -> dict[str, str]:
    """Per-label status: positive beats uncertain beats negative; plus ``No Finding``.

    ``No Finding`` is positive when no finding is positive or uncertain (CheXpert's rule).
    """
    out: dict[str, str] = {}
    for m in mentions:
        if m.label == NO_FINDING:
            continue
        old = out.get(m.label)
        if old is None or _RANK[m.status] > _RANK[old]:
            out[m.label] = m.status
    abnormal = any(s in ("positive", "uncertain") for s in out.values())
    out[NO_FINDING] = "negative" if abnormal else "positive"
    return out


def label_report(text: str, lang: str | None = None) -> dict[str, str]:
    """Label -> ``"positive"`` / ``"negative"`` / ``"uncertain"`` for the findings the text mentions.

    Labels the text never mentions are absent; ``"No Finding"`` is always present.

    Raises:
        TypeError: ``text`` is not a string.
        ValueError: ``lang`` is neither None, ``"en"`` nor ``"ko"``.
    """
    return aggregate(find_mentions(text, lang))
