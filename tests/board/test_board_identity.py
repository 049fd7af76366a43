"""Issue 16: board identity follows a browser (a random id in a cookie signed with the board's
key), not a session or a shared address; failed admin secrets are limited per browser, per
client network and board-wide, in the database; nicknames cannot pass for other names."""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from core.board import Board, BoardConfig, InvalidInputError, PermissionDeniedError, RateLimitedError, Visitor
from core.board.security import ANONYMOUS_VISITOR, browser_id_from_token, new_browser_token
from tests.board.conftest import FakeClock

SECRET = "the-admin-secret"


def _browser(board: Board, fallback: str = "anonymous") -> Visitor:
    token = board.issue_browser_token(fallback)
    assert token is not None
    vid = board.browser_visitor_id(token)
    assert vid is not None
    return Visitor(vid)


# ---------------------------------------------------------------------- the signed cookie


def test_a_token_names_one_browser_and_cannot_be_forged(board: Board, db_path: Path) -> None:
    token = board.issue_browser_token("anonymous")
    assert token is not None and len(token) == 68
    vid = board.browser_visitor_id(token)
    assert vid is not None and vid.startswith("browser-")
    assert board.browser_visitor_id(token) == vid == board.browser_visitor_id(f'"{token}"')  # stable, quoted too
    version, browser, mac = token.split(".")
    flipped = "0" if mac[0] != "0" else "1"
    for bad in (
        f"{version}.{browser}.{flipped}{mac[1:]}",  # tampered signature
        f"{version}.{'f' * 32}.{mac}",  # another id under this signature
        f"v2.{browser}.{mac}",
        token.upper(),
        token + "0",
        "",
        "v1..",
        "x" * 5000,
        None,
        12345,
    ):
        assert board.browser_visitor_id(bad) is None, bad
    other = Board(db_path.with_name("other.sqlite3"), board.config)  # another installation's key
    assert other.browser_visitor_id(token) is None
    assert browser_id_from_token(b"k" * 32, new_browser_token(b"k" * 32)) is not None


def test_fifty_sessions_of_one_browser_like_once(board: Board, make_post) -> None:  # type: ignore[no-untyped-def]
    """Issue 16 reproducer: 50 visitor ids gave 50 likes. The 50 sessions of one browser send
    the same cookie, so they are one visitor."""
    post_id = make_post()
    token = board.issue_browser_token("anonymous")
    for _ in range(50):
        vid = board.browser_visitor_id(token)  # a fresh session reads the cookie again
        assert vid is not None
        board.like(post_id, Visitor(vid))
    assert board.get_post(post_id).like_count == 1  # type: ignore[union-attr]


def test_made_up_cookies_give_no_new_visitors(board: Board, make_post) -> None:  # type: ignore[no-untyped-def]
    post_id = make_post()
    for n in range(50):  # 50 forged cookie values: none is accepted, all fall back to one visitor
        forged = f"v1.{n:032x}.{'0' * 32}"
        assert board.browser_visitor_id(forged) is None
        with pytest.raises(PermissionDeniedError):  # the shared fallback visitor cannot like
            board.like(post_id, Visitor(ANONYMOUS_VISITOR, confirmed=False))
    assert board.get_post(post_id).like_count == 0  # type: ignore[union-attr]


def test_a_client_that_drops_cookies_gets_few_new_browser_ids(db_path: Path, config: BoardConfig) -> None:
    clock = FakeClock()
    board = Board(db_path, replace(config, network_rate_rules={"visitor": ((3, 60.0), (5, 3600.0))}), clock=clock)
    issued = [board.issue_browser_token("client-a") for _ in range(5)]
    assert [t is not None for t in issued] == [True, True, True, False, False]  # 3 a minute
    clock.advance(61)
    assert board.issue_browser_token("client-a") is not None
    assert board.issue_browser_token("client-a") is not None
    assert board.issue_browser_token("client-a") is None  # 5 an hour
    assert board.issue_browser_token("client-b") is not None  # another network is not affected


def test_default_limits_bound_new_browser_ids_per_network(board: Board, make_post) -> None:  # type: ignore[no-untyped-def]
    post_id = make_post()
    likes = 0
    for _ in range(50):  # 50 cookie-less sessions from one address, each asking for a new id
        token = board.issue_browser_token("client-one-address")
        visitor = Visitor(board.browser_visitor_id(token) if token else "client-one-address", "client-one-address",
                          confirmed=False)
        with contextlib.suppress(RateLimitedError):
            likes += board.like(post_id, visitor)
    assert likes == 3  # hardening review: 11 before (10 new browsers a minute, then the address itself)
    assert board.get_post(post_id).like_count == 3  # type: ignore[union-attr]


# ---------------------------------------------------------------------- likes of cookie-less sessions


def _fresh(board: Board, network: str | None) -> Visitor:
    """A browser's first session (or a client that drops cookies): a new id, not confirmed."""
    return Visitor(_browser(board, network or ANONYMOUS_VISITOR).id, network, confirmed=False)


@pytest.mark.parametrize("network", ["client-one-address", None])
def test_sessions_that_drop_cookies_add_a_few_likes_per_network(board: Board, make_post, network: str | None,  # type: ignore[no-untyped-def]
                                                               clock: FakeClock) -> None:
    """A client that never returns its cookie gets a new id every session; its likes of one post count
    a few times per network and hour (3; every session without an address counts as one network)."""
    from core.i18n import t

    post_id = make_post()
    assert [board.like(post_id, _fresh(board, network)) for _ in range(3)] == [True] * 3
    for _ in range(5):
        with pytest.raises(RateLimitedError) as info:
            board.like(post_id, _fresh(board, network))
        assert info.value.key == "board.error.like_new_browser"
        assert "{" not in info.value.message("ko") and info.value.message("en") != t("board.error.rate_limited", "en")
    assert board.get_post(post_id).like_count == 3  # type: ignore[union-attr]
    other = make_post()
    assert board.like(other, _fresh(board, network))  # per post, not in all
    clock.advance(3601)  # an hour later, a few more
    assert board.like(post_id, _fresh(board, network))


def test_a_first_visit_like_is_the_browsers_own_in_its_later_sessions(board: Board, make_post) -> None:  # type: ignore[no-untyped-def]
    """The like of a browser's first session (cookie not yet returned) is keyed by the browser id in
    that cookie: the browser's later sessions (confirmed) see it as theirs and cannot like again."""
    post_id = make_post()
    browser = _browser(board, "client-home").id
    first = Visitor(browser, "client-home", confirmed=False)
    assert board.like(post_id, first) and board.has_liked(post_id, first)
    later = Visitor(browser, "client-home", confirmed=True)
    assert board.has_liked(post_id, later) and not board.like(post_id, later)
    assert board.get_post(post_id).like_count == 1  # type: ignore[union-attr]
    assert board.unlike(post_id, later) and not board.has_liked(post_id, first)
    assert board.get_post(post_id).like_count == 0  # type: ignore[union-attr]


def test_browsers_that_return_their_cookie_each_like_behind_one_network(board: Board, make_post) -> None:  # type: ignore[no-untyped-def]
    post_id = make_post()
    for _ in range(5):  # five people behind one NAT, each browser confirmed: not limited per network
        assert board.like(post_id, Visitor(_browser(board, "client-nat").id, "client-nat", confirmed=True))
    for _ in range(3):  # and three first visits there
        assert board.like(post_id, _fresh(board, "client-nat"))
    with pytest.raises(RateLimitedError):
        board.like(post_id, _fresh(board, "client-nat"))
    assert board.get_post(post_id).like_count == 8  # type: ignore[union-attr]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_shared_anonymous_visitor_cannot_like_or_report(board: Board, make_post, lang: str) -> None:  # type: ignore[no-untyped-def]
    """Where no address is seen and new ids run out, every session collapses into one shared
    visitor: it may not like or report (the translated message says to allow cookies)."""
    from core.i18n import t

    post_id = make_post()
    for confirmed in (False, True):
        anon = Visitor(ANONYMOUS_VISITOR, None, confirmed=confirmed)
        for act in (board.like, board.report_post):
            with pytest.raises(PermissionDeniedError) as info:
                act(post_id, anon)
            assert info.value.key == "board.error.unrecognised_visitor"
            assert info.value.message(lang) == t("board.error.unrecognised_visitor", lang)
    post = board.get_post(post_id)
    assert post is not None and post.like_count == 0 and post.report_count == 0


# ---------------------------------------------------------------------- reports


def test_three_sessions_of_one_browser_cannot_hide_a_post(board: Board, make_post) -> None:  # type: ignore[no-untyped-def]
    post_id = make_post()
    browser = _browser(board)
    for _ in range(3):
        board.report_post(post_id, browser)
    post = board.get_post(post_id)
    assert post is not None and post.report_count == 1


def test_new_browsers_on_one_network_count_as_one_reporter(board: Board, make_post) -> None:  # type: ignore[no-untyped-def]
    post_id = make_post()
    for _ in range(5):  # one person clearing cookies: a new browser id each time, same address
        vid = _browser(board, "client-x").id
        assert board.report_post(post_id, Visitor(vid, network="client-x")).new
    post = board.get_post(post_id)
    assert post is not None and post.report_count == 5  # recorded, shown to moderators
    for n in range(2):  # two more people elsewhere: now three reporters
        result = board.report_post(post_id, Visitor(_browser(board, f"client-{n}").id, network=f"client-{n}"))
    assert result.hidden and board.get_post(post_id) is None


def test_reports_from_browsers_that_never_returned_their_cookie_do_not_hide(board: Board, make_post) -> None:  # type: ignore[no-untyped-def]
    post_id = make_post()
    for _ in range(3):  # three cookie-less sessions, no client address: three fresh, unconfirmed ids
        board.report_post(post_id, Visitor(_browser(board).id, confirmed=False))
    assert board.get_post(post_id) is not None
    for _ in range(3):  # three browsers that kept their cookies
        result = board.report_post(post_id, _browser(board))
    assert result.hidden


# ---------------------------------------------------------------------- admin secret


def test_a_fresh_session_gets_no_more_admin_guesses(board: Board) -> None:
    browser = _browser(board)
    for _ in range(5):  # each guess from a new session of the same browser: same cookie
        with pytest.raises(PermissionDeniedError):
            board.moderator(Visitor(browser.id), "guess", SECRET)
    with pytest.raises(RateLimitedError):
        board.moderator(Visitor(browser.id), SECRET, SECRET)  # locked out: even the right secret


def test_new_browsers_on_one_network_share_its_admin_guesses(board: Board) -> None:
    for _ in range(5):
        with pytest.raises(PermissionDeniedError):
            board.moderator(Visitor(_browser(board, "client-n").id, "client-n"), "guess", SECRET)
    with pytest.raises(RateLimitedError):  # a cleared cookie does not help
        board.moderator(Visitor(_browser(board, "client-n").id, "client-n"), SECRET, SECRET)
    board.moderator(Visitor(_browser(board, "client-m").id, "client-m"), SECRET, SECRET)  # elsewhere: fine


def test_admin_guesses_are_capped_for_the_whole_board(board: Board, clock: FakeClock) -> None:
    for n in range(20):  # 20 browsers on 20 networks, one guess each
        with pytest.raises(PermissionDeniedError):
            board.moderator(Visitor(f"browser-{n}", f"client-{n}"), "guess", SECRET)
    with pytest.raises(RateLimitedError):
        board.moderator(Visitor("browser-new", "client-new"), SECRET, SECRET)
    clock.advance(3601)
    board.moderator(Visitor("browser-new", "client-new"), SECRET, SECRET)  # the window passed


def test_admin_failures_persist_across_board_instances_and_unlock(db_path: Path, config: BoardConfig) -> None:
    for _ in range(5):
        with pytest.raises(PermissionDeniedError):
            Board(db_path, config).moderator("browser-x", "guess", SECRET)  # a new process each time
    with pytest.raises(RateLimitedError):
        Board(db_path, config).moderator("browser-x", SECRET, SECRET)
    assert Board(db_path, config).unlock_admin() == 5 + 5  # the visitor's and the board-wide events
    Board(db_path, config).moderator("browser-x", SECRET, SECRET)


def test_rate_limits_also_hold_per_network(db_path: Path, config: BoardConfig) -> None:
    board = Board(db_path, replace(config, rate_rules={"post": ((3, 60.0),)}, network_rate_rules={"post": ((5, 60.0),)}))
    made = 0
    with pytest.raises(RateLimitedError):
        for n in range(10):  # a new browser id for every post, one address
            board.create_post(Visitor(f"browser-{n}", "client-z"), category="free", title=f"t{n}", body="b",
                              nickname="nick", password="pw-1234")
            made += 1
    assert made == 5


def test_only_hashes_of_browser_ids_are_stored(board: Board, db_path: Path, make_post) -> None:  # type: ignore[no-untyped-def]
    post_id = make_post()
    browser = _browser(board, "client-q")
    board.like(post_id, Visitor(browser.id, "client-q"))
    board.report_post(post_id, Visitor(browser.id, "client-q"))
    board.close()
    raw = b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))
    assert browser.id.encode() not in raw and browser.id.removeprefix("browser-").encode() not in raw
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT network_hash IS NOT NULL, counted FROM reports").fetchall() == [(1, 1)]


# ---------------------------------------------------------------------- nicknames


@pytest.mark.parametrize(
    ("nickname", "key"),
    [
        ("аdmin", "board.error.nickname_script"),  # Cyrillic а (issue 16)
        ("pаypal", "board.error.nickname_script"),
        ("Αdmin", "board.error.nickname_script"),  # Greek Α
        ("ad\u200bmin", "board.error.nickname_invisible"),  # zero-width space (issue 16)
        ("ad\u200dmin", "board.error.nickname_invisible"),
        ("ad\u2060min", "board.error.nickname_invisible"),
        ("\u202eadmin", "board.error.nickname_invisible"),  # right-to-left override
        ("관\u3164리자", "board.error.nickname_invisible"),  # Hangul filler
        ("\u3164\u3164", "board.error.nickname_invisible"),
        ("name\ufe0f", "board.error.nickname_invisible"),
        ("a\u2800b", "board.error.nickname_invisible"),  # Braille blank
        ("a\u0301\u0301\u0301b", "board.error.nickname_invisible"),  # stacked marks (zalgo)
        ("ＡＤＭＩＮ", "board.error.reserved_nickname"),  # fullwidth
        ("a d m i n", "board.error.reserved_nickname"),
        ("adm1n", "board.error.reserved_nickname"),
        ("ADMIN", "board.error.reserved_nickname"),
        ("ad.min", "board.error.reserved_nickname"),
        ("관 리 자", "board.error.reserved_nickname"),
        ("Moderator", "board.error.reserved_nickname"),
        # hardening review: Latin-named letters outside Basic Latin, Latin-1 and Latin Extended-A
        ("ɑdmin", "board.error.nickname_script"),  # U+0251 Latin small alpha (IPA)
        ("ᴀᴅᴍɪɴ", "board.error.nickname_script"),  # small capitals U+1D00...
        ("adɱin", "board.error.nickname_script"),  # U+0271 m with hook
        ("ǀǀama", "board.error.nickname_script"),  # U+01C0 dental click, reads as l
        ("αδmin", "board.error.nickname_script"),  # Greek with Latin
        ("аԁміп", "board.error.reserved_nickname"),  # all Cyrillic, reads as admin
        ("àdmin", "board.error.reserved_nickname"),  # accents do not make another name
        ("a\u0300dmin", "board.error.reserved_nickname"),  # the same with a combining grave
        ("ádmínístrátor", "board.error.reserved_nickname"),
        ("𝐚𝐝𝐦𝐢𝐧", "board.error.reserved_nickname"),  # mathematical bold (NFKC)
        ("admⅰn", "board.error.reserved_nickname"),  # U+2170 small roman numeral one
        ("ad\u00admin", "board.error.nickname_invisible"),  # soft hyphen
        ("관\u200b리자", "board.error.nickname_invisible"),
    ],
)
def test_look_alike_nicknames_are_refused(board: Board, nickname: str, key: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        board.create_post("v", category="free", title="t", body="b", nickname=nickname, password="pw-1234")
    assert caught.value.key == key
    assert caught.value.message("ko") != caught.value.key  # translated


@pytest.mark.parametrize("nickname", ["철수", "Kim철수", "John Smith", "Иван", "Ολγα", "山田たろう", "n000", "<b>닉</b>",
                                      "école", "😀joy", "tester_01", "José", "Zoë", "Łukasz", "김 민수", "Ärzte-Team"])
def test_ordinary_nicknames_pass(board: Board, nickname: str) -> None:
    post_id = board.create_post("v", category="free", title=f"t {nickname}", body="b", nickname=nickname,
                                password="pw-1234")
    assert board.get_post(post_id).nickname == nickname  # type: ignore[union-attr]


def test_nicknames_are_stored_nfkc_and_match_as_nfkc(board: Board) -> None:
    post_id = board.create_post("v", category="free", title="t", body="b", nickname="ｔｅｓｔｅｒ", password="pw-1234")
    assert board.get_post(post_id).nickname == "tester"  # type: ignore[union-attr]
    board.check_owner("v", post_id, nickname="tester", password="pw-1234")
    board.check_owner("v", post_id, nickname=" ｔｅｓｔｅｒ ", password="pw-1234")
    comment_id = board.add_comment("v", post_id, nickname="ｇｕｅｓｔ", password="pw-1234", body="c")
    assert board.list_comments(post_id)[0].nickname == "guest"
    board.delete_comment("v", comment_id, nickname="guest", password="pw-1234")


def test_the_cli_lifts_an_admin_lock_out(db_path: Path, config: BoardConfig, capsys: pytest.CaptureFixture[str]) -> None:
    from core.board.__main__ import main as cli_main

    board = Board(db_path, config)
    for n in range(20):
        with pytest.raises(PermissionDeniedError):
            board.moderator(Visitor(f"browser-{n}"), "guess", SECRET)
    with pytest.raises(RateLimitedError):
        board.moderator("the-real-admin", SECRET, SECRET)
    assert cli_main(["--db", str(db_path), "unlock-admin"]) == 0
    assert "forgot 40 failed admin secrets" in capsys.readouterr().out
    board.moderator("the-real-admin", SECRET, SECRET)
