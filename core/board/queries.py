"""Every statement the board runs, in SQLite's dialect, as the named operations of one
transaction (:class:`SqliteTx`, handed out by :class:`core.board.db.SqliteEngine`).

Rows come back in the column orders of :mod:`core.board.records`. Every statement is a
constant string with ``?``/``:name`` parameters; the search statements are composed once at
import from constant fragments (no user value ever reaches the text).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlite_utils import Database

from core.board.config import SORTS
from core.board.records import COMMENT_COLUMNS, POST_COLUMNS
from core.board.schema import current_version

Row = tuple[Any, ...]

_POST_COLS = ", ".join(POST_COLUMNS)
_COMMENT_COLS = ", ".join(COMMENT_COLUMNS)

# Lists use the (status, ...) indexes; one constant statement per (sort, category filter).
_LIST_ORDER = {"newest": "id DESC", "popular": "like_count DESC, id DESC"}
_LIST_SQL = {
    (sort, filtered): f"SELECT {_POST_COLS} FROM posts WHERE status = 'visible'"  # noqa: S608
    + (" AND category = ?" if filtered else "")
    + f" ORDER BY {_LIST_ORDER[sort]} LIMIT ? OFFSET ?"
    for sort in SORTS for filtered in (False, True)
}
_COUNT_SQL = {
    False: "SELECT COUNT(*) FROM posts WHERE status = 'visible'",
    True: "SELECT COUNT(*) FROM posts WHERE status = 'visible' AND category = ?",
}

# Search: terms of 3+ characters go through the trigram FTS5 index (:fts). Shorter terms are
# matched with LIKE (:likes is a JSON array of patterns; every one must match the title or the
# body); when a query has only short terms, the bigram FTS5 index (:bigrams, schema v6) picks
# the candidates first, so a rare short term no longer scans every post. Either index only
# narrows the candidates: the LIKE patterns decide, so results are exactly LIKE's. Constant
# statements keyed by (index, sort). CROSS JOIN pins the join order (FTS first, then posts
# by rowid; otherwise the planner may re-run the full-text query for every post), and
# "newest" orders by the FTS rowid, which FTS5 walks backwards natively, so a page stops
# after LIMIT matches instead of sorting them all. Counts stop at :cap.
SEARCH_INDEXES = ("trigram", "bigram")
_SEARCH_FROM = {
    ("trigram", "newest"): "posts_fts CROSS JOIN posts AS p ON p.id = posts_fts.rowid\n"
    "WHERE posts_fts MATCH :fts\n  AND",
    ("trigram", "popular"): "posts AS p\nWHERE +p.id IN (SELECT rowid FROM posts_fts WHERE posts_fts MATCH :fts)\n  AND",
    ("bigram", "newest"): "posts_bigram CROSS JOIN posts AS p ON p.id = posts_bigram.rowid\n"
    "WHERE posts_bigram MATCH :bigrams\n  AND",
    ("bigram", "popular"): "posts AS p\n"
    "WHERE +p.id IN (SELECT rowid FROM posts_bigram WHERE posts_bigram MATCH :bigrams)\n  AND",
}
_SEARCH_ORDER = {
    ("trigram", "newest"): "posts_fts.rowid DESC",
    ("bigram", "newest"): "posts_bigram.rowid DESC",
    ("trigram", "popular"): "p.like_count DESC, p.id DESC",
    ("bigram", "popular"): "p.like_count DESC, p.id DESC",
}
_SEARCH_COLS = ", ".join(f"p.{name}" for name in POST_COLUMNS)
_SEARCH_FILTER = """p.status = 'visible'
  AND (:category IS NULL OR p.category = :category)
  AND (:likes = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(:likes) AS j
                  WHERE NOT (p.title LIKE j.value ESCAPE '\\' OR p.body LIKE j.value ESCAPE '\\')))"""

SEARCH_SQL = {
    (index, sort): f"""
SELECT {_SEARCH_COLS}
FROM {_SEARCH_FROM[(index, sort)]} {_SEARCH_FILTER}
ORDER BY {_SEARCH_ORDER[(index, sort)]}
LIMIT :limit OFFSET :offset"""  # noqa: S608
    for index in SEARCH_INDEXES for sort in SORTS
}
_SEARCH_COUNT_SQL = {
    index: f"""
SELECT COUNT(*) FROM (
    SELECT 1
    FROM {_SEARCH_FROM[(index, "newest")]} {_SEARCH_FILTER}
    LIMIT :cap)"""  # noqa: S608
    for index in SEARCH_INDEXES
}

_GET_POST_SQL = f"SELECT {_POST_COLS} FROM posts WHERE id = ?"  # noqa: S608
_ALL_POSTS_SQL = f"SELECT {_POST_COLS} FROM posts ORDER BY id"  # noqa: S608
_MOD_QUEUE_SQL = (
    f"SELECT {_POST_COLS} FROM posts "  # noqa: S608
    "WHERE status = 'hidden' OR report_count > 0 "
    "ORDER BY status = 'hidden' DESC, report_count DESC, id DESC LIMIT ? OFFSET ?"
)
_MOD_QUEUE_COUNT_SQL = "SELECT COUNT(*) FROM posts WHERE status = 'hidden' OR report_count > 0"
_COMMENTS_SQL = f"SELECT {_COMMENT_COLS} FROM comments WHERE post_id = ? ORDER BY id LIMIT ?"  # noqa: S608
_ALL_COMMENTS_SQL = f"SELECT {_COMMENT_COLS} FROM comments ORDER BY id"  # noqa: S608
_HIDE_SQL = "UPDATE posts SET status = 'hidden' WHERE id = ?"
_HIDE_VISIBLE_SQL = "UPDATE posts SET status = 'hidden' WHERE id = ? AND status = 'visible'"
_STATS_SQL = {
    "posts_visible": "SELECT COUNT(*) FROM posts WHERE status = 'visible'",
    "posts_hidden": "SELECT COUNT(*) FROM posts WHERE status = 'hidden'",
    "comments": "SELECT COUNT(*) FROM comments",
    "likes": "SELECT COUNT(*) FROM likes",
    "reports": "SELECT COUNT(*) FROM reports",
}


class SqliteTx:
    """The operations of one open transaction (read or write, as the engine opened it).
    Ids are ints; "owned" operations match the stored password hash too (``IS``: a post
    imported with no password matches None), so a change races safely with its owner check."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def _one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Row | None:
        row = self.db.execute(sql, params).fetchone()
        return None if row is None else tuple(row)

    def _scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self.db.execute(sql, params).fetchone()[0]

    def _changed(self, sql: str, params: Sequence[Any]) -> int:
        return int(self.db.execute(sql, params).rowcount)

    # ------------------------------------------------------------------ meta, rate limits

    def schema_version(self) -> int:
        return current_version(self.db)

    def meta(self, key: str) -> str:
        """A value of the ``meta`` table (the visitor salt, the cookie key)."""
        return str(self._scalar("SELECT value FROM meta WHERE key = ?", (key,)))

    def count_events(self, vhash: str, action: str, since: float) -> tuple[int, float | None]:
        """(how many, oldest time) of the rate-limit events of a bucket after ``since``."""
        count, oldest = self.db.execute(
            "SELECT COUNT(*), MIN(at) FROM rate_events WHERE visitor_hash = ? AND action = ? AND at > ?",
            (vhash, action, since),
        ).fetchone()
        return int(count), oldest

    def add_event(self, vhash: str, action: str, at: float, forget_until: float) -> None:
        """Record a rate-limit event and forget the bucket's events at or before ``forget_until``."""
        self.db.execute("INSERT INTO rate_events (visitor_hash, action, at) VALUES (?, ?, ?)", (vhash, action, at))
        self.db.execute(
            "DELETE FROM rate_events WHERE visitor_hash = ? AND action = ? AND at <= ?", (vhash, action, forget_until)
        )

    def forget_events(self, action: str) -> int:
        """Forget every rate-limit event of ``action``; returns how many."""
        return self._changed("DELETE FROM rate_events WHERE action = ?", (action,))

    # ------------------------------------------------------------------ posts

    def post(self, post_id: int) -> Row | None:
        """A post row (any status)."""
        return self._one(_GET_POST_SQL, (post_id,))

    def post_status(self, post_id: int) -> str | None:
        row = self._one("SELECT status FROM posts WHERE id = ?", (post_id,))
        return None if row is None else row[0]

    def post_owner(self, post_id: int) -> tuple[str, str | None, str] | None:
        """(nickname, password hash, status) of a post."""
        row = self._one("SELECT nickname, password_hash, status FROM posts WHERE id = ?", (post_id,))
        return None if row is None else (row[0], row[1], row[2])

    def post_summary_json(self, post_id: int) -> str | None:
        row = self._one("SELECT summary_json FROM posts WHERE id = ?", (post_id,))
        return None if row is None else row[0]

    def recent_post(self, fingerprint: str, since: float) -> bool:
        """Whether a post with this fingerprint was created after ``since``."""
        sql = "SELECT 1 FROM posts WHERE fingerprint = ? AND created_at > ? LIMIT 1"
        return self._one(sql, (fingerprint, since)) is not None

    def insert_post(self, values: dict[str, Any]) -> int:
        """Insert a post (``created_at, updated_at, category, nickname, title, body, summary_json,
        password_hash, fingerprint, view_count, status``; missing ones take their defaults) and
        return its id."""
        cursor = self.db.execute(
            "INSERT INTO posts (created_at, updated_at, category, nickname, title, body, summary_json, "
            "password_hash, fingerprint, view_count, status) VALUES (:created_at, :updated_at, :category, "
            ":nickname, :title, :body, :summary_json, :password_hash, :fingerprint, :view_count, :status)",
            {"updated_at": None, "password_hash": None, "view_count": 0, "status": "visible", **values},
        )
        return int(cursor.lastrowid or 0)

    def count_visible(self, category: str | None) -> int:
        filtered = category is not None
        return int(self._scalar(_COUNT_SQL[filtered], (category,) if filtered else ()))

    def list_visible(self, sort: str, category: str | None, limit: int, offset: int) -> list[Row]:
        filtered = category is not None
        args: tuple[Any, ...] = (category, limit, offset) if filtered else (limit, offset)
        return self.db.execute(_LIST_SQL[(sort, filtered)], args).fetchall()

    def search(self, index: str, sort: str, params: dict[str, Any], limit: int, offset: int) -> list[Row]:
        """Visible posts matching a parsed query (``params``: category, likes, fts, bigrams)."""
        return self.db.execute(SEARCH_SQL[(index, sort)], {**_search_params(params), "limit": limit, "offset": offset}).fetchall()

    def search_count(self, index: str, params: dict[str, Any], cap: int) -> int:
        """How many visible posts match, counting at most ``cap``."""
        return int(self._scalar(_SEARCH_COUNT_SQL[index], {**_search_params(params), "cap": cap}))

    def add_view(self, post_id: int) -> None:
        self.db.execute("UPDATE posts SET view_count = view_count + 1 WHERE id = ? AND status = 'visible'", (post_id,))

    def update_owned_post(self, post_id: int, stored_hash: str | None, values: dict[str, Any]) -> bool:
        """Change a visible post's title, body, category, fingerprint, updated_at and (when
        ``rehash`` is not None) password hash; False when it is gone or its hash changed."""
        return self._changed(
            "UPDATE posts SET title = :title, body = :body, category = :category, fingerprint = :fingerprint, "
            "updated_at = :updated_at, password_hash = COALESCE(:rehash, password_hash) "
            "WHERE id = :id AND status = 'visible' AND password_hash IS :stored",
            {**values, "id": post_id, "stored": stored_hash},
        ) == 1

    def delete_owned_post(self, post_id: int, stored_hash: str | None) -> bool:
        return self._changed("DELETE FROM posts WHERE id = ? AND password_hash IS ?", (post_id, stored_hash)) == 1

    def delete_post(self, post_id: int) -> bool:
        """Delete a post with its comments, likes and reports (foreign keys cascade)."""
        return self._changed("DELETE FROM posts WHERE id = ?", (post_id,)) == 1

    # ------------------------------------------------------------------ comments

    def comments(self, post_id: int, limit: int) -> list[Row]:
        """Comment rows of a post, oldest first, at most ``limit``."""
        return self.db.execute(_COMMENTS_SQL, (post_id, limit)).fetchall()

    def comment_owner(self, comment_id: int) -> tuple[str, str | None, str] | None:
        """(nickname, password hash, status of its post) of a comment."""
        row = self._one(
            "SELECT c.nickname, c.password_hash, p.status FROM comments AS c "
            "JOIN posts AS p ON p.id = c.post_id WHERE c.id = ?",
            (comment_id,),
        )
        return None if row is None else (row[0], row[1], row[2])

    def owned_comment_post(self, comment_id: int, stored_hash: str | None) -> tuple[int, str] | None:
        """(post id, post status) of a comment whose password hash is still ``stored_hash``."""
        row = self._one(
            "SELECT c.post_id, p.status FROM comments AS c JOIN posts AS p ON p.id = c.post_id "
            "WHERE c.id = ? AND c.password_hash IS ?",
            (comment_id, stored_hash),
        )
        return None if row is None else (int(row[0]), row[1])

    def recent_comment(self, post_id: int, fingerprint: str, since: float, *, other_than: int = 0) -> bool:
        """Whether another comment (id != ``other_than``) on the post with this fingerprint
        was created after ``since``."""
        sql = "SELECT 1 FROM comments WHERE post_id = ? AND fingerprint = ? AND created_at > ? AND id != ? LIMIT 1"
        return self._one(sql, (post_id, fingerprint, since, other_than)) is not None

    def insert_comment(self, values: dict[str, Any]) -> int:
        """Insert a comment (``post_id, created_at, updated_at, nickname, body, password_hash,
        fingerprint``), count it on its post and return its id."""
        cursor = self.db.execute(
            "INSERT INTO comments (post_id, created_at, updated_at, nickname, body, password_hash, fingerprint) "
            "VALUES (:post_id, :created_at, :updated_at, :nickname, :body, :password_hash, :fingerprint)",
            {"updated_at": None, "password_hash": None, **values},
        )
        self.db.execute("UPDATE posts SET comment_count = comment_count + 1 WHERE id = ?", (values["post_id"],))
        return int(cursor.lastrowid or 0)

    def update_comment(self, comment_id: int, values: dict[str, Any]) -> None:
        """Change a comment's body, fingerprint, updated_at and (``rehash`` not None) password hash."""
        self.db.execute(
            "UPDATE comments SET body = :body, fingerprint = :fingerprint, updated_at = :updated_at, "
            "password_hash = COALESCE(:rehash, password_hash) WHERE id = :id",
            {**values, "id": comment_id},
        )

    def delete_comment(self, comment_id: int) -> int | None:
        """Delete a comment and uncount it on its post; returns the post id (None: no such comment)."""
        row = self._one("SELECT post_id FROM comments WHERE id = ?", (comment_id,))
        if row is None:
            return None
        self.db.execute("DELETE FROM comments WHERE id = ?", (comment_id,))
        self.db.execute("UPDATE posts SET comment_count = MAX(0, comment_count - 1) WHERE id = ?", (row[0],))
        return int(row[0])

    # ------------------------------------------------------------------ likes and reports

    def add_like(self, post_id: int, vhash: str, now: float) -> bool:
        """One like per visitor per post (a UNIQUE constraint); False when already there."""
        if self._changed(
            "INSERT OR IGNORE INTO likes (post_id, visitor_hash, created_at) VALUES (?, ?, ?)", (post_id, vhash, now)
        ) != 1:
            return False
        self.db.execute("UPDATE posts SET like_count = like_count + 1 WHERE id = ?", (post_id,))
        return True

    def remove_like(self, post_id: int, vhash: str) -> bool:
        if self._changed("DELETE FROM likes WHERE post_id = ? AND visitor_hash = ?", (post_id, vhash)) != 1:
            return False
        self.db.execute("UPDATE posts SET like_count = MAX(0, like_count - 1) WHERE id = ?", (post_id,))
        return True

    def has_like(self, post_id: int, vhash: str) -> bool:
        return self._one("SELECT 1 FROM likes WHERE post_id = ? AND visitor_hash = ?", (post_id, vhash)) is not None

    def add_report(self, post_id: int, vhash: str, nhash: str | None, reason: str, now: float, counted: bool) -> bool:
        """One report per visitor per post (UNIQUE); False when already there."""
        if self._changed(
            "INSERT OR IGNORE INTO reports (post_id, visitor_hash, reason, created_at, network_hash, counted) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (post_id, vhash, reason, now, nhash, int(counted)),
        ) != 1:
            return False
        self.db.execute("UPDATE posts SET report_count = report_count + 1 WHERE id = ?", (post_id,))
        return True

    def count_reporters(self, post_id: int) -> int:
        """Counted reporters of a post, those on one known network once."""
        return int(self._scalar(
            "SELECT COUNT(DISTINCT COALESCE(network_hash, visitor_hash)) FROM reports WHERE post_id = ? AND counted = 1",
            (post_id,),
        ))

    def reports(self, post_id: int) -> list[Row]:
        """``post_id, reason, created_at`` of a post's reports, oldest first."""
        sql = "SELECT post_id, reason, created_at FROM reports WHERE post_id = ? ORDER BY created_at"
        return self.db.execute(sql, (post_id,)).fetchall()

    # ------------------------------------------------------------------ moderation

    def hide(self, post_id: int, *, only_visible: bool = False) -> bool:
        """Hide a post (``only_visible``: unless it is already hidden); False when nothing changed."""
        return self._changed(_HIDE_VISIBLE_SQL if only_visible else _HIDE_SQL, (post_id,)) == 1

    def restore(self, post_id: int) -> bool:
        """Make a post visible again and clear its reports."""
        if self._changed("UPDATE posts SET status = 'visible', report_count = 0 WHERE id = ?", (post_id,)) != 1:
            return False
        self.db.execute("DELETE FROM reports WHERE post_id = ?", (post_id,))
        return True

    def queue_count(self) -> int:
        return int(self._scalar(_MOD_QUEUE_COUNT_SQL))

    def queue(self, limit: int, offset: int) -> list[Row]:
        return self.db.execute(_MOD_QUEUE_SQL, (limit, offset)).fetchall()

    def log(self, at: float, action: str, post_id: int | None, comment_id: int | None, detail: str) -> None:
        self.db.execute(
            "INSERT INTO moderation_log (at, action, post_id, comment_id, detail) VALUES (?, ?, ?, ?, ?)",
            (at, action, post_id, comment_id, detail),
        )

    def log_rows(self, limit: int) -> list[Row]:
        """``at, action, post_id, comment_id, detail`` of the latest moderation actions."""
        sql = "SELECT at, action, post_id, comment_id, detail FROM moderation_log ORDER BY id DESC LIMIT ?"
        return self.db.execute(sql, (limit,)).fetchall()

    # ------------------------------------------------------------------ export, stats

    def all_posts(self) -> Iterator[Row]:
        return iter(self.db.execute(_ALL_POSTS_SQL))

    def all_comments(self) -> Iterator[Row]:
        return iter(self.db.execute(_ALL_COMMENTS_SQL))

    def stats(self) -> dict[str, int]:
        """Row counts: posts by status, comments, likes, reports."""
        return {name: int(self._scalar(sql)) for name, sql in _STATS_SQL.items()}


def _search_params(params: dict[str, Any]) -> dict[str, Any]:
    return {**params, "likes": json.dumps(list(params["likes"]))}
