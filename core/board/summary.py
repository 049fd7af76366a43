"""Analysis summaries that other pages share to the board.

A summary is a small JSON-able dict with a fixed shape; anything else is refused, so an
image, a DICOM header or patient details can never reach the board:

```python
{
    "task": "chest",                      # required: [a-z][a-z0-9_.-]{0,39}
    "model": "densenet121-res224-all",    # optional, <= 80 characters
    "findings": [                         # optional, <= 30 items
        {"label": "Effusion", "score": 0.82, "unit": ""},   # unit optional, <= 12 chars
    ],
    "scores": {"risk": 0.31},             # optional, <= 20 items, finite numbers
    "note": "Screening aid, not a diagnosis.",  # optional, <= 300 characters
}
```

At least one finding or score is required. Unknown keys (``image``, ``patient_name``...),
binary values (bytes, arrays, tensors, PIL images), non-finite numbers, strings that look like
embedded data (data: URIs, long base64 runs) or personal data (e-mail addresses, phone
numbers, Korean resident registration numbers: :func:`core.board.privacy.find_personal_data`,
the rule posts and comments go by too) raise :class:`SummaryError`.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from collections.abc import Mapping, Sequence
from typing import Any

from core.board.errors import SummaryError
from core.board.privacy import find_personal_data
from core.i18n import has_key, t

TOP_KEYS = frozenset({"task", "model", "findings", "scores", "note"})
FINDING_KEYS = frozenset({"label", "score", "unit"})
MAX_FINDINGS = 30
MAX_SCORES = 20
MAX_JSON_CHARS = 4000
_LIMITS = {"model": 80, "label": 80, "unit": 12, "score_name": 60, "note": 300}

_TASK = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_EMBEDDED = re.compile(r"\bdata:[a-z]+/[\w.+-]+[;,]|[A-Za-z0-9+/=_-]{100,}", re.IGNORECASE)


def _is_binary(value: object) -> bool:
    if isinstance(value, bytes | bytearray | memoryview):
        return True
    # numpy arrays, torch tensors, PIL images: anything array- or image-like
    return any(hasattr(value, attr) for attr in ("shape", "__array__", "getdata", "tobytes"))


def _scan_binary(value: object, depth: int = 0) -> None:
    if depth > 4:
        raise SummaryError("board.error.summary_invalid", name="depth")
    if _is_binary(value) and not isinstance(value, numbers.Real):
        raise SummaryError("board.error.summary_binary")
    if isinstance(value, Mapping):
        for item in value.values():
            _scan_binary(item, depth + 1)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        for item in value:
            _scan_binary(item, depth + 1)


def _text(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str):
        raise SummaryError("board.error.summary_invalid", name=field)
    text = value.strip()
    if len(text) > limit or _CONTROL.search(text):
        raise SummaryError("board.error.summary_invalid", name=field)
    if _EMBEDDED.search(text):
        raise SummaryError("board.error.summary_binary")
    if find_personal_data(text):
        raise SummaryError("board.error.summary_personal")
    return text


def _number(value: object, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SummaryError("board.error.summary_invalid", name=field)
    number = float(value)
    if not math.isfinite(number) or abs(number) > 1e9:
        raise SummaryError("board.error.summary_invalid", name=field)
    return number


def _field_name(key: object) -> str:
    return str(key)[:40] if isinstance(key, str) else type(key).__name__


def validate_summary(summary: object) -> dict[str, Any]:
    """Check a shared summary and return a normalised copy (plain dict/list/str/float only).

    Raises:
        SummaryError: wrong shape, unknown field, binary/image data, personal data.
    """
    if not isinstance(summary, Mapping):
        raise SummaryError("board.error.summary_invalid", name="summary")
    _scan_binary(summary)
    for key in summary:
        if key not in TOP_KEYS:
            raise SummaryError("board.error.summary_field", name=_field_name(key))
    task = summary.get("task")
    if not isinstance(task, str) or not _TASK.match(task):
        raise SummaryError("board.error.summary_invalid", name="task")
    out: dict[str, Any] = {"task": task}
    if summary.get("model") is not None:
        out["model"] = _text(summary["model"], "model", _LIMITS["model"])
    findings = summary.get("findings") or []
    if not isinstance(findings, Sequence) or isinstance(findings, str) or len(findings) > MAX_FINDINGS:
        raise SummaryError("board.error.summary_invalid", name="findings")
    clean_findings = []
    for item in findings:
        if not isinstance(item, Mapping):
            raise SummaryError("board.error.summary_invalid", name="findings")
        for key in item:
            if key not in FINDING_KEYS:
                raise SummaryError("board.error.summary_field", name=_field_name(key))
        finding: dict[str, Any] = {
            "label": _text(item.get("label"), "label", _LIMITS["label"]),
            "score": _number(item.get("score"), "score"),
        }
        if not finding["label"]:
            raise SummaryError("board.error.summary_invalid", name="label")
        if item.get("unit"):
            finding["unit"] = _text(item["unit"], "unit", _LIMITS["unit"])
        clean_findings.append(finding)
    if clean_findings:
        out["findings"] = clean_findings
    scores = summary.get("scores") or {}
    if not isinstance(scores, Mapping) or len(scores) > MAX_SCORES:
        raise SummaryError("board.error.summary_invalid", name="scores")
    clean_scores = {}
    for name, value in scores.items():
        label = _text(name, "scores", _LIMITS["score_name"])
        if not label:
            raise SummaryError("board.error.summary_invalid", name="scores")
        clean_scores[label] = _number(value, "scores")
    if clean_scores:
        out["scores"] = clean_scores
    if not clean_findings and not clean_scores:
        raise SummaryError("board.error.summary_empty")
    if summary.get("note"):
        out["note"] = _text(summary["note"], "note", _LIMITS["note"])
    if len(summary_to_json(out)) > MAX_JSON_CHARS:
        raise SummaryError("board.error.summary_too_large", max=MAX_JSON_CHARS)
    return out


def summary_to_json(summary: Mapping[str, Any]) -> str:
    """Canonical JSON text of a validated summary (what the database stores)."""
    return json.dumps(summary, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def summary_from_json(text: str | None) -> dict[str, Any] | None:
    """Parse a stored summary; anything unreadable reads as no summary."""
    if not text:
        return None
    try:
        value = json.loads(text)
        return validate_summary(value)
    except (ValueError, SummaryError):
        return None


def _format_score(score: float, unit: str | None) -> str:
    if unit == "%":
        return f"{score:.1f}%"
    text = f"{score:.3g}"
    return f"{text} {unit}" if unit else text


def task_label(task: str, lang: str | None) -> str:
    """The translated name of a summary's task (``board.task.<task>``), else the task id."""
    key = f"board.task.{task}"
    return t(key, lang) if has_key(key) else task


def summary_lines(summary: Mapping[str, Any], lang: str | None) -> list[str]:
    """Plain-text lines describing a validated summary, for display with ``st.text``."""
    lines = [t("board.summary.task", lang, task=task_label(summary["task"], lang))]
    if summary.get("model"):
        lines.append(t("board.summary.model", lang, model=summary["model"]))
    findings = summary.get("findings") or []
    if findings:
        # a task may name its items itself (the shoulder page shares measurements, not model scores)
        heading = f"board.summary.findings_{summary['task']}"
        lines.append(t(heading if has_key(heading) else "board.summary.findings", lang))
        for item in findings:
            lines.append(f"  • {item['label']}: {_format_score(item['score'], item.get('unit'))}")
    scores = summary.get("scores") or {}
    if scores:
        lines.append(t("board.summary.scores", lang))
        for name, value in scores.items():
            lines.append(f"  • {name}: {_format_score(value, None)}")
    if summary.get("note"):
        lines.append(t("board.summary.note", lang, note=summary["note"]))
    return lines
