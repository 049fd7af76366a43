"""Every statement the board runs on PostgreSQL, as the named operations of one transaction
(:class:`PgTx`, handed out by :class:`core.board.pg.PgEngine`): the same names and results as
:class:`core.board.queries.SqliteTx` (tables ``board_*`` of ``core/storage/sql/0004_board.sql``).

SQLite serialises every write (``BEGIN IMMEDIATE``); PostgreSQL runs writers side by side, so
each check-then-write the board makes is serialised where it happens, for every replica:

* rate limits: counting and adding the events of one bucket happen under
  ``pg_advisory_xact_lock(LOCK_SPACE, hashtext(bucket))``, held to the commit;
* duplicate posts/comments: the fingerprint check holds a lock on the fingerprint;
* likes and reports: primary keys (``ON CONFLICT DO NOTHING``), counters updated in place;
  a report's reporter count runs after its post's row lock, so concurrent reports all see
  each other;
* deletes decrement counters only for the rows they really removed (``RETURNING``).

Search: every term (any length) is a LIKE pattern on the ASCII-lower-cased title or body,
with candidates from the ``board_post_grams`` GIN index (its unigrams and bigrams).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any, cast

from core.board.config import SORTS
from core.board.records import COMMENT_COLUMNS, POST_COLUMNS
from core.board.text import ascii_lower, like_pattern

Row = tuple[Any, ...]
#: first key of the board's advisory locks (the second is ``hashtext`` of the bucket or fingerprint)
LOCK_SPACE = 0x4244
#: the app_secrets names of the ``meta`` values of the SQLite engine
SECRET_PREFIX = "board_"
META_KEYS = ("visitor_salt", "cookie_key")

_POSTS = ", ".join(POST_COLUMNS)
_P_POSTS = ", ".join(f"p.{name}" for name in POST_COLUMNS)
_ORDER = {"newest": "id DESC", "popular": "like_count DESC, id DESC"}
_P_ORDER = {"newest": "p.id DESC", "popular": "p.like_count DESC, p.id DESC"}
_CATEGORY = "(%(category)s::text IS NULL OR {p}category = %(category)s::text)"
_LIST = {
    sort: f"SELECT {_POSTS} FROM board_posts WHERE status = 'visible' AND {_CATEGORY.format(p='')} "  # noqa: S608
    f"ORDER BY {_ORDER[sort]} LIMIT %(limit)s OFFSET %(offset)s"
    for sort in SORTS
}
_COUNT_VISIBLE = f"SELECT COUNT(*) FROM board_posts WHERE status = 'visible' AND {_CATEGORY.format(p='')}"  # noqa: S608
_HIDE = {False: "UPDATE board_posts SET status = 'hidden' WHERE id = %s",
         True: "UPDATE board_posts SET status = 'hidden' WHERE id = %s AND status = 'visible'"}
# Two plans, picked per query (PgTx._walk): a term common enough is found fastest by walking the
# posts in page order (the id or like-count index) and testing each, stopping after a page; a rarer
# one by taking every candidate from the GIN index, then sorting them. The planner cannot tell them
# apart (it has no statistics for a LIKE on lower(title)), so each is forced by turning planner
# switches off for that one statement (_PLAN), and the pick also by a MATERIALIZED CTE.
_WALK_FROM = f"""FROM board_posts AS p
WHERE p.status = 'visible' AND {_CATEGORY.format(p='p.')}
  AND EXISTS (SELECT 1 FROM board_post_grams AS g WHERE g.post_id = p.id AND g.grams @> %(grams)s::text[])"""  # noqa: S608
_PICK_WITH = "WITH cand AS MATERIALIZED (SELECT g.post_id FROM board_post_grams AS g WHERE g.grams @> %(grams)s::text[])\n"
_PICK_FROM = f"""FROM cand JOIN board_posts AS p ON p.id = cand.post_id
WHERE p.status = 'visible' AND {_CATEGORY.format(p='p.')}"""  # noqa: S608
#: one condition per term, so the LIKE patterns are plain parameters
_SEARCH_LIKE = '\n  AND (lower(p.title COLLATE "C") LIKE %(like{n})s OR lower(p.body COLLATE "C") LIKE %(like{n})s)'
#: whether the walk is the cheaper plan. With n posts of which a fraction f match, walking reads
#: about (offset + limit) / f posts and picking reads f * n: walk when f >= sqrt((offset + limit) / n).
#: f is measured on the newest SAMPLE posts (where a newest-first walk starts), n is the planner's
#: row count (unknown before the first ANALYZE: then the walk only when every sampled post matches).
SAMPLE = 200
_COMMON = f"""SELECT (SELECT COUNT(*) FILTER (WHERE s.hit)::float8 / GREATEST(COUNT(*), 1) FROM (
            SELECT g.grams @> %(grams)s::text[] AS hit FROM board_post_grams AS g ORDER BY g.post_id DESC LIMIT {SAMPLE}
        ) AS s)
    >= sqrt(%(needed)s::float8 / GREATEST((SELECT c.reltuples FROM pg_class AS c
                                          WHERE c.oid = 'board_post_grams'::regclass), 1))"""  # noqa: S608
#: planner switches per plan (for one statement, inside the read transaction): the walk reads
#: posts in index order (no sort, no bitmap, no hash); the pick takes candidates from the GIN index
#: (no sequential scan) and joins each to its post by id (no hash or merge join of every post)
#: decides the plan (_COMMON) and turns its switches off, in one round trip; returns the decision
_PLAN = f"""WITH d (walk) AS (SELECT ({_COMMON}))
SELECT d.walk, (SELECT COUNT(set_config(s, 'off', true)) FROM unnest(CASE WHEN d.walk
    THEN ARRAY['enable_sort', 'enable_bitmapscan', 'enable_hashjoin']
    ELSE ARRAY['enable_seqscan', 'enable_hashjoin', 'enable_mergejoin'] END) AS s)
FROM d"""  # noqa: S608
_PLAN_RESET = ("SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name IN "
               "('enable_sort', 'enable_bitmapscan', 'enable_hashjoin', 'enable_seqscan', 'enable_mergejoin')")


@functools.lru_cache(maxsize=128)
def search_sql(sort: str | None, terms: int, walk: bool) -> str:
    """The search statement for ``terms`` terms (``sort`` None: the capped count) and plan
    (``walk``), composed from the constant fragments above: no value ever reaches the text."""
    where = (_WALK_FROM if walk else _PICK_FROM) + "".join(_SEARCH_LIKE.format(n=n) for n in range(terms))
    with_ = "" if walk else _PICK_WITH
    if sort is None:
        return f"SELECT COUNT(*) FROM ({with_}SELECT 1 {where} LIMIT %(cap)s) AS found"  # noqa: S608
    return f"{with_}SELECT {_P_POSTS} {where} ORDER BY {_P_ORDER[sort]} LIMIT %(limit)s OFFSET %(offset)s"  # noqa: S608


_QUEUE = (
    f"SELECT {_POSTS} FROM board_posts WHERE status = 'hidden' OR report_count > 0 "  # noqa: S608
    "ORDER BY status = 'hidden' DESC, report_count DESC, id DESC LIMIT %s OFFSET %s"
)
_STATS = {
    "posts_visible": "SELECT COUNT(*) FROM board_posts WHERE status = 'visible'",
    "posts_hidden": "SELECT COUNT(*) FROM board_posts WHERE status = 'hidden'",
    "comments": "SELECT COUNT(*) FROM board_comments",
    "likes": "SELECT COUNT(*) FROM board_likes",
    "reports": "SELECT COUNT(*) FROM board_reports",
}
_GET_POST = f"SELECT {_POSTS} FROM board_posts WHERE id = %s"  # noqa: S608
_ALL_POSTS = f"SELECT {_POSTS} FROM board_posts ORDER BY id"  # noqa: S608
_COMMENT_COLS = ", ".join(COMMENT_COLUMNS)
_COMMENTS = f"SELECT {_COMMENT_COLS} FROM board_comments WHERE post_id = %s ORDER BY id LIMIT %s"  # noqa: S608
_ALL_COMMENTS = f"SELECT {_COMMENT_COLS} FROM board_comments ORDER BY id"  # noqa: S608
_COUNTERS = {
    column: f"UPDATE board_posts SET {column} = GREATEST(0, {column} + %s) WHERE id = %s"  # noqa: S608
    for column in ("like_count", "comment_count", "report_count")
}
_POST_DEFAULTS = {"updated_at": None, "password_hash": None, "view_count": 0, "status": "visible"}


def search_terms(terms: tuple[str, ...] | list[str]) -> tuple[list[str], list[str]]:
    """(grams every match must hold, LIKE patterns every match must pass) of search terms:
    a term's unigram (1 character) or bigrams, ASCII-lower-cased as ``board_grams`` does."""
    grams: set[str] = set()
    for term in terms:
        low = ascii_lower(term)
        grams.update([low] if len(low) == 1 else (low[i:i + 2] for i in range(len(low) - 1)))
    return sorted(grams), [like_pattern(ascii_lower(term)) for term in terms]


class PgTx:
    """The operations of one open PostgreSQL transaction (read-only snapshot, or a write)."""

    def __init__(self, conn: Any, *, writable: bool) -> None:
        self.conn = conn
        self.writable = writable
        self._locked: set[str] = set()

    def _rows(self, sql: str, params: Any = None) -> list[Row]:
        return [tuple(row) for row in self.conn.execute(sql, params).fetchall()]

    def _first(self, sql: str, params: Any = None) -> Row | None:
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else tuple(row)

    def _field(self, sql: str, params: Any = None) -> Any:
        """The first column of the first row, or None when there is no row."""
        row = self.conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    def _value(self, sql: str, params: Any = None) -> Any:
        return self.conn.execute(sql, params).fetchone()[0]

    def _count(self, sql: str, params: Any = None) -> int:
        return int(self.conn.execute(sql, params).rowcount)

    def _lock(self, key: str) -> None:
        """Serialise the writers of ``key`` (released at commit or rollback); no-op when reading."""
        if self.writable and key not in self._locked:
            self.conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (LOCK_SPACE, key))
            self._locked.add(key)

    # ------------------------------------------------------------------ meta, rate limits

    def schema_version(self) -> int:
        """The highest applied storage migration (``core/storage/sql``)."""
        return int(self._value("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"))

    def meta(self, key: str) -> str:
        """The visitor salt or the cookie key (hex), shared by every replica (``app_secrets``)."""
        return bytes(self._value("SELECT value FROM app_secrets WHERE name = %s", (SECRET_PREFIX + key,))).hex()

    def ensure_meta(self, make: Any) -> None:
        """Create the meta secrets that are missing (``make()`` gives 32 random bytes); concurrent
        first uses keep the first value written."""
        for key in META_KEYS:
            self.conn.execute("INSERT INTO app_secrets (name, value) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING",
                              (SECRET_PREFIX + key, make()))

    def count_events(self, vhash: str, action: str, since: float) -> tuple[int, float | None]:
        self._lock(f"rate:{vhash}:{action}")
        count, oldest = self._first(
            "SELECT COUNT(*), MIN(at) FROM board_rate_events WHERE visitor_hash = %s AND action = %s AND at > %s",
            (vhash, action, since)) or (0, None)
        return int(count), oldest

    def add_event(self, vhash: str, action: str, at: float, forget_until: float) -> None:
        self._lock(f"rate:{vhash}:{action}")
        self.conn.execute("INSERT INTO board_rate_events (visitor_hash, action, at) VALUES (%s, %s, %s)",
                          (vhash, action, at))
        self.conn.execute("DELETE FROM board_rate_events WHERE visitor_hash = %s AND action = %s AND at <= %s",
                          (vhash, action, forget_until))

    def forget_events(self, action: str) -> int:
        return self._count("DELETE FROM board_rate_events WHERE action = %s", (action,))

    # ------------------------------------------------------------------ posts

    def post(self, post_id: int) -> Row | None:
        return self._first(_GET_POST, (post_id,))

    def post_status(self, post_id: int) -> str | None:
        return self._field("SELECT status FROM board_posts WHERE id = %s", (post_id,))

    def post_owner(self, post_id: int) -> tuple[str, str | None, str] | None:
        """(nickname, password hash, status)."""
        sql = "SELECT nickname, password_hash, status FROM board_posts WHERE id = %s"
        return cast("tuple[str, str | None, str] | None", self._first(sql, (post_id,)))

    def post_summary_json(self, post_id: int) -> str | None:
        return self._field("SELECT summary_json FROM board_posts WHERE id = %s", (post_id,))

    def recent_post(self, fingerprint: str, since: float) -> bool:
        self._lock(f"post:{fingerprint}")
        sql = "SELECT 1 FROM board_posts WHERE fingerprint = %s AND created_at > %s LIMIT 1"
        return self._first(sql, (fingerprint, since)) is not None

    def insert_post(self, values: dict[str, Any]) -> int:
        return int(self._value(
            "INSERT INTO board_posts (created_at, updated_at, category, nickname, title, body, summary_json, "
            "password_hash, fingerprint, view_count, status) VALUES (%(created_at)s, %(updated_at)s, %(category)s, "
            "%(nickname)s, %(title)s, %(body)s, %(summary_json)s, %(password_hash)s, %(fingerprint)s, "
            "%(view_count)s, %(status)s) RETURNING id",
            {**_POST_DEFAULTS, **values}))

    def count_visible(self, category: str | None) -> int:
        return int(self._value(_COUNT_VISIBLE, {"category": category}))

    def list_visible(self, sort: str, category: str | None, limit: int, offset: int) -> list[Row]:
        return self._rows(_LIST[sort], {"category": category, "limit": limit, "offset": offset})

    def search(self, index: str, sort: str, params: dict[str, Any], limit: int, offset: int) -> list[Row]:
        """Visible posts holding every term of ``params['terms']`` (``index`` is SQLite's choice: unused)."""
        found = {**_search_params(params), "limit": limit, "offset": offset}
        return self._search(sort, len(params["terms"]), found, limit + offset)

    def search_count(self, index: str, params: dict[str, Any], cap: int) -> int:
        return int(self._search(None, len(params["terms"]), {**_search_params(params), "cap": cap}, cap)[0][0])

    def _search(self, sort: str | None, terms: int, found: dict[str, Any], needed: int) -> list[Row]:
        """Run the search statement with the plan that reads fewer posts for ``needed`` rows."""
        walk = bool(self._value(_PLAN, {"needed": needed, "grams": found["grams"]}))
        try:
            return self._rows(search_sql(sort, terms, walk), found)
        finally:
            self.conn.execute(_PLAN_RESET)

    def add_view(self, post_id: int) -> None:
        self.conn.execute("UPDATE board_posts SET view_count = view_count + 1 WHERE id = %s AND status = 'visible'",
                          (post_id,))

    def update_owned_post(self, post_id: int, stored_hash: str | None, values: dict[str, Any]) -> bool:
        return self._count(
            "UPDATE board_posts SET title = %(title)s, body = %(body)s, category = %(category)s, "
            "fingerprint = %(fingerprint)s, updated_at = %(updated_at)s, "
            "password_hash = COALESCE(%(rehash)s, password_hash) "
            "WHERE id = %(id)s AND status = 'visible' AND password_hash IS NOT DISTINCT FROM %(stored)s",
            {**values, "id": post_id, "stored": stored_hash}) == 1

    def delete_owned_post(self, post_id: int, stored_hash: str | None) -> bool:
        sql = "DELETE FROM board_posts WHERE id = %s AND password_hash IS NOT DISTINCT FROM %s"
        return self._count(sql, (post_id, stored_hash)) == 1

    def delete_post(self, post_id: int) -> bool:
        return self._count("DELETE FROM board_posts WHERE id = %s", (post_id,)) == 1

    # ------------------------------------------------------------------ comments

    def comments(self, post_id: int, limit: int) -> list[Row]:
        return self._rows(_COMMENTS, (post_id, limit))

    def comment_owner(self, comment_id: int) -> tuple[str, str | None, str] | None:
        sql = ("SELECT c.nickname, c.password_hash, p.status FROM board_comments AS c "
               "JOIN board_posts AS p ON p.id = c.post_id WHERE c.id = %s")
        return cast("tuple[str, str | None, str] | None", self._first(sql, (comment_id,)))

    def owned_comment_post(self, comment_id: int, stored_hash: str | None) -> tuple[int, str] | None:
        row = self._first("SELECT c.post_id, p.status FROM board_comments AS c JOIN board_posts AS p "
                          "ON p.id = c.post_id WHERE c.id = %s AND c.password_hash IS NOT DISTINCT FROM %s",
                          (comment_id, stored_hash))
        return None if row is None else (int(row[0]), row[1])

    def recent_comment(self, post_id: int, fingerprint: str, since: float, *, other_than: int = 0) -> bool:
        self._lock(f"comment:{post_id}:{fingerprint}")
        sql = ("SELECT 1 FROM board_comments WHERE post_id = %s AND fingerprint = %s AND created_at > %s "
               "AND id <> %s LIMIT 1")
        return self._first(sql, (post_id, fingerprint, since, other_than)) is not None

    def insert_comment(self, values: dict[str, Any]) -> int:
        comment_id = int(self._value(
            "INSERT INTO board_comments (post_id, created_at, updated_at, nickname, body, password_hash, fingerprint) "
            "VALUES (%(post_id)s, %(created_at)s, %(updated_at)s, %(nickname)s, %(body)s, %(password_hash)s, "
            "%(fingerprint)s) RETURNING id",
            {"updated_at": None, "password_hash": None, **values}))
        self.conn.execute(_COUNTERS["comment_count"], (1, values["post_id"]))
        return comment_id

    def update_comment(self, comment_id: int, values: dict[str, Any]) -> None:
        self.conn.execute(
            "UPDATE board_comments SET body = %(body)s, fingerprint = %(fingerprint)s, updated_at = %(updated_at)s, "
            "password_hash = COALESCE(%(rehash)s, password_hash) WHERE id = %(id)s", {**values, "id": comment_id})

    def delete_comment(self, comment_id: int) -> int | None:
        row = self._first("DELETE FROM board_comments WHERE id = %s RETURNING post_id", (comment_id,))
        if row is None:
            return None
        self.conn.execute(_COUNTERS["comment_count"], (-1, row[0]))
        return int(row[0])

    # ------------------------------------------------------------------ likes and reports

    def _counted(self, change: str, params: tuple[Any, ...], column: str, step: int, post_id: int) -> bool:
        """Run ``change``; when it changed one row, move the post's counter ``column`` by ``step``
        (never below 0). The counter update takes the post's row lock, which orders concurrent
        likes and reports of one post (a report's reporter count then sees those before it)."""
        if self._count(change, params) != 1:
            return False
        self.conn.execute(_COUNTERS[column], (step, post_id))
        return True

    def add_like(self, post_id: int, vhash: str, now: float) -> bool:
        sql = "INSERT INTO board_likes (post_id, visitor_hash, created_at) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING"
        return self._counted(sql, (post_id, vhash, now), "like_count", 1, post_id)

    def remove_like(self, post_id: int, vhash: str) -> bool:
        sql = "DELETE FROM board_likes WHERE post_id = %s AND visitor_hash = %s"
        return self._counted(sql, (post_id, vhash), "like_count", -1, post_id)

    def has_like(self, post_id: int, vhash: str) -> bool:
        sql = "SELECT 1 FROM board_likes WHERE post_id = %s AND visitor_hash = %s"
        return self._first(sql, (post_id, vhash)) is not None

    def add_report(self, post_id: int, vhash: str, nhash: str | None, reason: str, now: float, counted: bool) -> bool:
        sql = ("INSERT INTO board_reports (post_id, visitor_hash, reason, created_at, network_hash, counted) "
               "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING")
        return self._counted(sql, (post_id, vhash, reason, now, nhash, int(counted)), "report_count", 1, post_id)

    def count_reporters(self, post_id: int) -> int:
        return int(self._value("SELECT COUNT(DISTINCT COALESCE(network_hash, visitor_hash)) FROM board_reports "
                               "WHERE post_id = %s AND counted = 1", (post_id,)))

    def reports(self, post_id: int) -> list[Row]:
        sql = "SELECT post_id, reason, created_at FROM board_reports WHERE post_id = %s ORDER BY created_at"
        return self._rows(sql, (post_id,))

    # ------------------------------------------------------------------ moderation

    def hide(self, post_id: int, *, only_visible: bool = False) -> bool:
        return self._count(_HIDE[only_visible], (post_id,)) == 1

    def restore(self, post_id: int) -> bool:
        if self._count("UPDATE board_posts SET status = 'visible', report_count = 0 WHERE id = %s", (post_id,)) != 1:
            return False
        self.conn.execute("DELETE FROM board_reports WHERE post_id = %s", (post_id,))
        return True

    def queue_count(self) -> int:
        return int(self._value("SELECT COUNT(*) FROM board_posts WHERE status = 'hidden' OR report_count > 0"))

    def queue(self, limit: int, offset: int) -> list[Row]:
        return self._rows(_QUEUE, (limit, offset))

    def log(self, at: float, action: str, post_id: int | None, comment_id: int | None, detail: str) -> None:
        self.conn.execute("INSERT INTO board_moderation_log (at, action, post_id, comment_id, detail) "
                          "VALUES (%s, %s, %s, %s, %s)", (at, action, post_id, comment_id, detail))

    def log_rows(self, limit: int) -> list[Row]:
        return self._rows("SELECT at, action, post_id, comment_id, detail FROM board_moderation_log "
                          "ORDER BY id DESC LIMIT %s", (limit,))

    # ------------------------------------------------------------------ export, stats

    def all_posts(self) -> Iterator[Row]:
        return (tuple(row) for row in self.conn.execute(_ALL_POSTS))

    def all_comments(self) -> Iterator[Row]:
        return (tuple(row) for row in self.conn.execute(_ALL_COMMENTS))

    def stats(self) -> dict[str, int]:
        return {name: int(self._value(sql)) for name, sql in _STATS.items()}


def _search_params(params: dict[str, Any]) -> dict[str, Any]:
    grams, likes = search_terms(params["terms"])
    return {"category": params.get("category"), "grams": grams, **{f"like{n}": like for n, like in enumerate(likes)}}
