"""Shared analysis summaries: only findings and scores, never images or patient data."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from core.board import Board, SummaryError, summary_lines, validate_summary

GOOD: dict[str, Any] = {
    "task": "chest",
    "model": "densenet121-res224-all",
    "findings": [{"label": "Effusion", "score": 0.82}, {"label": "Cardiomegaly", "score": np.float32(0.31)}],
    "scores": {"overall": 0.5},
    "note": "Screening aid, not a diagnosis.",
}


def test_valid_summary_is_normalised() -> None:
    clean = validate_summary(GOOD)
    assert clean["findings"][1] == {"label": "Cardiomegaly", "score": pytest.approx(0.31)}
    assert type(clean["findings"][1]["score"]) is float  # numpy scalars become floats
    json.dumps(clean)  # plain JSON types only


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"image": b"\x89PNG..."}, "board.error.summary_binary"),
        ({"image": np.zeros((4, 4), dtype=np.uint8)}, "board.error.summary_binary"),
        ({"image": Image.new("L", (4, 4))}, "board.error.summary_binary"),
        ({"patient_name": "Hong Gildong"}, "board.error.summary_field"),
        ({"patient_id": "12345"}, "board.error.summary_field"),
        ({"meta": {"PatientBirthDate": "19800101"}}, "board.error.summary_field"),
        ({"findings": [{"label": "x", "score": 0.1, "pixels": [1, 2]}]}, "board.error.summary_field"),
        ({"findings": [{"label": "x", "score": float("nan")}]}, "board.error.summary_invalid"),
        ({"findings": [{"label": "x", "score": True}]}, "board.error.summary_invalid"),
        ({"findings": [{"label": "x", "score": "0.5"}]}, "board.error.summary_invalid"),
        ({"findings": [{"label": "", "score": 0.5}]}, "board.error.summary_invalid"),
        ({"findings": [{"label": "x", "score": 0.1}] * 31}, "board.error.summary_invalid"),
        ({"task": "Chest X-ray!"}, "board.error.summary_invalid"),
        ({"note": "patient 900101-1234567"}, "board.error.summary_personal"),
        ({"note": "call 010-1234-5678"}, "board.error.summary_personal"),
        ({"note": "mail hong@example.com"}, "board.error.summary_personal"),
        ({"note": "data:image/png;base64,iVBORw0KGgo="}, "board.error.summary_binary"),
        ({"note": "A" * 120}, "board.error.summary_binary"),
        ({"note": "x" * 301}, "board.error.summary_invalid"),
        ({"findings": [], "scores": {}}, "board.error.summary_empty"),
    ],
)
def test_forbidden_summaries(change: dict[str, Any], key: str) -> None:
    with pytest.raises(SummaryError) as info:
        validate_summary({**GOOD, **change})
    assert info.value.key == key
    assert info.value.message("ko") and info.value.message("en")


def test_not_a_mapping() -> None:
    with pytest.raises(SummaryError):
        validate_summary(["task", "chest"])


def test_summary_lines_are_translated_plain_text() -> None:
    en = summary_lines(validate_summary(GOOD), "en")
    assert en[0] == "Analysis: Chest X-ray"
    assert "  • Effusion: 0.82" in en
    ko = summary_lines(validate_summary(GOOD), "ko")
    assert ko[0] == "분석: 흉부 엑스레이"


def test_post_with_summary_round_trips_and_stores_no_image(board: Board, db_path: Path) -> None:
    post_id = board.create_post(
        "v", category="chest", title="my result", body="what do you think?", nickname="nick",
        password="pw-1234", summary=GOOD,
    )
    post = board.get_post(post_id)
    assert post is not None and post.summary == validate_summary(GOOD)
    with pytest.raises(SummaryError):
        board.create_post(
            "v2", category="chest", title="with image", body="b", nickname="nick", password="pw-1234",
            summary={**GOOD, "image": np.ones((2, 2))},
        )
    with sqlite3.connect(db_path) as conn:
        stored = conn.execute("SELECT summary_json FROM posts").fetchall()
    assert len(stored) == 1 and set(json.loads(stored[0][0])) <= {"task", "model", "findings", "scores", "note"}


def test_different_results_shared_with_the_default_text_are_not_duplicates(board: Board) -> None:
    """Pages share results under a default title and body: the summary tells two shares apart."""
    from core.board import DuplicateError

    other = {**GOOD, "findings": [{"label": "Pneumothorax", "score": 0.71}]}
    common = dict(category="chest", title="Sharing my chest result", body="(no note)", password="pw-1234")
    board.create_post("visitor-a", nickname="ann", summary=GOOD, **common)
    board.create_post("visitor-b", nickname="bob", summary=other, **common)
    with pytest.raises(DuplicateError):  # the very same result shared again is still a duplicate
        board.create_post("visitor-c", nickname="cat", summary=GOOD, **common)
    assert board.list_posts().total == 2
