"""Errors the board raises for things a visitor can cause. All are
:class:`core.errors.UserError` subclasses with ``board.error.*`` translation keys, so the page
shows them with ``ui.common.show_user_error``."""

from __future__ import annotations

from core.errors import UserError
from core.i18n import t


class BoardError(UserError):
    """Base class of board errors a visitor can cause. A ``field`` parameter names a form
    field (``title``, ``body``, ``nickname``...) and is shown translated
    (``board.fieldname.<field>``)."""

    def __init__(self, key: str, /, **params: object) -> None:
        super().__init__(key, **params)
        self.args = (self.message("en"),)

    def message(self, lang: str | None = None) -> str:
        params = dict(self.params)
        if "field" in params:
            params["field"] = t(f"board.fieldname.{params['field']}", lang)
        return t(self.key, lang, **params)


class InvalidInputError(BoardError):
    """A field is empty, too long, has control characters or an unknown value."""


class SpamError(BoardError):
    """Too many links in one post or comment."""


class DuplicateError(BoardError):
    """The same post (or comment) was sent again within the duplicate window."""


class RateLimitedError(BoardError):
    """Too many actions of one kind from this visitor; ``params['seconds']`` says when to retry."""


class PermissionDeniedError(BoardError):
    """Wrong nickname/password, or wrong admin secret."""


class NotFoundError(BoardError):
    """The post or comment does not exist, was deleted, or is hidden pending review."""


class SummaryError(BoardError):
    """A shared analysis summary is malformed or carries data that must never be posted."""


class BusyError(BoardError):
    """The database stayed locked longer than the busy timeout."""


class ImportRecordError(InvalidInputError):
    """One record of an import is not acceptable (the whole import is refused): says which line
    and why (``cause``, another board error)."""

    def __init__(self, line: int, cause: BoardError) -> None:
        self.line = line
        self.cause = cause
        super().__init__("board.error.import_record", line=line)

    def message(self, lang: str | None = None) -> str:
        return t(self.key, lang, line=self.line, problem=self.cause.message(lang))
