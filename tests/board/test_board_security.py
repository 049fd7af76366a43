"""Secrets: Argon2id password hashes (never plain), hashed visitor ids, admin secret check,
and only parameterised SQL in core/board."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

from argon2 import PasswordHasher

from core.board import Board, admin_secret_matches
from core.board.security import hash_password, needs_rehash, verify_password, visitor_hash

CORE_BOARD = Path(__file__).resolve().parents[2] / "core" / "board"


def _all_bytes(db_path: Path) -> bytes:
    data = b""
    for suffix in ("", "-wal"):
        path = db_path.with_name(db_path.name + suffix)
        if path.exists():
            data += path.read_bytes()
    return data


def test_passwords_are_argon2id_hashes_never_plain(board: Board, db_path: Path) -> None:
    post_id = board.create_post(
        "visitor-raw-id-123", category="free", title="t", body="b", nickname="nick", password="Plain-Pass-777"
    )
    board.add_comment("visitor-raw-id-123", post_id, nickname="nick", password="Comment-Pass-888", body="c")
    board.like(post_id, "visitor-raw-id-123")
    with sqlite3.connect(db_path) as conn:
        post_hash = conn.execute("SELECT password_hash FROM posts").fetchone()[0]
        comment_hash = conn.execute("SELECT password_hash FROM comments").fetchone()[0]
    assert post_hash.startswith("$argon2id$") and comment_hash.startswith("$argon2id$")
    raw = _all_bytes(db_path)
    for secret in (b"Plain-Pass-777", b"Comment-Pass-888", b"visitor-raw-id-123"):
        assert secret not in raw


def test_default_hasher_has_real_cost(board: Board) -> None:
    default = PasswordHasher()
    assert default.memory_cost >= 19 * 1024 and default.time_cost >= 2  # OWASP minimum for Argon2id
    stored = hash_password(default, "pw-1234")
    assert verify_password(default, stored, "pw-1234")
    assert not verify_password(default, stored, "pw-12345")
    assert not verify_password(default, None, "pw-1234")
    assert not verify_password(default, "not-a-hash", "pw-1234")
    cheap = board.config.password_hasher
    assert needs_rehash(default, hash_password(cheap, "x"))


def test_same_password_hashes_differently(board: Board) -> None:
    hasher = board.config.password_hasher
    assert hash_password(hasher, "pw-1234") != hash_password(hasher, "pw-1234")  # salted


def test_visitor_hash() -> None:
    assert visitor_hash("abc") == visitor_hash("abc") != visitor_hash("abd")
    assert len(visitor_hash("abc")) == 64


def test_admin_secret_comparison() -> None:
    assert admin_secret_matches("s3cret", "s3cret")
    assert not admin_secret_matches("s3cret ", "s3cret")
    assert not admin_secret_matches("", "")
    assert not admin_secret_matches("anything", None)
    assert not admin_secret_matches(None, "s3cret")
    assert not admin_secret_matches("\ud800", "s3cret")
    source = (CORE_BOARD / "security.py").read_text(encoding="utf-8")
    assert "hmac.compare_digest" in source


def test_sql_is_never_built_from_values() -> None:
    """Every execute() in core/board gets a constant SQL string (or a module constant)."""
    for path in CORE_BOARD.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "execute" and node.args:
                sql = node.args[0]
                ok = (
                    isinstance(sql, ast.Constant)
                    or isinstance(sql, ast.Subscript)  # _LIST_SQL[...] tables of constants
                    or isinstance(sql, ast.Name)  # a constant or a loop over constants
                    or (isinstance(sql, ast.JoinedStr) and "PRAGMA" in ast.unparse(sql))  # fixed pragma names
                )
                assert ok, f"{path.name}:{node.lineno}: {ast.unparse(sql)}"
