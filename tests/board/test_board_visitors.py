"""Visitors identified by their client address (a salted scrypt of it, never the address):
the same id in every session from one client, so reloads cannot like twice, hide a post
alone or reset rate limits; different clients stay apart; nothing about the address is
stored."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from core.board import Board, BoardConfig, PermissionDeniedError, RateLimitedError
from core.board.security import client_network, client_visitor_id, visitor_hash

if TYPE_CHECKING:
    from collections.abc import Callable


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.7", "203.0.113.7"),
        (" 203.0.113.7 ", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),  # IPv4-mapped IPv6 is the IPv4 client
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # same /64: same client
        ("fe80::1%eth0", "fe80::/64"),
        ("", None),
        ("not an address", None),
        ("203.0.113.7:8501", None),
        (None, None),
    ],
)
def test_client_network(address: object, network: str | None) -> None:
    assert client_network(address) == network


def test_client_visitor_id_is_keyed_and_stable() -> None:
    salt_a, salt_b = "a" * 64, "b" * 64
    one = client_visitor_id(salt_a, "203.0.113.7")
    assert one is not None and one.startswith("client-") and len(one) == len("client-") + 64
    assert client_visitor_id(salt_a, "203.0.113.7") == one
    assert client_visitor_id(salt_a, "::ffff:203.0.113.7") == one
    assert client_visitor_id(salt_a, "203.0.113.8") != one
    assert client_visitor_id(salt_b, "203.0.113.7") != one  # another database, another salt
    assert "203.0.113.7" not in one
    assert client_visitor_id(salt_a, "2001:db8::1") == client_visitor_id(salt_a, "2001:db8::2")
    assert client_visitor_id(salt_a, "garbage") is None


def test_board_client_ids_survive_reopening(db_path: Path, tmp_path: Path) -> None:
    first = Board(db_path).client_visitor_id("198.51.100.20")
    assert first is not None
    assert Board(db_path).client_visitor_id("198.51.100.20") == first  # the salt is in the database
    assert Board(tmp_path / "other.sqlite3").client_visitor_id("198.51.100.20") != first
    assert Board(db_path).client_visitor_id(None) is None
    assert Board(db_path).client_visitor_id("") is None


def test_reloads_from_one_client_count_once(board: Board, make_post: Callable[..., int]) -> None:
    post_id = make_post()
    # three sessions (reloads, tabs) from the same client get the same visitor id
    sessions = [board.client_visitor_id("203.0.113.50") for _ in range(3)]
    assert len(set(sessions)) == 1 and sessions[0] is not None
    likes = [board.like(post_id, vid) for vid in sessions if vid]
    assert likes == [True, False, False]
    reports = [board.report_post(post_id, vid, "spam") for vid in sessions if vid]
    assert [r.new for r in reports] == [True, False, False]
    post = board.get_post(post_id)
    assert post is not None and post.like_count == 1 and post.report_count == 1  # still visible
    # two other clients: counted separately; the third report hides the post
    for address in ("203.0.113.51", "2001:db8:aa::1"):
        vid = board.client_visitor_id(address)
        assert vid is not None and board.like(post_id, vid)
        board.report_post(post_id, vid)
    assert board.get_post(post_id) is None  # 3 clients reported it
    assert board.moderator("m", "s", "s").get_post(post_id).like_count == 3  # type: ignore[union-attr]


def test_failed_admin_secrets_limit_the_client_not_the_session(board: Board) -> None:
    for _ in range(5):  # a new session for every guess
        vid = board.client_visitor_id("192.0.2.66")
        assert vid is not None
        with pytest.raises(PermissionDeniedError):
            board.moderator(vid, "guess", "the-secret")
    with pytest.raises(RateLimitedError):
        board.moderator(board.client_visitor_id("192.0.2.66") or "", "the-secret", "the-secret")
    other = board.client_visitor_id("192.0.2.67")
    assert other is not None
    board.moderator(other, "the-secret", "the-secret")  # another client is not locked out


def test_addresses_are_never_stored(db_path: Path, config: BoardConfig, make_post: Callable[..., int]) -> None:
    board = Board(db_path, config)
    post_id = make_post()
    address = "198.51.100.77"
    vid = board.client_visitor_id(address)
    assert vid is not None
    board.like(post_id, vid)
    board.report_post(post_id, vid, "spam")
    with pytest.raises(PermissionDeniedError):
        board.moderator(vid, "guess", "the-secret")
    board.close()
    raw = b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))
    for needle in (address.encode(), vid.encode(), vid.removeprefix("client-").encode()):
        assert needle not in raw
    with sqlite3.connect(db_path) as conn:
        stored = {r[0] for r in conn.execute("SELECT visitor_hash FROM likes UNION SELECT visitor_hash FROM rate_events")}
    assert visitor_hash(vid) in stored
