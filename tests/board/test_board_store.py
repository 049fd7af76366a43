"""Board behaviour: posts, comments, likes, sorting, pagination, views, search, ownership,
rate limits, duplicate and link-spam checks, reports and moderation."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.board import (
    Board,
    BoardConfig,
    DuplicateError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    SpamError,
)
from core.board.text import fingerprint

if TYPE_CHECKING:
    from tests.board.conftest import FakeClock

# ---------------------------------------------------------------------- posts


def test_create_and_read_post(board: Board, clock: FakeClock) -> None:
    post_id = board.create_post(
        "v1", category="scalp", title="  두피가 가려워요  ", body="요즘 두피가\n너무 가려워요.", nickname=" 철수 ", password="pw-1234"
    )
    post = board.get_post(post_id)
    assert post is not None
    assert post.title == "두피가 가려워요"  # outer whitespace of one-line fields is dropped
    assert post.body == "요즘 두피가\n너무 가려워요."  # bodies are stored exactly
    assert post.nickname == "철수"
    assert post.category == "scalp"
    assert post.created_at == clock.now
    assert (post.view_count, post.like_count, post.comment_count, post.report_count) == (0, 0, 0, 0)
    assert post.status == "visible" and post.summary is None


def test_get_missing_post_is_none(board: Board) -> None:
    assert board.get_post(12345) is None


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("title", "", "board.error.required"),
        ("title", "   ", "board.error.required"),
        ("title", "x" * 101, "board.error.too_long"),
        ("title", "tab\there", "board.error.bad_chars"),
        ("title", "line\nbreak", "board.error.bad_chars"),
        ("body", "", "board.error.required"),
        ("body", " \n ", "board.error.required"),
        ("body", "x" * 5001, "board.error.too_long"),
        ("body", "\n" * 250 + "x", "board.error.too_many_lines"),
        ("body", "nul\x00byte", "board.error.bad_chars"),
        ("body", "lone \ud800 surrogate", "board.error.bad_chars"),
        ("nickname", "a", "board.error.too_short"),
        ("nickname", "n" * 21, "board.error.too_long"),
        ("nickname", "관리자", "board.error.reserved_nickname"),
        ("nickname", "ADMIN", "board.error.reserved_nickname"),
        ("password", "abc", "board.error.too_short"),
        ("password", "p" * 129, "board.error.too_long"),
        ("category", "cardiology", "board.error.bad_category"),
    ],
)
def test_post_input_limits(board: Board, field: str, value: str, key: str) -> None:
    fields = {"category": "free", "title": "title", "body": "body", "nickname": "nick", "password": "pw-1234"}
    fields[field] = value
    with pytest.raises(InvalidInputError) as info:
        board.create_post("v1", **fields)
    assert info.value.key == key
    assert board.list_posts().total == 0


def test_error_messages_are_translated(board: Board) -> None:
    with pytest.raises(InvalidInputError) as info:
        board.create_post("v1", category="free", title="t", body="b", nickname="n", password="pw-1234")
    assert info.value.message("en") == "Nickname must be at least 2 characters."
    assert info.value.message("ko") == "닉네임은 2자 이상이어야 해요."
    assert str(info.value) == "Nickname must be at least 2 characters."


def test_link_spam_refused(board: Board, make_post: Callable[..., int]) -> None:
    make_post(body="see https://a.example and www.b.example and http://c.example")  # 3 links: fine
    with pytest.raises(SpamError):
        make_post(body="https://a.example https://b.example https://c.example https://d.example")
    with pytest.raises(SpamError):  # links in the title count too
        make_post(title="www.a.example www.b.example", body="javascript:x() and data:text/html,x")


def test_duplicate_post_refused_within_window(board: Board, clock: FakeClock, make_post: Callable[..., int]) -> None:
    make_post(title="Same title", body="Same   body")
    with pytest.raises(DuplicateError):  # another visitor, case/space variants: still a duplicate
        make_post(title="same TITLE", body="same body")
    clock.advance(board.config.duplicate_window_s + 1)
    make_post(title="Same title", body="Same   body")
    assert board.list_posts().total == 2


# ---------------------------------------------------------------------- lists


def test_newest_and_popular_sort_and_pagination(board: Board, make_post: Callable[..., int]) -> None:
    ids = [make_post(category="chest" if i % 2 else "bone") for i in range(25)]
    page1 = board.list_posts(page=1, per_page=10)
    assert page1.total == 25 and page1.pages == 3
    assert [p.id for p in page1.items] == ids[::-1][:10]
    page3 = board.list_posts(page=3, per_page=10)
    assert [p.id for p in page3.items] == ids[::-1][20:]
    assert board.list_posts(page=99, per_page=10).page == 3  # clamped to the last page
    for n, voter in enumerate(["a", "b", "c"]):
        board.like(ids[5], voter)
        if n < 2:
            board.like(ids[7], voter)
    popular = board.list_posts(sort="popular", per_page=3)
    assert [p.id for p in popular.items] == [ids[5], ids[7], ids[24]]
    chest = board.list_posts(category="chest", per_page=50)
    assert chest.total == 12 and all(p.category == "chest" for p in chest.items)
    with pytest.raises(InvalidInputError):
        board.list_posts(sort="random")
    with pytest.raises(InvalidInputError):
        board.list_posts(category="heart")


def test_view_counts(board: Board, make_post: Callable[..., int]) -> None:
    post_id = make_post()
    for _ in range(3):
        board.record_view(post_id)
    board.record_view(999)  # missing post: nothing happens
    assert board.get_post(post_id).view_count == 3  # type: ignore[union-attr]


# ---------------------------------------------------------------------- search


def test_korean_search(board: Board, make_post: Callable[..., int]) -> None:
    scalp = make_post(category="scalp", title="두피가 가려워요", body="샴푸를 바꿨더니 각질이 생겼어요")
    bone = make_post(category="bone", title="골다공증 검사 후기", body="어깨 엑스레이로 골밀도를 봤어요")
    make_post(title="Dry scalp in winter", body="My scalp is itchy and flaky")
    assert [p.id for p in board.search("두피").items] == [scalp]  # 2 chars: LIKE fallback
    assert [p.id for p in board.search("가려워").items] == [scalp]  # 3 chars: trigram FTS
    assert [p.id for p in board.search("두피가 가려워요").items] == [scalp]
    assert [p.id for p in board.search("각질").items] == [scalp]  # in the body
    assert [p.id for p in board.search("골밀도").items] == [bone]
    assert board.search("두피 골밀도").total == 0  # every term must match
    assert board.search("없는단어입니다").total == 0


def test_english_search_is_case_insensitive_substring(board: Board, make_post: Callable[..., int]) -> None:
    first = make_post(title="Dry scalp in winter", body="My scalp is itchy and flaky")
    second = make_post(title="Cough after a cold", body="Chest X-ray was clear")
    assert [p.id for p in board.search("SCALP").items] == [first]
    assert [p.id for p in board.search("itch").items] == [first]  # substring, not only words
    assert [p.id for p in board.search("x-ray clear").items] == [second]
    assert [p.id for p in board.search("X-RAY").items] == [second]
    assert board.search("scalp chest").total == 0


def test_search_filters_sort_and_paginates(board: Board, make_post: Callable[..., int]) -> None:
    ids = [make_post(category="scalp" if i < 15 else "free", title=f"탈모 고민 {i}") for i in range(20)]
    result = board.search("탈모", category="scalp", per_page=10, page=2)
    assert result.total == 15 and result.pages == 2
    assert [p.id for p in result.items] == ids[:15][::-1][10:]
    board.like(ids[3], "fan")
    assert board.search("탈모 고민", sort="popular", per_page=1).items[0].id == ids[3]


def test_search_special_characters_are_literal(board: Board, make_post: Callable[..., int]) -> None:
    pct = make_post(title="100% sure", body="a_b and c\\d")
    make_post(title="plain", body="nothing special here")
    assert [p.id for p in board.search("%").items] == [pct]
    assert [p.id for p in board.search("_").items] == [pct]
    assert [p.id for p in board.search("c\\d").items] == [pct]
    for query in ['"', '" OR "', "NEAR(a b)", "title:*", "*", "AND", "-x", "(((", "'"]:
        board.search(query)  # FTS syntax in a query is inert: no exception


def test_empty_search_lists_posts(board: Board, make_post: Callable[..., int]) -> None:
    make_post()
    assert board.search("   ").total == 1


def test_search_query_limits(board: Board) -> None:
    with pytest.raises(InvalidInputError):
        board.search("x" * 101)
    with pytest.raises(InvalidInputError):
        board.search("bad\x00query")


def test_search_after_edit_and_delete(board: Board, make_post: Callable[..., int]) -> None:
    post_id = make_post(title="original words", body="first version", nickname="owner", password="pw-1234")
    board.edit_post("v", post_id, nickname="owner", password="pw-1234", title="changed title", body="둘째 버전", category="free")
    assert board.search("original").total == 0
    assert [p.id for p in board.search("둘째 버전").items] == [post_id]
    board.delete_post("v", post_id, nickname="owner", password="pw-1234")
    assert board.search("둘째").total == 0
    assert board.integrity_check() == "ok"


# ---------------------------------------------------------------------- ownership


def test_edit_requires_nickname_and_password(board: Board, make_post: Callable[..., int], clock: FakeClock) -> None:
    post_id = make_post(title="mine", nickname="owner", password="correct-pw")
    with pytest.raises(PermissionDeniedError):
        board.edit_post("v", post_id, nickname="owner", password="wrong-pw", title="x", body="y", category="free")
    with pytest.raises(PermissionDeniedError):
        board.edit_post("v", post_id, nickname="other", password="correct-pw", title="x", body="y", category="free")
    assert board.get_post(post_id).title == "mine"  # type: ignore[union-attr]
    clock.advance(10)
    board.edit_post("v", post_id, nickname="owner", password="correct-pw", title="new", body="text", category="bone")
    post = board.get_post(post_id)
    assert post is not None and (post.title, post.body, post.category) == ("new", "text", "bone")
    assert post.updated_at == clock.now


def test_delete_post_removes_comments_likes_reports(board: Board, make_post: Callable[..., int], db_path: Path) -> None:
    post_id = make_post(nickname="owner", password="correct-pw")
    board.add_comment("c", post_id, nickname="guest", password="pw-1234", body="hello")
    board.like(post_id, "fan")
    board.report_post(post_id, "critic")
    with pytest.raises(PermissionDeniedError):
        board.delete_post("v", post_id, nickname="owner", password="nope-nope")
    board.delete_post("v", post_id, nickname="owner", password="correct-pw")
    assert board.get_post(post_id) is None
    with sqlite3.connect(db_path) as conn:
        for table in ("comments", "likes", "reports"):
            assert conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] == 0
    with pytest.raises(NotFoundError):
        board.delete_post("v", post_id, nickname="owner", password="correct-pw")


def test_failed_password_attempts_are_rate_limited(board: Board, make_post: Callable[..., int], clock: FakeClock) -> None:
    post_id = make_post(nickname="owner", password="correct-pw")
    for _ in range(5):
        with pytest.raises(PermissionDeniedError):
            board.check_owner("attacker", post_id, nickname="owner", password="guess-pw")
    with pytest.raises(RateLimitedError):  # even the right password waits now
        board.check_owner("attacker", post_id, nickname="owner", password="correct-pw")
    board.check_owner("someone-else", post_id, nickname="owner", password="correct-pw")
    clock.advance(61)
    board.check_owner("attacker", post_id, nickname="owner", password="correct-pw")


# ---------------------------------------------------------------------- comments


def test_comments_add_list_delete(board: Board, make_post: Callable[..., int]) -> None:
    post_id = make_post()
    first = board.add_comment("c1", post_id, nickname="영희", password="pw-1234", body="저도 그래요")
    second = board.add_comment("c2", post_id, nickname="민수", password="pw-5678", body="병원 가 보세요\n두 줄")
    comments = board.list_comments(post_id)
    assert [(c.id, c.nickname, c.body) for c in comments] == [
        (first, "영희", "저도 그래요"),
        (second, "민수", "병원 가 보세요\n두 줄"),
    ]
    assert board.get_post(post_id).comment_count == 2  # type: ignore[union-attr]
    with pytest.raises(PermissionDeniedError):
        board.delete_comment("c1", first, nickname="영희", password="wrong-pw")
    board.delete_comment("c1", first, nickname="영희", password="pw-1234")
    assert [c.id for c in board.list_comments(post_id)] == [second]
    assert board.get_post(post_id).comment_count == 1  # type: ignore[union-attr]


def test_comment_checks(board: Board, make_post: Callable[..., int], clock: FakeClock) -> None:
    post_id = make_post()
    with pytest.raises(NotFoundError):
        board.add_comment("c", 999, nickname="guest", password="pw-1234", body="hi")
    with pytest.raises(InvalidInputError):
        board.add_comment("c", post_id, nickname="guest", password="pw-1234", body="x" * 1001)
    with pytest.raises(SpamError):
        board.add_comment("c", post_id, nickname="guest", password="pw-1234", body="http://a http://b http://c")
    board.add_comment("c", post_id, nickname="guest", password="pw-1234", body="same words")
    with pytest.raises(DuplicateError):
        board.add_comment("d", post_id, nickname="guest2", password="pw-1234", body="Same  Words")
    clock.advance(board.config.duplicate_comment_window_s + 1)
    board.add_comment("d", post_id, nickname="guest2", password="pw-1234", body="same words")


def test_edit_comment(board: Board, make_post: Callable[..., int], clock: FakeClock, db_path: Path) -> None:
    post_id = make_post()
    comment_id = board.add_comment("c1", post_id, nickname="영희", password="pw-1234", body="처음 댓글")
    created = clock.now
    clock.advance(30)
    with pytest.raises(PermissionDeniedError):
        board.edit_comment("c1", comment_id, nickname="영희", password="wrong-pw", body="바꿈")
    with pytest.raises(PermissionDeniedError):  # the nickname must match too
        board.edit_comment("c1", comment_id, nickname="철수", password="pw-1234", body="바꿈")
    board.edit_comment("c2", comment_id, nickname=" 영희 ", password="pw-1234", body="  고친 댓글\n둘째 줄  ")
    [comment] = board.list_comments(post_id)
    assert comment.body == "  고친 댓글\n둘째 줄  "  # stored exactly as typed, like a new comment
    assert (comment.created_at, comment.updated_at) == (created, clock.now)
    assert comment.nickname == "영희"
    assert board.get_post(post_id).comment_count == 1  # type: ignore[union-attr]
    with sqlite3.connect(db_path) as conn:  # the duplicate fingerprint follows the new text
        stored = conn.execute("SELECT fingerprint FROM comments").fetchone()[0]
    assert stored == fingerprint("  고친 댓글\n둘째 줄  ")


@pytest.mark.parametrize(
    ("body", "error", "key"),
    [
        ("", InvalidInputError, "board.error.required"),
        ("  \n ", InvalidInputError, "board.error.required"),
        ("x" * 1001, InvalidInputError, "board.error.too_long"),
        ("\n" * 250 + "x", InvalidInputError, "board.error.too_many_lines"),
        ("nul\x00byte", InvalidInputError, "board.error.bad_chars"),
        ("lone \ud800", InvalidInputError, "board.error.bad_chars"),
        ("http://a http://b www.c", SpamError, "board.error.too_many_links"),
        ("Other  COMMENT", DuplicateError, "board.error.duplicate_comment"),
    ],
)
def test_edit_comment_checks_like_a_new_comment(
    board: Board, make_post: Callable[..., int], body: str, error: type[Exception], key: str
) -> None:
    post_id = make_post()
    board.add_comment("c0", post_id, nickname="someone", password="pw-1234", body="other comment")
    comment_id = board.add_comment("c1", post_id, nickname="writer", password="pw-1234", body="mine")
    with pytest.raises(error) as info:
        board.edit_comment("c1", comment_id, nickname="writer", password="pw-1234", body=body)
    assert info.value.key == key  # type: ignore[attr-defined]
    assert [c.body for c in board.list_comments(post_id)] == ["other comment", "mine"]
    assert all(c.updated_at is None for c in board.list_comments(post_id))


def test_edit_comment_duplicates_and_limits(board: Board, make_post: Callable[..., int], clock: FakeClock) -> None:
    post_id = make_post()
    comment_id = board.add_comment("c1", post_id, nickname="writer", password="pw-1234", body="same text")
    board.edit_comment("c1", comment_id, nickname="writer", password="pw-1234", body="Same  TEXT")  # its own text
    other = board.add_comment("c2", post_id, nickname="other", password="pw-5678", body="older one")
    clock.advance(board.config.duplicate_comment_window_s + 1)
    board.edit_comment("c2", other, nickname="other", password="pw-5678", body="same text")  # window passed
    for n in range(10):  # 10 edits a minute
        board.edit_comment("c1", comment_id, nickname="writer", password="pw-1234", body=f"edit {n}")
    with pytest.raises(RateLimitedError):
        board.edit_comment("c1", comment_id, nickname="writer", password="pw-1234", body="edit 10")
    for _ in range(5):  # failed passwords count against the auth limit
        with pytest.raises(PermissionDeniedError):
            board.edit_comment("guesser", comment_id, nickname="writer", password="guess-pw", body="x")
    with pytest.raises(RateLimitedError):
        board.edit_comment("guesser", comment_id, nickname="writer", password="pw-1234", body="x")
    clock.advance(61)
    board.edit_comment("c1", comment_id, nickname="writer", password="pw-1234", body="later")
    assert [c.body for c in board.list_comments(post_id)] == ["later", "same text"]


def test_edit_comment_not_found_cases(board: Board, make_post: Callable[..., int]) -> None:
    post_id = make_post()
    comment_id = board.add_comment("c1", post_id, nickname="writer", password="pw-1234", body="mine")
    with pytest.raises(NotFoundError):
        board.edit_comment("c1", 999, nickname="writer", password="pw-1234", body="x")
    for visitor in ("r1", "r2", "r3"):
        board.report_post(post_id, visitor)
    with pytest.raises(NotFoundError):  # the post is hidden pending review
        board.edit_comment("c1", comment_id, nickname="writer", password="pw-1234", body="x")
    board.import_jsonl([
        '{"type": "post", "id": 1, "category": "free", "title": "t", "body": "b", "nickname": "n"}',
        '{"type": "comment", "post_id": 1, "nickname": "writer", "body": "no password"}',
    ])
    [imported] = board.list_comments(board.list_posts().items[0].id)
    with pytest.raises(PermissionDeniedError):  # imported comments have no password: moderators only
        board.edit_comment("c1", imported.id, nickname="writer", password="pw-1234", body="x")


def test_edited_comment_survives_export_and_import(
    board: Board, make_post: Callable[..., int], db_path: Path, config: BoardConfig
) -> None:
    post_id = make_post()
    comment_id = board.add_comment("c1", post_id, nickname="writer", password="pw-1234", body="mine")
    board.edit_comment("c1", comment_id, nickname="writer", password="pw-1234", body="edited")
    out = io.StringIO()
    board.export_jsonl(out)
    copy = Board(db_path.with_name("copy.sqlite3"), config=config)
    copy.import_jsonl(out.getvalue().splitlines())
    [comment] = copy.list_comments(copy.list_posts().items[0].id)
    [original] = board.list_comments(post_id)
    assert (comment.body, comment.updated_at) == ("edited", original.updated_at)


# ---------------------------------------------------------------------- likes


def test_one_like_per_visitor(board: Board, make_post: Callable[..., int], db_path: Path) -> None:
    post_id = make_post()
    assert board.like(post_id, "visitor-a") is True
    assert board.like(post_id, "visitor-a") is False
    assert board.like(post_id, "visitor-b") is True
    assert board.get_post(post_id).like_count == 2  # type: ignore[union-attr]
    assert board.has_liked(post_id, "visitor-a") and not board.has_liked(post_id, "visitor-c")
    assert board.unlike(post_id, "visitor-a") is True
    assert board.unlike(post_id, "visitor-a") is False
    assert board.get_post(post_id).like_count == 1  # type: ignore[union-attr]
    with sqlite3.connect(db_path) as conn:  # the UNIQUE constraint itself holds
        row = conn.execute("SELECT post_id, visitor_hash, created_at FROM likes").fetchone()
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute("INSERT INTO likes VALUES (?, ?, ?)", row)
        stored = conn.execute("SELECT visitor_hash FROM likes").fetchall()
    assert all(len(h) == 64 and "visitor" not in h for (h,) in stored)  # only hashes are stored
    with pytest.raises(NotFoundError):
        board.like(999, "visitor-a")


# ---------------------------------------------------------------------- rate limits


def test_post_rate_limit_per_session(board: Board, clock: FakeClock, make_post: Callable[..., int]) -> None:
    for n in range(3):
        make_post(visitor="busy", title=f"t{n}")
    with pytest.raises(RateLimitedError) as info:
        make_post(visitor="busy", title="t3")
    assert 1 <= info.value.params["seconds"] <= 60
    make_post(visitor="calm", title="other session")  # other sessions are not affected
    clock.advance(61)
    make_post(visitor="busy", title="t4")


def test_comment_rate_limit(board: Board, clock: FakeClock, make_post: Callable[..., int]) -> None:
    post_id = make_post()
    for n in range(10):
        board.add_comment("chatty", post_id, nickname="guest", password="pw-1234", body=f"comment {n}")
    with pytest.raises(RateLimitedError):
        board.add_comment("chatty", post_id, nickname="guest", password="pw-1234", body="one more")
    clock.advance(60.5)
    board.add_comment("chatty", post_id, nickname="guest", password="pw-1234", body="one more")


def test_hourly_post_limit(db_path: Path, config: BoardConfig, clock: FakeClock) -> None:
    board = Board(db_path, config=config, clock=clock)
    for n in range(20):
        board.create_post("steady", category="free", title=f"t{n}", body="b", nickname="nick", password="pw-1234")
        clock.advance(21)  # 3 per minute never trips
    with pytest.raises(RateLimitedError):
        board.create_post("steady", category="free", title="t20", body="b", nickname="nick", password="pw-1234")


# ---------------------------------------------------------------------- reports and moderation


def test_reports_hide_post_until_reviewed(board: Board, make_post: Callable[..., int]) -> None:
    post_id = make_post(title="suspicious")
    assert board.report_post(post_id, "r1", "spam").hidden is False
    assert board.report_post(post_id, "r1", "again").new is False  # once per visitor
    assert board.report_post(post_id, "r2").hidden is False
    result = board.report_post(post_id, "r3", "ads")
    assert result.new and result.hidden
    assert board.get_post(post_id) is None
    assert board.list_posts().total == 0 and board.search("suspicious").total == 0
    with pytest.raises(NotFoundError):
        board.add_comment("c", post_id, nickname="guest", password="pw-1234", body="hi")
    mod = board.moderator("admin-visitor", "s3cret", "s3cret")
    queue = mod.queue()
    assert [p.id for p in queue.items] == [post_id] and queue.items[0].status == "hidden"
    assert sorted(r.reason for r in mod.reports(post_id)) == ["", "ads", "spam"]
    mod.restore(post_id)
    restored = board.get_post(post_id)
    assert restored is not None and restored.report_count == 0
    assert mod.queue().total == 0
    assert [entry["action"] for entry in mod.log()] == ["restore", "auto_hide"]


def test_moderator_requires_the_secret(board: Board, make_post: Callable[..., int]) -> None:
    with pytest.raises(PermissionDeniedError):
        board.moderator("v", "wrong", "s3cret")
    with pytest.raises(PermissionDeniedError):  # moderation off without a configured secret
        board.moderator("v", "", None)
    with pytest.raises(PermissionDeniedError):
        board.moderator("v", "anything", "")
    post_id = make_post()
    comment_id = board.add_comment("c", post_id, nickname="guest", password="pw-1234", body="rude")
    mod = board.moderator("v", "s3cret", "s3cret")
    mod.delete_comment(comment_id)
    assert board.list_comments(post_id) == []
    mod.hide(post_id)
    assert board.get_post(post_id) is None and mod.get_post(post_id) is not None
    mod.delete_post(post_id)
    assert mod.get_post(post_id) is None
    with pytest.raises(NotFoundError):
        mod.delete_post(post_id)


def test_admin_secret_guessing_is_rate_limited(board: Board) -> None:
    for _ in range(5):
        with pytest.raises(PermissionDeniedError):
            board.moderator("guesser", "guess", "s3cret")
    with pytest.raises(RateLimitedError):
        board.moderator("guesser", "s3cret", "s3cret")


def test_search_counts_stop_at_the_cap(db_path: Path, clock: FakeClock) -> None:
    from dataclasses import replace

    board = Board(db_path, replace(BoardConfig(), search_count_max=20).without_rate_limits())
    board.import_posts({"category": "free", "title": f"두피 {n}", "body": "가려워요", "nickname": "n"} for n in range(45))
    for query in ("두피", "가려워요"):  # LIKE path and trigram path
        first = board.search(query, per_page=10)
        assert (first.total, first.more, first.pages) == (20, True, 2)
        assert board.search(query, per_page=10, page=9).page == 2  # paging stops at the cap
    exact = board.search("두피 4", per_page=10)  # 4, 14, 24, 34, 40..44: one pass, exact total
    assert (exact.total, exact.more) == (9, False)
    assert board.search("두피 4", per_page=5, page=2).total == 9
    assert board.search("두피 4", per_page=5, page=7).page == 2
