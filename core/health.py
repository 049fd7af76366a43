"""Readiness of one app replica, for a proxy or an orchestrator (``GET /healthz`` in ``serve.py``,
``python -m core.health`` in a container's health check).

Cheap enough to be asked every few seconds: it reads no pixels and loads no model. It checks what a
replica needs to serve a user: its data folder can be written (board, audit, history on the local
engine), its shared store answers (when one is configured), and a chest model is installed and
verified (checksums are cached by file identity, so this is a stat after the first call).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from core import storage
from core.models import registry
from core.settings import Settings, get_settings
from core.storage import postgres  # psycopg itself is imported only for a PostgreSQL URL

CHEST_TASK = "chest-multilabel"

Check = Callable[[Settings], tuple[bool, str]]


@dataclass(frozen=True)
class Health:
    """``ok`` when every check passed; ``checks`` maps a check's name to (passed, detail)."""

    ok: bool
    replica: str
    checks: dict[str, tuple[bool, str]] = field(default_factory=dict)
    seconds: float = 0.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def replica_name() -> str:
    """This replica's name: ``DRDC_REPLICA`` when set (compose and the tests set it), else the host
    name and process id."""
    return os.environ.get("DRDC_REPLICA") or f"{socket.gethostname()}:{os.getpid()}"


def _data_dir(settings: Settings) -> tuple[bool, str]:
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=settings.data_dir, prefix=".health-", delete=True):
            pass
    except OSError as exc:
        return False, f"{settings.data_dir}: {type(exc).__name__}"
    return True, str(settings.data_dir)


def _chest_model(_settings: Settings) -> tuple[bool, str]:
    """A chest model installed and verified (the registry only: importing torch would make the probe
    take seconds)."""
    installed = [c.name for c in registry.list_cards(task=CHEST_TASK) if registry.installed_path(c.name) is not None]
    return bool(installed), ", ".join(installed) or "no chest model installed and verified"


def _store(settings: Settings) -> tuple[bool, str]:
    """The shared store answers (``DRDC_DB_URL``); local files need nothing more than the data folder."""
    if not storage.is_postgres(settings):
        return True, "local files"
    with postgres.transaction(settings) as conn:
        conn.execute("SELECT 1")
    return True, "postgresql"


def health(settings: Settings | None = None) -> Health:
    """Run every check; never raises (a check that raises counts as failed, with the error's type)."""
    settings = settings or get_settings()
    start = time.perf_counter()
    checks: dict[str, tuple[bool, str]] = {}
    checks_to_run: dict[str, Check] = {"data_dir": _data_dir, "chest_model": _chest_model, "store": _store}
    for name, check in checks_to_run.items():
        try:
            checks[name] = check(settings)
        except Exception as exc:  # noqa: BLE001 - a health check reports, it does not crash the probe
            checks[name] = (False, type(exc).__name__)
    return Health(all(ok for ok, _ in checks.values()), replica_name(), checks, round(time.perf_counter() - start, 4))


def main(argv: list[str] | None = None) -> int:
    """``python -m core.health``: print the report as JSON; exit 0 when ready, 1 when not."""
    del argv
    report = health()
    print(report.to_json())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
