"""Where the app keeps the records it shares between users: local files, or PostgreSQL.

One setting picks the engine for every store that goes through this layer (the audit trail,
the scalp history, the community board): ``DRDC_DB_URL``.

* unset (the default): local files under ``DRDC_DATA_DIR`` (and SQLite for the board), exactly as
  a single server has always kept them; nothing to set up, nothing extra to install;
* ``postgresql://user:password@host:5432/dbname`` (or ``postgres://``): one PostgreSQL database
  shared by every replica of the app. The driver (``psycopg`` 3 with ``psycopg_pool``) is
  imported only then; it is not in ``requirements.txt``: ``pip install -r
  requirements-postgres.txt``.

With PostgreSQL, each process opens one connection pool, lazily, on first use
(:func:`core.storage.postgres.pool`), and on opening it brings the schema up to date
(:mod:`core.storage.migrations`: numbered SQL files applied once, under an advisory lock, so
replicas starting together do not race). Stores run their work in
:func:`core.storage.postgres.transaction`.

Errors: a bad setting or a missing driver is a :class:`StorageConfigError` (a translated
:class:`core.errors.UserError`, raised on first use); a database that cannot be reached or fails
mid-way is a :class:`StorageUnavailableError`, an ``OSError`` like an unwritable data folder, so
pages that already handle storage failures handle it the same way.
"""

from __future__ import annotations

from core.errors import UserError
from core.settings import Settings, get_settings

FILES = "files"
POSTGRESQL = "postgresql"
#: what a site installs to use PostgreSQL (named in the translated error)
INSTALL_COMMAND = "pip install -r requirements-postgres.txt"
_SCHEMES = {"postgresql": POSTGRESQL, "postgres": POSTGRESQL}


class StorageConfigError(UserError):
    """``DRDC_DB_URL`` names an engine this app does not have, or its driver is not installed."""


class StorageUnavailableError(OSError):
    """The database cannot be reached, or the connection failed during an operation."""


def engine(settings: Settings | None = None) -> str:
    """The engine ``settings`` select: :data:`FILES` (``DRDC_DB_URL`` unset) or :data:`POSTGRESQL`.

    Raises:
        StorageConfigError: ``DRDC_DB_URL`` is set to something other than a PostgreSQL URL.
    """
    url = (settings or get_settings()).db_url
    if not url:
        return FILES
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in _SCHEMES:
        raise StorageConfigError("storage.error.bad_url", scheme=(scheme or "?")[:20])  # never the rest: it may hold a password
    return _SCHEMES[scheme]


def is_postgres(settings: Settings | None = None) -> bool:
    """Whether ``settings`` select PostgreSQL (see :func:`engine`, whose errors it raises)."""
    return engine(settings) == POSTGRESQL
