"""Board limits and tunables, in one frozen dataclass so tests can pass their own.

Everything a deployment might want to tune (lengths, rate limits, report threshold, KDF cost)
lives here; nothing reads the environment. :func:`core.board.open_board` builds a
:class:`Board` from :func:`core.settings.get_settings` and a ``BoardConfig``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

#: Board categories, in display order. Labels come from ``board.category.<name>``.
CATEGORIES: tuple[str, ...] = ("chest", "bone", "scalp", "free")

#: Sort orders for lists and search results. Labels come from ``board.sort.<name>``.
SORTS: tuple[str, ...] = ("newest", "popular")

#: Actions that are rate limited per visitor.
ACTIONS: tuple[str, ...] = ("post", "edit", "comment", "like", "report", "auth", "admin")

#: ``(max events, window seconds)`` pairs per action; every pair must hold.
RateRules = dict[str, tuple[tuple[int, float], ...]]

#: Per visitor (a browser: its signed cookie; see :class:`core.board.Visitor`).
DEFAULT_RATE_RULES: RateRules = {
    "post": ((3, 60.0), (20, 3600.0)),
    "edit": ((10, 60.0),),
    "comment": ((10, 60.0), (100, 3600.0)),
    "like": ((60, 60.0),),
    "report": ((10, 3600.0),),
    # counted on failed passwords only
    "auth": ((5, 60.0), (30, 3600.0)),
    # counted on failed admin secrets only
    "admin": ((5, 3600.0),),
}

#: Per client network (the IPv4 address or IPv6 /64 the server sees), on top of the visitor's
#: own limits, so clearing cookies does not reset them: room for a few people behind one NAT.
#: ``visitor`` counts new browser ids issued to cookie-less sessions of one network (or of all
#: sessions with no client address together): past it, a new session is its network's visitor.
DEFAULT_NETWORK_RATE_RULES: RateRules = {
    "post": ((10, 60.0), (60, 3600.0)),
    "edit": ((30, 60.0),),
    "comment": ((30, 60.0), (300, 3600.0)),
    "like": ((180, 60.0),),
    "report": ((30, 3600.0),),
    "auth": ((15, 60.0), (90, 3600.0)),
    "admin": ((5, 3600.0),),
    "visitor": ((10, 60.0), (60, 3600.0)),
    # likes of one post from browsers the board does not know yet (their first session, or a client
    # that drops cookies and is new every time): a few people behind one NAT, not one per session
    "new_browser_like": ((3, 3600.0),),
}

#: For the whole board: failed admin secrets from everyone together lock moderation for the
#: window (``python -m core.board unlock-admin`` clears it).
DEFAULT_GLOBAL_RATE_RULES: RateRules = {
    "admin": ((20, 3600.0),),
}


def cheap_password_hasher() -> PasswordHasher:
    """An Argon2id hasher with the smallest parameters: for tests and benchmarks only."""
    return PasswordHasher.from_parameters(CHEAPEST)


@dataclass(frozen=True)
class BoardConfig:
    """Limits of the community board. All lengths count Unicode code points."""

    title_max: int = 100
    body_max: int = 5000
    body_max_lines: int = 200
    comment_max: int = 1000
    nickname_min: int = 2
    nickname_max: int = 20
    password_min: int = 4
    password_max: int = 128
    report_reason_max: int = 200
    query_max: int = 100
    query_max_terms: int = 8
    #: links (http(s)://, www., javascript:/data: URLs) allowed in one post or comment
    max_links_post: int = 3
    max_links_comment: int = 2
    #: the same title+body (case/space-insensitive) cannot be posted twice within this window
    duplicate_window_s: float = 24 * 3600.0
    #: the same comment text on the same post within this window is a duplicate
    duplicate_comment_window_s: float = 600.0
    #: visible posts reported by this many different reporters are hidden pending review;
    #: reporters on one known client network count once, and sessions whose browser has not
    #: returned its visitor cookie (yet) do not count
    report_threshold: int = 3
    per_page: int = 10
    #: a search counts (and pages through) at most this many matches
    search_count_max: int = 1000
    per_page_max: int = 50
    comments_max_listed: int = 500
    busy_timeout_ms: int = 10_000
    rate_rules: RateRules = field(default_factory=lambda: dict(DEFAULT_RATE_RULES))
    network_rate_rules: RateRules = field(default_factory=lambda: dict(DEFAULT_NETWORK_RATE_RULES))
    global_rate_rules: RateRules = field(default_factory=lambda: dict(DEFAULT_GLOBAL_RATE_RULES))
    #: nicknames nobody may use (compared case-insensitively, spaces ignored)
    reserved_nicknames: tuple[str, ...] = ("admin", "administrator", "moderator", "관리자", "운영자", "운영진")
    password_hasher: PasswordHasher = field(default_factory=PasswordHasher)

    def without_rate_limits(self) -> BoardConfig:
        """A copy with no rate limits (bulk tests, benchmarks, imports)."""
        from dataclasses import replace

        return replace(self, rate_rules={}, network_rate_rules={}, global_rate_rules={})
