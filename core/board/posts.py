"""Posts and comments: write, read, list, search, and the one owner-checked path (nickname +
password) that every edit and delete of a post or a comment goes through.

Passwords are hashed with Argon2id before the write transaction starts (hashing is slow on
purpose; the database lock is not held meanwhile).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Literal

from core.board import privacy, security, text
from core.board.config import CATEGORIES, SORTS, BoardConfig
from core.board.engine import BoardTx
from core.board.errors import DuplicateError, InvalidInputError, NotFoundError, PermissionDeniedError
from core.board.limits import RateLimited, Who, who
from core.board.records import Comment, Page, Post, comment_from_row, post_from_row
from core.board.security import Visitor
from core.board.summary import summary_to_json, validate_summary

#: what an owner-checked change does inside its write transaction: (tx, now, the stored
#: password hash it was checked against, the new hash when the old one needs rehashing)
Change = Callable[[BoardTx, float, str | None, str | None], None]


def validate_post(config: BoardConfig, category: object, title: object, body: object) -> tuple[str, str, str]:
    """A post's category, title and body, cleaned.

    Raises:
        InvalidInputError: a field is empty/too long/has control characters, unknown category.
        SpamError: too many links.
        PersonalDataError: the title or body holds personal data (:mod:`core.board.privacy`).
    """
    category = text.clean_category(category)
    title = text.clean_line(title, "title", 1, config.title_max)
    body = text.clean_body(body, "body", config.body_max, config.body_max_lines)
    text.check_links(config.max_links_post, title, body)
    in_title, in_body = privacy.find_personal_data(title), privacy.find_personal_data(body)
    if in_title or in_body:
        kinds = tuple(k for k in privacy.KINDS if k in in_title or k in in_body)
        field = "post" if in_title and in_body else "title" if in_title else "body"
        raise privacy.PersonalDataError(field, kinds)
    return category, title, body


def validate_comment(config: BoardConfig, body: object) -> str:
    """A comment's text, cleaned.

    Raises:
        InvalidInputError, SpamError, PersonalDataError: as for :func:`validate_post`.
    """
    body = text.clean_body(body, "comment", config.comment_max, config.body_max_lines)
    text.check_links(config.max_links_comment, body)
    privacy.check_personal_data("comment", body)
    return body


def post_fingerprint(title: str, body: str, summary_json: str | None) -> str:
    """A post's duplicate fingerprint. A shared result's summary is part of it: two people sharing
    different results under a page's default title and body are not duplicates."""
    return text.fingerprint(title, body, summary_json) if summary_json else text.fingerprint(title, body)


class Posts(RateLimited):
    """Posts and comments of the board."""

    # ------------------------------------------------------------------ owner checks

    def _owner(self, kind: Literal["post", "comment"], item_id: int) -> tuple[str, str | None]:
        """(nickname, password hash) of a visible post, or of a comment on one.

        Raises:
            NotFoundError: no such post or comment, or its post is hidden.
        """
        with self._engine.read() as tx:
            row = tx.post_owner(int(item_id)) if kind == "post" else tx.comment_owner(int(item_id))
        if row is None or row[2] != "visible":
            raise NotFoundError("board.error.not_found")
        return row[0], row[1]

    def _verify_owner(
        self, visitor: Who, stored_nick: str, stored_hash: str | None, nickname: str, password: str
    ) -> None:
        """Raises PermissionDeniedError (and counts the failure) unless both match, or
        RateLimitedError after too many failures."""
        self._rate_precheck(visitor, "auth")
        hasher = self.config.password_hasher
        nick_ok = text.same_nickname(nickname, stored_nick)
        if nick_ok and isinstance(password, str):
            ok = security.verify_password(hasher, stored_hash, password)
        else:
            security.burn_password_check(hasher)
            ok = False
        if not ok:
            self._record_failure(visitor, "auth")
            raise PermissionDeniedError("board.error.wrong_password")

    def _owned_change(
        self,
        visitor_id: Visitor | str,
        kind: Literal["post", "comment"],
        item_id: int,
        *,
        nickname: str,
        password: str,
        change: Change,
        edit: bool,
    ) -> None:
        """The one path of every author's edit and delete: find the post or comment, check the
        nickname and password (failures counted), then run ``change`` in a write transaction.
        An edit also counts against the ``"edit"`` rate limit and upgrades an outdated
        password hash.

        Raises:
            NotFoundError: no such visible post or comment.
            PermissionDeniedError: wrong nickname or password.
            RateLimitedError: too many edits or failed password attempts.
            BusyError: the database stayed locked.
            BoardError: whatever ``change`` raises (the transaction is rolled back).
        """
        visitor = who(visitor_id)
        stored_nick, stored_hash = self._owner(kind, item_id)
        if edit:
            self._rate_precheck(visitor, "edit")
        self._verify_owner(visitor, stored_nick, stored_hash, nickname, password)
        hasher = self.config.password_hasher
        rehash = None
        if edit and stored_hash and security.needs_rehash(hasher, stored_hash):
            rehash = security.hash_password(hasher, password)
        with self._engine.write() as tx:
            now = self.clock()
            if edit:
                self._rate_check(tx, visitor, "edit", now)
            change(tx, now, stored_hash, rehash)
            if edit:
                self._rate_record(tx, visitor, "edit", now)

    def check_owner(self, visitor_id: Visitor | str, post_id: int, *, nickname: str, password: str) -> None:
        """Check nickname+password for a post without changing it (the page uses it to
        unlock the edit form).

        Raises:
            NotFoundError, PermissionDeniedError, RateLimitedError (too many failures).
        """
        stored_nick, stored_hash = self._owner("post", post_id)
        self._verify_owner(who(visitor_id), stored_nick, stored_hash, nickname, password)

    # ------------------------------------------------------------------ posts

    def create_post(
        self,
        visitor_id: Visitor | str,
        *,
        category: str,
        title: str,
        body: str,
        nickname: str,
        password: str,
        summary: Mapping[str, Any] | None = None,
    ) -> int:
        """Publish a post and return its id.

        Raises:
            InvalidInputError: a field is empty/too long/has control characters, unknown category.
            SpamError: too many links.
            PersonalDataError: the title or text holds a resident registration number, a phone
                number or an e-mail address (:mod:`core.board.privacy`).
            SummaryError: the shared summary is not allowed (see :mod:`core.board.summary`).
            RateLimitedError: this visitor posted too often.
            DuplicateError: the same title and body were posted within the duplicate window.
            BusyError: the database stayed locked.
        """
        cfg = self.config
        category, title, body = validate_post(cfg, category, title, body)
        nickname = text.clean_nickname(nickname, cfg)
        password = text.check_password(password, cfg)
        summary_json = summary_to_json(validate_summary(summary)) if summary is not None else None
        fingerprint = post_fingerprint(title, body, summary_json)
        visitor = who(visitor_id)
        self._rate_precheck(visitor, "post")
        password_hash = security.hash_password(cfg.password_hasher, password)
        with self._engine.write() as tx:
            now = self.clock()
            self._rate_check(tx, visitor, "post", now)
            if tx.recent_post(fingerprint, now - cfg.duplicate_window_s):
                raise DuplicateError("board.error.duplicate_post")
            post_id = tx.insert_post({
                "created_at": now, "category": category, "nickname": nickname, "title": title, "body": body,
                "summary_json": summary_json, "password_hash": password_hash, "fingerprint": fingerprint,
            })
            self._rate_record(tx, visitor, "post", now)
            return post_id

    def get_post(self, post_id: int) -> Post | None:
        """The visible post with this id, or None (missing, deleted or hidden)."""
        with self._engine.read() as tx:
            row = tx.post(int(post_id))
        if row is None or row[12] != "visible":
            return None
        return post_from_row(row)

    @staticmethod
    def _check_filters(category: str | None, sort: str) -> None:
        if category is not None and category not in CATEGORIES:
            raise InvalidInputError("board.error.bad_category")
        if sort not in SORTS:
            raise InvalidInputError("board.error.bad_sort")

    def list_posts(
        self, *, category: str | None = None, sort: str = "newest", page: int = 1, per_page: int | None = None
    ) -> Page[Post]:
        """Visible posts, newest first or most liked first, one page at a time.

        Raises:
            InvalidInputError: unknown category or sort.
        """
        self._check_filters(category, sort)
        page, per_page = self._page_args(page, per_page)
        with self._engine.read() as tx:
            total = tx.count_visible(category)
            page = min(page, max(1, math.ceil(total / per_page)))
            rows = tx.list_visible(sort, category, per_page, (page - 1) * per_page)
        return Page(tuple(post_from_row(r) for r in rows), total, page, per_page)

    def search(
        self,
        query: str,
        *,
        category: str | None = None,
        sort: str = "newest",
        page: int = 1,
        per_page: int | None = None,
    ) -> Page[Post]:
        """Visible posts whose title or body contains every term of ``query`` (substring
        match, case-insensitive for Latin letters; Korean works because the index is trigram).
        Terms shorter than 3 characters are matched with LIKE (candidates from the bigram
        index when the query has no longer term). An empty query lists posts.

        Raises:
            InvalidInputError: the query is too long or has control characters; unknown
                category or sort.
        """
        self._check_filters(category, sort)
        parsed = text.parse_query(query, self.config)
        if parsed.empty:
            return self.list_posts(category=category, sort=sort, page=page, per_page=per_page)
        page, per_page = self._page_args(page, per_page)
        index = "trigram" if parsed.fts else "bigram"
        params: dict[str, Any] = {
            "category": category,
            "likes": parsed.like_patterns,
            "fts": parsed.fts,
            "bigrams": parsed.bigrams,
            "terms": parsed.terms,
        }
        cap = self.config.search_count_max
        page = min(page, math.ceil(cap / per_page))
        with self._engine.read() as tx:
            rows = tx.search(index, sort, params, per_page, (page - 1) * per_page)
            if (rows and len(rows) < per_page) or (page == 1 and not rows):
                # the last page: the total is known without a second pass (rare terms scan once)
                total, more = (page - 1) * per_page + len(rows), False
            else:
                counted = tx.search_count(index, params, cap + 1)
                total, more = min(counted, cap), counted > cap
                last = max(1, math.ceil(total / per_page))
                if page > last:  # asked past the end: show the last page
                    page = last
                    rows = tx.search(index, sort, params, per_page, (page - 1) * per_page)
        return Page(tuple(post_from_row(r) for r in rows), total, page, per_page, more=more)

    def record_view(self, post_id: int) -> None:
        """Count one view of a visible post (pages call it once per visitor session).

        Raises:
            BusyError: the database stayed locked.
        """
        with self._engine.write() as tx:
            tx.add_view(int(post_id))

    def edit_post(
        self,
        visitor_id: Visitor | str,
        post_id: int,
        *,
        nickname: str,
        password: str,
        title: str,
        body: str,
        category: str,
    ) -> None:
        """Change a post's title, body and category (its author's nickname+password).

        Raises:
            InvalidInputError, SpamError: as for :meth:`create_post`.
            NotFoundError: no such visible post.
            PermissionDeniedError: wrong nickname or password.
            RateLimitedError: too many edits or failed password attempts.
        """
        category, title, body = validate_post(self.config, category, title, body)

        def change(tx: BoardTx, now: float, stored_hash: str | None, rehash: str | None) -> None:
            values = {"title": title, "body": body, "category": category, "updated_at": now, "rehash": rehash,
                      "fingerprint": post_fingerprint(title, body, tx.post_summary_json(int(post_id)))}
            if not tx.update_owned_post(int(post_id), stored_hash, values):
                raise NotFoundError("board.error.not_found")

        self._owned_change(visitor_id, "post", post_id, nickname=nickname, password=password, change=change, edit=True)

    def delete_post(self, visitor_id: Visitor | str, post_id: int, *, nickname: str, password: str) -> None:
        """Delete a post with its comments, likes and reports (author's nickname+password).

        Raises:
            NotFoundError, PermissionDeniedError, RateLimitedError.
        """

        def change(tx: BoardTx, now: float, stored_hash: str | None, rehash: str | None) -> None:
            if not tx.delete_owned_post(int(post_id), stored_hash):
                raise NotFoundError("board.error.not_found")

        self._owned_change(visitor_id, "post", post_id, nickname=nickname, password=password, change=change, edit=False)

    # ------------------------------------------------------------------ comments

    def add_comment(
        self, visitor_id: Visitor | str, post_id: int, *, nickname: str, password: str, body: str
    ) -> int:
        """Add a comment to a visible post and return its id.

        Raises:
            InvalidInputError, SpamError, RateLimitedError, NotFoundError,
            PersonalDataError (personal data in the text, :mod:`core.board.privacy`),
            DuplicateError (same text on the same post within the comment duplicate window).
        """
        cfg = self.config
        text.clean_body(body, "comment", cfg.comment_max, cfg.body_max_lines)  # its errors come first
        nickname = text.clean_nickname(nickname, cfg)
        password = text.check_password(password, cfg)
        body = validate_comment(cfg, body)
        fingerprint = text.fingerprint(body)
        visitor = who(visitor_id)
        self._rate_precheck(visitor, "comment")
        self._owner("post", post_id)  # fail fast if the post is gone
        password_hash = security.hash_password(cfg.password_hasher, password)
        with self._engine.write() as tx:
            now = self.clock()
            self._rate_check(tx, visitor, "comment", now)
            self._require_visible(tx, int(post_id))
            if tx.recent_comment(int(post_id), fingerprint, now - cfg.duplicate_comment_window_s):
                raise DuplicateError("board.error.duplicate_comment")
            comment_id = tx.insert_comment({
                "post_id": int(post_id), "created_at": now, "nickname": nickname, "body": body,
                "password_hash": password_hash, "fingerprint": fingerprint,
            })
            self._rate_record(tx, visitor, "comment", now)
            return comment_id

    def list_comments(self, post_id: int) -> list[Comment]:
        """Comments of a visible post, oldest first (at most ``config.comments_max_listed``)."""
        with self._engine.read() as tx:
            if tx.post_status(int(post_id)) != "visible":
                return []
            rows = tx.comments(int(post_id), self.config.comments_max_listed)
        return [comment_from_row(row) for row in rows]

    def delete_comment(self, visitor_id: Visitor | str, comment_id: int, *, nickname: str, password: str) -> None:
        """Delete a comment (its author's nickname+password).

        Raises:
            NotFoundError, PermissionDeniedError, RateLimitedError.
        """

        def change(tx: BoardTx, now: float, stored_hash: str | None, rehash: str | None) -> None:
            if tx.delete_comment(int(comment_id)) is None:
                raise NotFoundError("board.error.not_found")

        self._owned_change(
            visitor_id, "comment", comment_id, nickname=nickname, password=password, change=change, edit=False
        )

    def edit_comment(
        self, visitor_id: Visitor | str, comment_id: int, *, nickname: str, password: str, body: str
    ) -> None:
        """Change a comment's text (its author's nickname+password). The new text goes
        through the same checks as a new comment (length, lines, control characters, links,
        the same text on the same post within the duplicate window); ``updated_at`` is set.

        Raises:
            InvalidInputError, SpamError: as for :meth:`add_comment`.
            DuplicateError: another comment on the post has this text (duplicate window).
            NotFoundError: no such comment, or its post is gone or hidden.
            PermissionDeniedError: wrong nickname or password.
            RateLimitedError: too many edits or failed password attempts.
            BusyError: the database stayed locked.
        """
        cfg = self.config
        body = validate_comment(cfg, body)
        fingerprint = text.fingerprint(body)

        def change(tx: BoardTx, now: float, stored_hash: str | None, rehash: str | None) -> None:
            current = tx.owned_comment_post(int(comment_id), stored_hash)
            if current is None or current[1] != "visible":
                raise NotFoundError("board.error.not_found")
            since = now - cfg.duplicate_comment_window_s
            if tx.recent_comment(current[0], fingerprint, since, other_than=int(comment_id)):
                raise DuplicateError("board.error.duplicate_comment")
            values = {"body": body, "fingerprint": fingerprint, "updated_at": now, "rehash": rehash}
            tx.update_comment(int(comment_id), values)

        self._owned_change(
            visitor_id, "comment", comment_id, nickname=nickname, password=password, change=change, edit=True
        )
