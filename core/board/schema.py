"""Board schema, versioned: an ordered list of migration functions and a ``schema_version``
table (one row per applied migration), in the spirit of sqlite-utils' ``migrations.py``.

Each migration runs in its own ``BEGIN IMMEDIATE`` transaction together with the row that
records it, so a crash mid-migration leaves the previous version intact, and two processes
opening a fresh database at once cannot both apply the same step. Never edit a released
migration: append a new one.

| version | name | what |
|---|---|---|
| 1 | initial | posts, comments, likes, rate_events |
| 2 | fts_trigram | FTS5 index over posts(title, body), trigram tokenizer, sync triggers |
| 3 | moderation | posts.status / posts.report_count, reports, moderation_log |
| 4 | comment_edits | comments.updated_at (comments can be edited by their author) |
| 5 | visitor_salt | meta table holding a random salt for hashing client addresses |
| 6 | fts_bigram | FTS5 index over the character bigrams of each post (1-2 character search terms) |
| 7 | visitor_cookie | meta ``cookie_key`` (signs visitor cookies); reports.network_hash / reports.counted |
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable

from sqlite_utils import Database

MigrationFn = Callable[[Database], None]


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer version of the app."""


def _run(db: Database, statements: tuple[str, ...]) -> None:
    for statement in statements:
        db.execute(statement)


def _m1_initial(db: Database) -> None:
    _run(
        db,
        (
            """CREATE TABLE posts (
                id INTEGER PRIMARY KEY,
                created_at REAL NOT NULL,
                updated_at REAL,
                category TEXT NOT NULL CHECK (category IN ('chest', 'bone', 'scalp', 'free')),
                nickname TEXT NOT NULL,
                title TEXT NOT NULL,
                body TEXT NOT NULL,
                summary_json TEXT,
                password_hash TEXT,
                fingerprint TEXT NOT NULL,
                view_count INTEGER NOT NULL DEFAULT 0,
                like_count INTEGER NOT NULL DEFAULT 0,
                comment_count INTEGER NOT NULL DEFAULT 0
            )""",
            "CREATE INDEX idx_posts_fingerprint ON posts (fingerprint, created_at)",
            """CREATE TABLE comments (
                id INTEGER PRIMARY KEY,
                post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
                created_at REAL NOT NULL,
                nickname TEXT NOT NULL,
                body TEXT NOT NULL,
                password_hash TEXT,
                fingerprint TEXT NOT NULL
            )""",
            "CREATE INDEX idx_comments_post ON comments (post_id, id)",
            """CREATE TABLE likes (
                post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
                visitor_hash TEXT NOT NULL,
                created_at REAL NOT NULL,
                UNIQUE (post_id, visitor_hash)
            )""",
            """CREATE TABLE rate_events (
                id INTEGER PRIMARY KEY,
                visitor_hash TEXT NOT NULL,
                action TEXT NOT NULL,
                at REAL NOT NULL
            )""",
            "CREATE INDEX idx_rate_events ON rate_events (visitor_hash, action, at)",
        ),
    )


def _m2_fts_trigram(db: Database) -> None:
    # sqlite-utils builds the external-content FTS5 table and fills it from existing rows.
    # Its own triggers would re-index on every UPDATE (view and like counters too), so the
    # sync triggers below fire only when the indexed columns change.
    db.table("posts").enable_fts(["title", "body"], fts_version="FTS5", tokenize="trigram")
    _run(
        db,
        (
            """CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN
                INSERT INTO posts_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
            END""",
            """CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN
                INSERT INTO posts_fts (posts_fts, rowid, title, body)
                VALUES ('delete', old.id, old.title, old.body);
            END""",
            """CREATE TRIGGER posts_fts_au AFTER UPDATE OF title, body ON posts BEGIN
                INSERT INTO posts_fts (posts_fts, rowid, title, body)
                VALUES ('delete', old.id, old.title, old.body);
                INSERT INTO posts_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
            END""",
        ),
    )


def _m3_moderation(db: Database) -> None:
    posts = db.table("posts")
    posts.add_column("status", str, not_null_default="visible")
    posts.add_column("report_count", int, not_null_default=0)
    _run(
        db,
        (
            "CREATE INDEX idx_posts_status_id ON posts (status, id)",
            "CREATE INDEX idx_posts_status_category_id ON posts (status, category, id)",
            "CREATE INDEX idx_posts_status_likes ON posts (status, like_count, id)",
            "CREATE INDEX idx_posts_status_reports ON posts (status, report_count)",
            """CREATE TABLE reports (
                post_id INTEGER NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
                visitor_hash TEXT NOT NULL,
                reason TEXT NOT NULL DEFAULT '',
                created_at REAL NOT NULL,
                UNIQUE (post_id, visitor_hash)
            )""",
            """CREATE TABLE moderation_log (
                id INTEGER PRIMARY KEY,
                at REAL NOT NULL,
                action TEXT NOT NULL,
                post_id INTEGER,
                comment_id INTEGER,
                detail TEXT NOT NULL DEFAULT ''
            )""",
        ),
    )


def _m4_comment_edits(db: Database) -> None:
    db.table("comments").add_column("updated_at", float)


def _m5_visitor_salt(db: Database) -> None:
    # The salt of client-address hashes (core.board.security.client_visitor_id). It never
    # leaves the database: exports leave it out.
    _run(db, ("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",))
    db.execute("INSERT INTO meta (key, value) VALUES ('visitor_salt', ?)", (secrets.token_hex(32),))


#: The bigram "document" of a post: the hex UTF-8 of every two-character window of
#: lower(title || LF || body), plus the last character alone, separated by spaces. Every
#: character is the first character of one token, so a 2-character term is one exact token
#: and a 1-character term a token prefix (UTF-8 is prefix-free, hex keeps byte boundaries).
#: lower() folds ASCII only (no ICU), exactly like LIKE. The index is external content over
#: this view, so the tokens are never stored as text.
#:
#: substr() walks a UTF-8 text from its start, so taking every window of a long text
#: directly costs O(length^2); the text is cut into 4,097-character blocks, those into
#: 65-character chunks (each overlapping the next by one character), and the windows are
#: taken in the chunks: linear in practice (a 5,000-character post in a few ms). Positions
#: 1..64 come from the small posts_bigram_seq table (FTS5 reads its content with virtual
#: tables disabled, so json_each cannot number them; a recursive CTE per character is 3-4x
#: slower). Correctness is tested against LIKE in tests/board/test_board_search_bigram.py.
BIGRAM_VIEW = """CREATE VIEW posts_bigram_src (id, grams) AS
SELECT p.id, (
    WITH RECURSIVE src (t) AS MATERIALIZED (SELECT lower(p.title || char(10) || p.body)),
    k (n) AS (SELECT 1 UNION ALL SELECT k.n + 1 FROM k, src WHERE k.n * 4096 < length(src.t)),
    blocks (b) AS MATERIALIZED (SELECT substr(src.t, k.n * 4096 - 4095, 4097) FROM src, k),
    chunks (c) AS MATERIALIZED (
        SELECT substr(blocks.b, m.n * 64 - 63, 65)
        FROM blocks JOIN posts_bigram_seq AS m ON m.n * 64 - 63 <= min(length(blocks.b), 4096)
    )
    SELECT group_concat(hex(substr(chunks.c, s.n, 2)), ' ')
    FROM chunks JOIN posts_bigram_seq AS s ON s.n <= min(length(chunks.c), 64)
) AS grams
FROM posts AS p"""


def _m6_fts_bigram(db: Database) -> None:
    # detail=none: only which posts hold a token (no positions: every query term is a single
    # token or prefix); the "ascii" tokenizer keeps each hex run whole.
    _run(
        db,
        (
            "CREATE TABLE posts_bigram_seq (n INTEGER PRIMARY KEY)",
            """WITH RECURSIVE s (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 64)
            INSERT INTO posts_bigram_seq (n) SELECT n FROM s""",
            BIGRAM_VIEW,
            """CREATE VIRTUAL TABLE posts_bigram USING fts5 (
                grams, content='posts_bigram_src', content_rowid='id', tokenize='ascii', detail='none'
            )""",
            "INSERT INTO posts_bigram (posts_bigram) VALUES ('rebuild')",
            """CREATE TRIGGER posts_bigram_ai AFTER INSERT ON posts BEGIN
                INSERT INTO posts_bigram (rowid, grams) SELECT id, grams FROM posts_bigram_src WHERE id = new.id;
            END""",
            # The view reads the posts table, so old tokens are removed while the old row is
            # still there (BEFORE), new ones added after the change.
            """CREATE TRIGGER posts_bigram_bd BEFORE DELETE ON posts BEGIN
                INSERT INTO posts_bigram (posts_bigram, rowid, grams)
                SELECT 'delete', id, grams FROM posts_bigram_src WHERE id = old.id;
            END""",
            """CREATE TRIGGER posts_bigram_bu BEFORE UPDATE OF title, body ON posts BEGIN
                INSERT INTO posts_bigram (posts_bigram, rowid, grams)
                SELECT 'delete', id, grams FROM posts_bigram_src WHERE id = old.id;
            END""",
            """CREATE TRIGGER posts_bigram_au AFTER UPDATE OF title, body ON posts BEGIN
                INSERT INTO posts_bigram (rowid, grams) SELECT id, grams FROM posts_bigram_src WHERE id = new.id;
            END""",
        ),
    )


def _m7_visitor_cookie(db: Database) -> None:
    # The key that signs visitor cookies (core.board.security.new_browser_token): like the salt,
    # it stays in the database (backups keep cookies valid, exports leave it out). A report
    # keeps its reporter's network hash (NULL when unknown) and whether it counts towards
    # hiding the post (0 for sessions whose browser had not returned its cookie).
    db.execute("INSERT INTO meta (key, value) VALUES ('cookie_key', ?)", (secrets.token_hex(32),))
    _run(
        db,
        (
            "ALTER TABLE reports ADD COLUMN network_hash TEXT",
            "ALTER TABLE reports ADD COLUMN counted INTEGER NOT NULL DEFAULT 1",
        ),
    )


#: (version, name, function), in order. Append only.
MIGRATIONS: tuple[tuple[int, str, MigrationFn], ...] = (
    (1, "initial", _m1_initial),
    (2, "fts_trigram", _m2_fts_trigram),
    (3, "moderation", _m3_moderation),
    (4, "comment_edits", _m4_comment_edits),
    (5, "visitor_salt", _m5_visitor_salt),
    (6, "fts_bigram", _m6_fts_bigram),
    (7, "visitor_cookie", _m7_visitor_cookie),
)
LATEST_VERSION = MIGRATIONS[-1][0]

_VERSION_TABLE = """CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at REAL NOT NULL
)"""


def current_version(db: Database) -> int:
    """The highest applied migration (0 for an empty database)."""
    if not db.table("schema_version").exists():
        return 0
    row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(db: Database, target: int | None = None) -> int:
    """Apply pending migrations up to ``target`` (default: all) and return the version.

    ``db`` must be in autocommit mode (``isolation_level=None``) with no open transaction.

    Raises:
        SchemaTooNewError: the database is newer than this code.
        sqlite3.Error: a migration failed (its transaction is rolled back).
    """
    target = LATEST_VERSION if target is None else target
    version = current_version(db)
    if version > LATEST_VERSION:
        raise SchemaTooNewError(f"database schema v{version} is newer than this app (v{LATEST_VERSION})")
    for number, name, fn in MIGRATIONS:
        if number > target or number <= version:
            continue
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute(_VERSION_TABLE)
            if current_version(db) >= number:  # another process got here first
                db.execute("COMMIT")
                continue
            fn(db)
            db.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (number, name, time.time()),
            )
            db.execute("COMMIT")
        except BaseException:
            if db.conn.in_transaction:
                db.execute("ROLLBACK")
            raise
    return current_version(db)


def enable_wal(conn: sqlite3.Connection) -> str:
    """Switch the database file to WAL journaling (persistent) and return the mode."""
    row = conn.execute("PRAGMA journal_mode=WAL").fetchone()
    return str(row[0]).lower()
