"""Errors a user can cause. Each carries a translation key so pages can show it in the
user's language; the English text is also the exception message for logs and tests."""

from __future__ import annotations

from core.i18n import t


class UserError(Exception):
    """Base class for problems caused by user input (bad file, bad form value...).

    Args:
        key: translation key of the message (``locales/*/<namespace>.json``).
        **params: values for the message's placeholders.
    """

    def __init__(self, key: str, /, **params: object) -> None:
        self.key = key
        self.params = params
        super().__init__(t(key, "en", **params))

    def message(self, lang: str | None = None) -> str:
        """The message in ``lang`` (Korean by default)."""
        return t(self.key, lang, **self.params)


class MissingModelError(UserError):
    """A model's weights are not installed. ``params['name']`` holds the model name and
    ``params['command']`` the exact command that installs it."""
