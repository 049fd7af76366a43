"""Personal data on the board: resident registration numbers, phone numbers and e-mail
addresses are found by one rule (:mod:`core.board.privacy`) and refused in posts, comments and
shared summaries; the refusal names what was found and never repeats it."""

from __future__ import annotations

import pytest

from core.board import Board, PersonalDataError, SummaryError, find_personal_data, validate_summary
from core.board.privacy import check_personal_data

RRN = "900101-1234567"
PHONE = "010-1234-5678"


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        # resident registration numbers, with or without the hyphen, spaced, foreigners' (5-8)
        ("주민번호 900101-1234567 입니다", ("rrn",)),
        ("9001011234567", ("rrn",)),
        ("900101 - 2234567", ("rrn",)),
        ("051231-5123456", ("rrn",)),
        # Korean mobile numbers, every common way of writing them
        ("연락 주세요 010-1234-5678", ("phone",)),
        ("01012345678", ("phone",)),
        ("010 1234 5678", ("phone",)),
        ("010.1234.5678", ("phone",)),
        ("011-123-4567", ("phone",)),
        ("+82 10-1234-5678", ("phone",)),
        ("+82-10-1234-5678", ("phone",)),
        ("+821012345678", ("phone",)),
        ("+82 (0)10 1234 5678", ("phone",)),
        # landlines and service numbers
        ("02-123-4567", ("phone",)),
        ("(02) 123-4567", ("phone",)),
        ("031-123-4567", ("phone",)),
        ("0311234567", ("phone",)),
        ("070-1234-5678", ("phone",)),
        ("1588-1234", ("phone",)),
        # international numbers
        ("+1 415 555 2671", ("phone",)),
        ("+44 20 7946 0958", ("phone",)),
        ("+81-3-1234-5678", ("phone",)),
        # e-mail addresses
        ("메일 hong.gildong+skin@example.co.kr 로", ("email",)),
        ("a_b@mail.example.com", ("email",)),
        # disguises: fullwidth forms and zero-width characters
        ("０１０－１２３４－５６７８", ("phone",)),
        ("010\u200b-1234\u200b-5678", ("phone",)),
        ("ｈｏｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", ("email",)),
        # several kinds at once, reported in a fixed order
        (f"{PHONE} / hong@example.com / {RRN}", ("rrn", "phone", "email")),
    ],
)
def test_personal_data_is_found(text: str, kinds: tuple[str, ...]) -> None:
    assert find_personal_data(text) == kinds


@pytest.mark.parametrize(
    "text",
    [
        "점수 0.82, 2024-01-15 검사", "DTI 0.45, CCT 4.2 mm", "Qwen2.5-0.5B", "v1.2.3", "2024-01-15 10:30",
        "결과 12/30", "+3.5 SD", "체중 70kg 키 175cm", "2023.10.12", "ISBN 978-3-16-148410-0", "15:30-16:00",
        "가격 12,000원", "#123 글", "메일은 a@b 처럼 쓰면 안 돼요", "1234567890123", "+ 1 2 3", "문의는 게시판으로",
        "2019년 3월 1일부터 12주", "0.40~0.60", "AUC 0.81 (0.78-0.84)",
    ],
)
def test_ordinary_text_is_not_personal_data(text: str) -> None:
    assert find_personal_data(text) == ()


def test_the_refusal_names_the_kinds_in_both_languages_and_never_the_data() -> None:
    with pytest.raises(PersonalDataError) as info:
        check_personal_data("comment", f"전화 {PHONE}, 메일 hong@example.com")
    err = info.value
    assert err.kinds == ("phone", "email")
    ko, en = err.message("ko"), err.message("en")
    assert "댓글" in ko and "전화번호" in ko and "이메일 주소" in ko
    assert "Comment" in en and "phone number" in en and "e-mail address" in en
    for text in (ko, en, str(err)):
        assert "1234" not in text and "hong" not in text
    check_personal_data("comment", "두피가 가려워요")  # nothing found: no error


def test_a_post_with_personal_data_is_refused_and_nothing_is_stored(board: Board) -> None:
    base = {"category": "scalp", "nickname": "철수", "password": "pw-1234"}
    with pytest.raises(PersonalDataError) as info:
        board.create_post("v1", title="질문", body=f"제 번호 {PHONE}로 연락 주세요", **base)
    assert info.value.params["field"] == "body" and info.value.kinds == ("phone",)
    with pytest.raises(PersonalDataError) as info:
        board.create_post("v1", title=f"주민번호 {RRN}", body="본문", **base)
    assert info.value.params["field"] == "title" and info.value.kinds == ("rrn",)
    with pytest.raises(PersonalDataError) as info:
        board.create_post("v1", title="hong@example.com", body=f"{PHONE}", **base)
    assert info.value.params["field"] == "post" and info.value.kinds == ("phone", "email")
    assert info.value.message("ko").startswith("제목과 내용에")
    assert board.list_posts().total == 0
    # once the number is removed the same post goes through
    assert board.create_post("v1", title="질문", body="게시판 댓글로 답해 주세요", **base)


def test_comments_and_edits_with_personal_data_are_refused(board: Board) -> None:
    owner = {"nickname": "철수", "password": "pw-1234"}
    post_id = board.create_post("v1", category="scalp", title="질문", body="본문", **owner)
    with pytest.raises(PersonalDataError):
        board.add_comment("v2", post_id, body=f"여기로 연락: {PHONE}", **owner)
    assert board.list_comments(post_id) == []
    comment_id = board.add_comment("v2", post_id, body="좋은 정보 감사합니다", **owner)
    with pytest.raises(PersonalDataError):
        board.edit_comment("v2", comment_id, body="메일 hong@example.com", **owner)
    with pytest.raises(PersonalDataError):
        board.edit_post("v1", post_id, title="질문", body=f"{RRN}", category="scalp", **owner)
    post = board.get_post(post_id)
    assert post is not None and post.body == "본문"
    assert [c.body for c in board.list_comments(post_id)] == ["좋은 정보 감사합니다"]


def test_shared_summaries_go_by_the_same_rule() -> None:
    for text in ("+44 20 7946 0958", "０１０－１２３４－５６７８", RRN, "hong@example.com"):
        with pytest.raises(SummaryError):
            validate_summary({"task": "chest", "scores": {"risk": 0.3}, "note": f"x {text}"})
    assert validate_summary({"task": "chest", "scores": {"risk": 0.3}, "note": "AUC 0.81 (0.78-0.84)"})
