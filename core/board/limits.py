"""Rate limits and likes: what every part of the board counts against, and the one-per-visitor
likes.

Visitors have no accounts: pages pass a :class:`~core.board.security.Visitor`, a browser
(a random id in a signed cookie) plus the client network when the server sees one. Rate
limits hold per browser and per network; failed admin secrets also board-wide. Only SHA-256
hashes of ids are stored (likes, reports, rate-limit events).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from core.board import security
from core.board.config import BoardConfig
from core.board.engine import BoardEngine, BoardTx
from core.board.errors import NotFoundError, PermissionDeniedError, RateLimitedError
from core.board.security import Visitor, as_visitor

#: (limit, window in seconds) pairs of one bucket
Rules = tuple[tuple[int, float], ...]
#: (stored hash, rules) of one rate-limit bucket
Bucket = tuple[str, Rules]


@dataclass(frozen=True)
class Who:
    """A visitor as stored: the hashes of its id and network, whether it is confirmed, and whether
    it is the shared :data:`~core.board.security.ANONYMOUS_VISITOR`."""

    vhash: str
    nhash: str | None
    confirmed: bool
    anonymous: bool = False

    @property
    def network_key(self) -> str:
        """The network's hash (IPv4 address or IPv6 /64); every session without an address counts
        as one network."""
        return self.nhash or security.visitor_hash(security.NO_NETWORK)


def who(visitor: Visitor | str) -> Who:
    """The stored form of a visitor (or of a bare visitor id)."""
    v = as_visitor(visitor)
    return Who(
        security.visitor_hash(v.id),
        security.visitor_hash(v.network) if v.network else None,
        bool(v.confirmed),
        v.id == security.ANONYMOUS_VISITOR,
    )


def require_recognised(visitor: Who) -> None:
    """Raises PermissionDeniedError for the shared anonymous visitor (every session with no client
    address once new ids ran out): its likes and reports would be anyone's."""
    if visitor.anonymous:
        raise PermissionDeniedError("board.error.unrecognised_visitor")


def check_bucket(tx: BoardTx, bucket: Bucket, action: str, now: float) -> None:
    """Raises RateLimitedError (with the seconds to wait) when a rule of the bucket is full."""
    vhash, rules = bucket
    for limit, window in rules:
        count, oldest = tx.count_events(vhash, action, now - window)
        if count >= limit:
            wait = max(1, math.ceil(float(oldest if oldest is not None else now) + window - now))
            raise RateLimitedError("board.error.rate_limited", seconds=wait)


def record_bucket(tx: BoardTx, bucket: Bucket, action: str, now: float) -> None:
    """Count one event in the bucket (and forget those older than its longest window)."""
    vhash, rules = bucket
    if rules:
        tx.add_event(vhash, action, now, now - max(window for _, window in rules))


class RateLimited:
    """What every part of the board shares: its engine, limits and clock, the rate-limit
    checks, paging and the visible-post check. :class:`core.board.store.Board` sets the
    attributes."""

    config: BoardConfig
    clock: Callable[[], float]
    _engine: BoardEngine

    def _buckets(self, visitor: Who, action: str) -> list[Bucket]:
        """(hash, rules) of every limit an action counts against: the visitor's, its network's
        (when known and not the visitor itself), and for failed admin secrets the whole board's."""
        cfg = self.config
        out = [(visitor.vhash, cfg.rate_rules.get(action, ()))]
        if visitor.nhash is not None and visitor.nhash != visitor.vhash:
            out.append((visitor.nhash, cfg.network_rate_rules.get(action, ())))
        if action == "admin":
            out.append((security.GLOBAL_BUCKET, cfg.global_rate_rules.get("admin", ())))
        return [(h, rules) for h, rules in out if rules]

    def _rate_check(self, tx: BoardTx, visitor: Who, action: str, now: float) -> None:
        """Raises RateLimitedError when any limit of the action is full."""
        for bucket in self._buckets(visitor, action):
            check_bucket(tx, bucket, action, now)

    def _rate_record(self, tx: BoardTx, visitor: Who, action: str, now: float) -> None:
        for bucket in self._buckets(visitor, action):
            record_bucket(tx, bucket, action, now)

    def _rate_precheck(self, visitor: Who, action: str) -> None:
        """Fail fast (before slow password hashing); the write transaction checks again.

        Raises:
            RateLimitedError: a limit of the action is full.
        """
        if self._buckets(visitor, action):
            with self._engine.read() as tx:
                self._rate_check(tx, visitor, action, self.clock())

    def _record_failure(self, visitor: Who, action: str) -> None:
        with self._engine.write() as tx:
            self._rate_record(tx, visitor, action, self.clock())

    def _page_args(self, page: int, per_page: int | None) -> tuple[int, int]:
        per_page = min(max(1, int(per_page or self.config.per_page)), self.config.per_page_max)
        return max(1, int(page)), per_page

    @staticmethod
    def _require_visible(tx: BoardTx, post_id: int) -> None:
        """Raises NotFoundError unless the post exists and is visible."""
        if tx.post_status(post_id) != "visible":
            raise NotFoundError("board.error.not_found")


class Likes(RateLimited):
    """One like per visitor (browser) per post. A browser the board does not know yet (its first
    session, before its cookie comes back; or a client that drops cookies, new every session) is
    also counted against its network: a few such likes per post per network and hour
    (``new_browser_like`` in the network rules), so dropping cookies does not buy a like per session."""

    def _new_browser_bucket(self, visitor: Who, post_id: int) -> tuple[Bucket, str] | None:
        rules = self.config.network_rate_rules.get("new_browser_like", ())
        if visitor.confirmed or not rules:
            return None
        return (visitor.network_key, rules), f"new_browser_like:{int(post_id)}"

    def like(self, post_id: int, visitor_id: Visitor | str) -> bool:
        """Like a visible post; returns False when this visitor already liked it (enforced by a
        UNIQUE constraint).

        Raises:
            NotFoundError, RateLimitedError (``board.error.like_new_browser`` when the network's
            not-yet-known browsers used their likes of this post), PermissionDeniedError (the shared
            anonymous visitor).
        """
        visitor = who(visitor_id)
        require_recognised(visitor)
        with self._engine.write() as tx:
            now = self.clock()
            self._rate_check(tx, visitor, "like", now)
            self._require_visible(tx, int(post_id))
            if tx.has_like(int(post_id), visitor.vhash):
                return False
            fresh = self._new_browser_bucket(visitor, post_id)
            if fresh is not None:
                try:
                    check_bucket(tx, *fresh, now)
                except RateLimitedError as err:
                    raise RateLimitedError("board.error.like_new_browser", **err.params) from None
            if not tx.add_like(int(post_id), visitor.vhash, now):
                return False
            self._rate_record(tx, visitor, "like", now)
            if fresh is not None:
                record_bucket(tx, *fresh, now)
            return True

    def unlike(self, post_id: int, visitor_id: Visitor | str) -> bool:
        """Take back this visitor's like; returns False when there was none.

        Raises:
            RateLimitedError, PermissionDeniedError (the shared anonymous visitor).
        """
        visitor = who(visitor_id)
        require_recognised(visitor)
        with self._engine.write() as tx:
            now = self.clock()
            self._rate_check(tx, visitor, "like", now)
            if not tx.remove_like(int(post_id), visitor.vhash):
                return False
            self._rate_record(tx, visitor, "like", now)
            return True

    def has_liked(self, post_id: int, visitor_id: Visitor | str) -> bool:
        """Whether this visitor likes the post."""
        visitor = who(visitor_id)
        with self._engine.read() as tx:
            return tx.has_like(int(post_id), visitor.vhash)
