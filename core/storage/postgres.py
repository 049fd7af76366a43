"""The PostgreSQL engine's plumbing: the driver, one connection pool per process, transactions.

Everything PostgreSQL-specific that is not a store's own SQL lives here and in
:mod:`core.storage.migrations`, so a store's PostgreSQL engine only writes queries:

    from core.storage import postgres
    with postgres.transaction(settings) as conn:
        conn.execute("INSERT INTO ...", (...,))

``psycopg`` is imported on the first call (only where ``DRDC_DB_URL`` names PostgreSQL).
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import threading
from collections.abc import Iterator
from types import ModuleType
from typing import Any

from core.settings import Settings, get_settings
from core.storage import INSTALL_COMMAND, POSTGRESQL, StorageConfigError, StorageUnavailableError, engine
from core.storage.migrations import apply_migrations

#: connections one process keeps at most (Streamlit serves every session of a process from threads)
POOL_MAX = 10
#: seconds a caller waits for a free connection, and for the first connection when the pool opens
POOL_TIMEOUT = 15.0

_LOCK = threading.Lock()
_POOLS: dict[str, Any] = {}
_OWNER = os.getpid()
_ABANDONED: list[Any] = []  # a forked child's copies of its parent's pools: never closed from the child


def driver() -> tuple[ModuleType, ModuleType]:
    """``(psycopg, psycopg_pool)``, imported on first use.

    Raises:
        StorageConfigError: the packages are not installed (the message names
            :data:`core.storage.INSTALL_COMMAND`).
    """
    try:
        return importlib.import_module("psycopg"), importlib.import_module("psycopg_pool")
    except ImportError as exc:
        raise StorageConfigError("storage.error.driver_missing", command=INSTALL_COMMAND) from exc


def _url(settings: Settings | None) -> str:
    settings = settings or get_settings()
    if engine(settings) != POSTGRESQL:  # unset: engine() raises for any other URL
        raise StorageConfigError("storage.error.bad_url", scheme="?")
    return str(settings.db_url)


def pool(settings: Settings | None = None) -> Any:
    """This process's ``psycopg_pool.ConnectionPool`` for ``DRDC_DB_URL``, opened on first use, when
    the schema is also brought up to date (:func:`core.storage.migrations.apply_migrations`).

    Raises:
        StorageConfigError: no PostgreSQL URL is set, or the driver is missing.
        StorageUnavailableError: the server cannot be reached, or a migration's SQL failed.
        MigrationError: the migration files are inconsistent or one was edited after release.
    """
    global _OWNER
    url = _url(settings)
    with _LOCK:
        if os.getpid() != _OWNER:  # forked: the parent's connections are not ours to use or close
            _ABANDONED.extend(_POOLS.values())
            _POOLS.clear()
            _OWNER = os.getpid()
        found = _POOLS.get(url)
        if found is not None:
            return found
        psycopg, psycopg_pool = driver()
        made = psycopg_pool.ConnectionPool(
            url, min_size=1, max_size=POOL_MAX, open=False, timeout=POOL_TIMEOUT, name="drdc",
            check=psycopg_pool.ConnectionPool.check_connection,
        )
        try:
            made.open(wait=True, timeout=POOL_TIMEOUT)
            with made.connection() as conn:
                apply_migrations(conn)
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            made.close()
            raise StorageUnavailableError(f"PostgreSQL storage is not available: {exc}") from exc
        except BaseException:  # MigrationError: the pool is not kept
            made.close()
            raise
        _POOLS[url] = made
        return made


@contextlib.contextmanager
def transaction(settings: Settings | None = None) -> Iterator[Any]:
    """A pooled connection inside one transaction: committed when the block ends, rolled back when
    it raises.

    Raises:
        StorageConfigError: see :func:`pool`.
        StorageUnavailableError: the server cannot be reached or the connection broke (SQL errors
            such as a constraint violation propagate as ``psycopg`` errors).
    """
    used = pool(settings)
    psycopg, psycopg_pool = driver()
    try:
        with used.connection() as conn, conn.transaction():
            yield conn
    except (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout) as exc:
        raise StorageUnavailableError(f"PostgreSQL storage failed: {exc}") from exc


def close_pools() -> None:
    """Close every pool this process opened (at exit; tests call it between databases)."""
    with _LOCK:
        pools = list(_POOLS.values()) if os.getpid() == _OWNER else []
        _POOLS.clear()
    for each in pools:
        each.close()


atexit.register(close_pools)
