"""Reports and moderation: visitors report posts (enough reporters hide a post until a
moderator reviews it); the admin secret opens a :class:`Moderator`, with failed secrets
counted per visitor, per network and board-wide so guessing is locked out."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from core.board import security, text
from core.board.engine import BoardTx
from core.board.errors import NotFoundError, PermissionDeniedError
from core.board.limits import RateLimited, require_recognised, who
from core.board.records import (
    Comment,
    Page,
    Post,
    Report,
    ReportResult,
    comment_from_row,
    post_from_row,
    report_from_row,
)
from core.board.security import Visitor


def _log(
    tx: BoardTx, now: float, action: str, *, post_id: int | None = None, comment_id: int | None = None, detail: str = ""
) -> None:
    """Audit one moderation action (no user text is kept in the log)."""
    tx.log(now, action, post_id, comment_id, detail)


class Reports(RateLimited):
    """Reporting posts, and the way into moderation."""

    def report_post(self, post_id: int, visitor_id: Visitor | str, reason: str = "") -> ReportResult:
        """Report a visible post (once per visitor). When ``config.report_threshold``
        different reporters have reported it, it is hidden until a moderator reviews it.
        Reporters on one known client network count once (a person cannot hide a post by
        clearing cookies), and a visitor whose browser has not returned its cookie
        (``Visitor.confirmed`` False) is recorded but does not count.

        Raises:
            NotFoundError, RateLimitedError, InvalidInputError (reason too long),
            PermissionDeniedError (the shared anonymous visitor).
        """
        cfg = self.config
        reason = reason.strip() if isinstance(reason, str) else ""
        if reason:
            reason = text.clean_line(reason, "reason", 1, cfg.report_reason_max)
        visitor = who(visitor_id)
        require_recognised(visitor)
        with self._engine.write() as tx:
            now = self.clock()
            self._rate_check(tx, visitor, "report", now)
            self._require_visible(tx, int(post_id))
            if not tx.add_report(int(post_id), visitor.vhash, visitor.nhash, reason, now, visitor.confirmed):
                return ReportResult(new=False, hidden=False)
            self._rate_record(tx, visitor, "report", now)
            hidden = False
            if tx.count_reporters(int(post_id)) >= cfg.report_threshold:
                hidden = tx.hide(int(post_id), only_visible=True)
            if hidden:
                _log(tx, now, "auto_hide", post_id=int(post_id), detail=f"reporters>={cfg.report_threshold}")
            return ReportResult(new=True, hidden=hidden)

    def moderator(self, visitor_id: Visitor | str, secret: str, expected: str | None) -> Moderator:
        """A handle for moderation when ``secret`` equals the configured admin secret
        (compared with :func:`hmac.compare_digest`).

        Failed secrets are counted in the database per visitor (a browser), per client network
        and for the whole board (``rate_rules`` / ``network_rate_rules`` / ``global_rate_rules``
        ``"admin"``: 5, 5 and 20 an hour by default); while any of them is full every attempt is
        refused, the right secret too, so a fresh session, a new browser or many browsers get
        no more guesses. The check, the comparison and the count happen in one write
        transaction, so parallel guesses cannot slip past the limit.

        Raises:
            PermissionDeniedError: wrong secret, or moderation off (no secret configured).
            RateLimitedError: too many failed attempts.
            BusyError: the database stayed locked.
        """
        visitor = who(visitor_id)
        with self._engine.write() as tx:
            now = self.clock()
            self._rate_check(tx, visitor, "admin", now)
            ok = security.admin_secret_matches(secret, expected)
            if not ok:
                self._rate_record(tx, visitor, "admin", now)
        if not ok:
            raise PermissionDeniedError("board.error.wrong_secret")
        return Moderator(self)

    def unlock_admin(self) -> int:
        """Forget every failed admin secret (all visitors, networks and the board-wide count):
        the way back in after a lock-out (``python -m core.board unlock-admin``). Returns how
        many failures were forgotten.

        Raises:
            BusyError: the database stayed locked.
        """
        with self._engine.write() as tx:
            return tx.forget_events("admin")


class Moderator:
    """Moderation actions; obtained only through :meth:`Board.moderator` with the admin secret."""

    def __init__(self, board: RateLimited) -> None:
        self._board = board

    def queue(self, *, page: int = 1, per_page: int | None = None) -> Page[Post]:
        """Hidden posts first, then visible posts with reports (most reported first)."""
        board = self._board
        page, per_page = board._page_args(page, per_page)
        with board._engine.read() as tx:
            total = tx.queue_count()
            page = min(page, max(1, math.ceil(total / per_page)))
            rows = tx.queue(per_page, (page - 1) * per_page)
        return Page(tuple(post_from_row(r) for r in rows), total, page, per_page)

    def get_post(self, post_id: int) -> Post | None:
        """Any post, hidden ones included."""
        with self._board._engine.read() as tx:
            row = tx.post(int(post_id))
        return post_from_row(row) if row else None

    def reports(self, post_id: int) -> list[Report]:
        """The reports of a post, oldest first."""
        with self._board._engine.read() as tx:
            rows = tx.reports(int(post_id))
        return [report_from_row(row) for row in rows]

    def _act(self, post_id: int, action: str, apply: Callable[[BoardTx, int], bool]) -> None:
        """Apply a moderation action to a post and audit it. Raises NotFoundError."""
        with self._board._engine.write() as tx:
            if not apply(tx, int(post_id)):
                raise NotFoundError("board.error.not_found")
            _log(tx, self._board.clock(), action, post_id=int(post_id))

    def restore(self, post_id: int) -> None:
        """Make a post visible again and clear its reports. Raises NotFoundError."""
        self._act(post_id, "restore", lambda tx, pid: tx.restore(pid))

    def hide(self, post_id: int) -> None:
        """Hide a post pending review. Raises NotFoundError."""
        self._act(post_id, "hide", lambda tx, pid: tx.hide(pid))

    def delete_post(self, post_id: int) -> None:
        """Delete a post with its comments, likes and reports. Raises NotFoundError."""
        self._act(post_id, "delete_post", lambda tx, pid: tx.delete_post(pid))

    def delete_comment(self, comment_id: int) -> None:
        """Delete a comment. Raises NotFoundError."""
        with self._board._engine.write() as tx:
            post_id = tx.delete_comment(int(comment_id))
            if post_id is None:
                raise NotFoundError("board.error.not_found")
            _log(tx, self._board.clock(), "delete_comment", post_id=post_id, comment_id=int(comment_id))

    def comments(self, post_id: int) -> list[Comment]:
        """Comments of any post, hidden ones included."""
        with self._board._engine.read() as tx:
            rows = tx.comments(int(post_id), self._board.config.comments_max_listed)
        return [comment_from_row(row) for row in rows]

    def log(self, limit: int = 50) -> list[dict[str, Any]]:
        """Latest moderation actions (no user text is kept in the log)."""
        with self._board._engine.read() as tx:
            rows = tx.log_rows(int(limit))
        return [dict(zip(("at", "action", "post_id", "comment_id", "detail"), row, strict=True)) for row in rows]
