"""Lifestyle questionnaire: schema, validation, and the risk adjustments it implies.

The fields follow the seed (age group, gender, shampoo frequency, perm cycle, dye cycle,
current hair state, products used, care wishes, purchase considerations) plus factors with
published evidence behind them (family history of hair loss, recent shedding triggers,
stress, sleep, smoking, symptoms that warrant a doctor). Every option value is a stable id;
its label is the translation key ``scalp.q.<field>.<value>`` (field label ``scalp.q.<field>``).

``Questionnaire.from_form`` validates raw form values and raises :class:`QuestionnaireError`
(a :class:`~core.errors.UserError`) naming the field in the user's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from core.errors import UserError
from core.i18n import t

SINGLE: dict[str, tuple[str, ...]] = {
    "age_group": ("under20", "20s", "30s", "40s", "50s", "60plus"),
    "gender": ("female", "male", "other"),
    "shampoo_frequency": ("twice_daily", "daily", "every_2_days", "every_3plus_days"),
    "perm_cycle": ("never", "over_6_months", "every_3_6_months", "under_3_months"),
    "dye_cycle": ("never", "over_6_months", "every_3_6_months", "under_3_months"),
    "family_history": ("no", "yes", "unknown"),
    "stress": ("low", "medium", "high"),
    "sleep": ("lt6", "6to8", "gt8"),
    "smoking": ("no", "yes"),
}
MULTI: dict[str, tuple[str, ...]] = {
    "hair_state": ("normal", "oily", "dry", "itchy", "flaky", "thinning", "shedding", "damaged"),
    "products_used": ("shampoo", "conditioner", "treatment", "scalp_tonic", "hair_oil", "styling",
                      "anti_dandruff", "hair_loss_cosmetic", "minoxidil", "none"),
    "care_wishes": ("oil_control", "dandruff", "soothing", "hair_loss", "strength", "moisture"),
    "purchase_considerations": ("ingredients", "mildness", "price", "effect_evidence", "scent",
                                "brand", "fragrance_free"),
    "recent_triggers": ("illness_fever", "childbirth", "weight_loss", "new_medication", "none"),
    "symptoms": ("itch", "pain_burning", "patchy_loss", "sudden_shedding", "none"),
}
# a value that excludes every other value of its field
EXCLUSIVE: dict[str, str] = {"products_used": "none", "recent_triggers": "none", "symptoms": "none",
                             "hair_state": "normal"}
REQUIRED_SINGLE = ("age_group", "gender", "shampoo_frequency", "perm_cycle", "dye_cycle")
REQUIRED_MULTI = ("hair_state",)
FIELDS: tuple[str, ...] = (
    "age_group", "gender", "shampoo_frequency", "perm_cycle", "dye_cycle", "hair_state",
    "products_used", "care_wishes", "purchase_considerations", "family_history",
    "recent_triggers", "stress", "sleep", "smoking", "symptoms",
)
FOV_RANGE_MM = (2.0, 100.0)
DEFAULTS: dict[str, str] = {"family_history": "unknown", "stress": "medium", "sleep": "6to8", "smoking": "no"}
"""What the form shows first for the optional single-choice questions (the required ones start empty)."""


def default_index(name: str) -> int | None:
    """The form's first choice of question ``name``: none for a required question, else the index
    of its default (the first option when it has none).

    Raises:
        KeyError: ``name`` is not a single-choice question.
    """
    if name in REQUIRED_SINGLE:
        return None
    options = list(SINGLE[name])
    return options.index(DEFAULTS[name]) if name in DEFAULTS else 0


def missing_answers(form: Mapping[str, Any]) -> tuple[str, ...]:
    """The required fields left unanswered in ``form``, in the form's order (:data:`FIELDS`)."""
    missing = []
    for name in FIELDS:
        raw = form.get(name)
        if name in REQUIRED_SINGLE and (raw is None or raw == ""):
            missing.append(name)
        elif name in REQUIRED_MULTI and not raw:
            missing.append(name)
    return tuple(missing)


class QuestionnaireError(UserError):
    """An invalid questionnaire answer. ``params['field']`` is the field id; the message
    shows the field's translated label."""

    def __init__(self, key: str, /, **params: object) -> None:
        super().__init__(key, **params)
        self.args = (self.message("en"),)

    def message(self, lang: str | None = None) -> str:
        params = dict(self.params)
        if "fields" in params:  # several missing answers, named in form order
            names = [t(f"scalp.q.{name}", lang) for name in str(params["fields"]).split(",") if name]
            return t(self.key, lang, fields=t("scalp.error.joiner", lang).join(names), count=len(names))
        field_id = str(params.get("field", ""))
        params["field"] = t(f"scalp.q.{field_id}", lang) if field_id else ""
        if "option" in params:
            params["option"] = t(f"scalp.q.{field_id}.{params['option']}", lang)
        return t(self.key, lang, **params)


@dataclass(frozen=True)
class Questionnaire:
    """Validated answers. Multi-choice fields are sorted tuples of option ids."""

    age_group: str
    gender: str
    shampoo_frequency: str
    perm_cycle: str
    dye_cycle: str
    hair_state: tuple[str, ...]
    products_used: tuple[str, ...] = ()
    care_wishes: tuple[str, ...] = ()
    purchase_considerations: tuple[str, ...] = ()
    family_history: str = "unknown"
    recent_triggers: tuple[str, ...] = ()
    stress: str = "medium"
    sleep: str = "6to8"
    smoking: str = "no"
    symptoms: tuple[str, ...] = ()
    field_of_view_mm: float | None = None

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> Questionnaire:
        """Validate raw answers (option ids; lists for multi-choice fields).

        Raises:
            QuestionnaireError: required answers are missing (all of them named at once,
                ``scalp.error.required_many``), an option is unknown, an exclusive
                option ("none", "normal") is combined with others, or the field of view is out
                of range.
        """
        missing = missing_answers(form)
        if len(missing) == 1:
            raise QuestionnaireError("scalp.error.required", field=missing[0])
        if missing:
            raise QuestionnaireError("scalp.error.required_many", fields=",".join(missing))
        values: dict[str, Any] = {}
        for name, options in SINGLE.items():
            raw = form.get(name)
            if raw is None or raw == "":
                continue
            if not isinstance(raw, str) or raw not in options:
                raise QuestionnaireError("scalp.error.option", field=name)
            values[name] = raw
        for name, options in MULTI.items():
            raw = form.get(name) or ()
            if isinstance(raw, str):
                raw = (raw,)
            if not isinstance(raw, list | tuple | set | frozenset) or not all(isinstance(v, str) for v in raw):
                raise QuestionnaireError("scalp.error.option", field=name)
            chosen = tuple(sorted(set(raw)))
            unknown = [v for v in chosen if v not in options]
            if unknown:
                raise QuestionnaireError("scalp.error.option", field=name)
            exclusive = EXCLUSIVE.get(name)
            if exclusive and exclusive in chosen and len(chosen) > 1:
                raise QuestionnaireError("scalp.error.exclusive", field=name,
                                         option=exclusive)
            values[name] = chosen
        fov = form.get("field_of_view_mm")
        if fov not in (None, "", 0, 0.0):
            try:
                fov_value = float(fov)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise QuestionnaireError("scalp.error.fov", field="field_of_view_mm",
                                         low=FOV_RANGE_MM[0], high=FOV_RANGE_MM[1]) from None
            if not FOV_RANGE_MM[0] <= fov_value <= FOV_RANGE_MM[1]:
                raise QuestionnaireError("scalp.error.fov", field="field_of_view_mm",
                                         low=FOV_RANGE_MM[0], high=FOV_RANGE_MM[1])
            values["field_of_view_mm"] = fov_value
        return cls(**values)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    def has(self, field_name: str, value: str) -> bool:
        """True when ``value`` is the answer (single) or among the answers (multi) of a field."""
        current = getattr(self, field_name)
        return value in current if isinstance(current, tuple) else current == value


@dataclass(frozen=True)
class Adjustment:
    """A questionnaire answer that raises the risk of one condition by ``delta`` grade.

    ``reason_key`` (``scalp.adjust.<rule_id>``) states why, in plain words.
    """

    rule_id: str
    condition: str
    delta: int
    reason_key: str


# (rule id, condition, predicate). Each raises that condition's grade by one (at most +1 in
# total per condition, and never above 3). Documented with sources in docs/scalp.md.
_ADJUSTMENT_RULES: tuple[tuple[str, str, Any], ...] = (
    ("ADJ-SEBUM-WASH", "excess_sebum",
     lambda q: q.shampoo_frequency == "every_3plus_days" and q.has("hair_state", "oily")),
    ("ADJ-SEBUM-OILY", "excess_sebum", lambda q: q.has("hair_state", "oily")),
    ("ADJ-DANDRUFF-FLAKY", "dandruff", lambda q: q.has("hair_state", "flaky") and q.has("hair_state", "itchy")),
    ("ADJ-SCALE-CHEM", "fine_scale",
     lambda q: q.perm_cycle == "under_3_months" or q.dye_cycle == "under_3_months"),
    ("ADJ-ERY-CHEM", "interfollicular_erythema",
     lambda q: (q.perm_cycle == "under_3_months" or q.dye_cycle == "under_3_months")
     and (q.has("hair_state", "itchy") or q.has("symptoms", "pain_burning"))),
    ("ADJ-PUST-PAIN", "follicular_erythema_pustules", lambda q: q.has("symptoms", "pain_burning")),
    ("ADJ-LOSS-FAMILY", "hair_loss",
     lambda q: q.family_history == "yes" and q.age_group not in ("under20",)
     and (q.has("hair_state", "thinning") or q.has("hair_state", "shedding"))),
    ("ADJ-LOSS-TRIGGER", "hair_loss",
     lambda q: q.has("hair_state", "shedding") and any(
         v in q.recent_triggers for v in ("illness_fever", "childbirth", "weight_loss", "new_medication"))),
    ("ADJ-LOSS-SUDDEN", "hair_loss", lambda q: q.has("symptoms", "sudden_shedding") or q.has("symptoms", "patchy_loss")),
)


def adjustments(q: Questionnaire) -> tuple[Adjustment, ...]:
    """Risk adjustments implied by the answers, at most one per condition (first rule wins)."""
    seen: set[str] = set()
    out: list[Adjustment] = []
    for rule_id, condition, predicate in _ADJUSTMENT_RULES:
        if condition in seen or not predicate(q):
            continue
        seen.add(condition)
        out.append(Adjustment(rule_id, condition, 1, f"scalp.adjust.{rule_id}"))
    return tuple(out)
