"""The storage layer: DRDC_DB_URL picks the engine (unset: local files, nothing imported or needed);
PostgreSQL through one pool per process; numbered migrations applied once, even when replicas start
together; translated errors for a bad URL or a missing driver; an unreachable server is an OSError."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import get_settings
from core.storage import (
    FILES,
    INSTALL_COMMAND,
    POSTGRESQL,
    StorageConfigError,
    StorageUnavailableError,
    engine,
    is_postgres,
    postgres,
)
from core.storage.migrations import Migration, MigrationError, apply_migrations, load_migrations

PROJECT = str(Path(__file__).resolve().parents[2])


def test_no_url_means_local_files_and_the_driver_is_never_imported() -> None:
    assert get_settings().db_url is None
    assert engine() == FILES and not is_postgres()
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from core import audit; from core.scalp import history; "
            "from core.storage import postgres; audit.record({'feature': 'chest', 'preset': 'p'}); "
            "history.HistoryStore().add('violet harbour 47 lantern', history.HistoryEntry('t', 'heuristic', 'v', {}, {}, {})); "
            "assert audit.count() == 1; print(sorted(m for m in sys.modules if m.startswith('psycopg')))")
    out = subprocess.run([sys.executable, "-c", code, PROJECT], capture_output=True, text=True, timeout=120,
                         check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("url", ["postgresql://u@h/db", "postgres://u:p@h:5432/db", " POSTGRESQL://h/db "])
def test_a_postgresql_url_selects_postgresql(url: str) -> None:
    assert engine(get_settings({"DRDC_DB_URL": url})) == POSTGRESQL


@pytest.mark.parametrize("url", ["mysql://h/db", "sqlite:///x.db", "board.sqlite3"])
def test_another_url_is_a_translated_configuration_error(url: str) -> None:
    with pytest.raises(StorageConfigError) as info:
        engine(get_settings({"DRDC_DB_URL": url}))
    assert info.value.key == "storage.error.bad_url"
    assert "postgresql://" in info.value.message("en") and "postgresql://" in info.value.message("ko")


def test_a_missing_driver_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRDC_DB_URL", "postgresql://127.0.0.1:1/none")
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    with pytest.raises(StorageConfigError) as info:
        postgres.pool()
    assert info.value.key == "storage.error.driver_missing"
    assert INSTALL_COMMAND in info.value.message("ko") and INSTALL_COMMAND in str(info.value)
    assert "requirements-postgres.txt" in INSTALL_COMMAND
    assert "psycopg" in (Path(PROJECT) / "requirements-postgres.txt").read_text()
    assert "psycopg" not in (Path(PROJECT) / "requirements.txt").read_text()  # make run installs nothing new


def test_an_unreachable_server_is_an_oserror(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("psycopg")
    monkeypatch.setattr(postgres, "POOL_TIMEOUT", 2.0)
    monkeypatch.setenv("DRDC_DB_URL", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    with pytest.raises(StorageUnavailableError) as info:
        with postgres.transaction():
            pass
    assert isinstance(info.value, OSError)
    assert postgres._POOLS == {}  # a failed pool is not kept: the next call tries again


def test_migration_files_are_numbered_once_each() -> None:
    found = load_migrations()
    assert [m.version for m in found] == list(range(1, len(found) + 1))
    assert {"audit", "app_secrets", "scalp_history"} <= {m.name for m in found}


def test_a_badly_named_or_doubled_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "0001_one.sql").write_text("SELECT 1;")
    (tmp_path / "0001_again.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="twice"):
        load_migrations(tmp_path)
    (tmp_path / "0001_again.sql").unlink()
    (tmp_path / "2_short.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_name"):
        load_migrations(tmp_path)


@pytest.fixture
def pg(storage_engine: str) -> str:
    if storage_engine != POSTGRESQL:
        pytest.skip("PostgreSQL only")
    return str(get_settings().db_url)


@pytest.mark.parametrize("storage_engine", ["postgresql"], indirect=True)
def test_the_pool_is_made_once_per_process_and_migrates_on_opening(pg: str) -> None:
    first = postgres.pool()
    assert postgres.pool() is first
    with postgres.transaction() as conn:
        rows = conn.execute("SELECT version, name, sha256 FROM schema_migrations ORDER BY version").fetchall()
        assert [(v, n, s) for v, n, s in rows] == [(m.version, m.name, m.sha256) for m in load_migrations()]
        assert conn.execute("SELECT n FROM audit_count").fetchone()[0] == 0
    with first.connection() as conn:
        assert apply_migrations(conn) == []  # already applied: nothing to do


@pytest.mark.parametrize("storage_engine", ["postgresql"], indirect=True)
def test_a_failing_migration_keeps_nothing_and_an_edited_one_is_refused(pg: str) -> None:
    import psycopg

    with psycopg.connect(pg) as conn:
        base = load_migrations()
        broken = [*base, Migration(len(base) + 1, "first", "CREATE TABLE kept_if_committed (x int);"),
                  Migration(len(base) + 2, "second", "SELEKT nonsense;")]
        with pytest.raises(psycopg.errors.SyntaxError):
            apply_migrations(conn, broken)
        assert conn.execute("SELECT to_regclass('kept_if_committed')").fetchone()[0] is None
        assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone()[0] is None  # one transaction
        apply_migrations(conn, base)
        edited = [Migration(1, base[0].name, base[0].sql + "\n-- edited")]
        with pytest.raises(MigrationError, match="changed"):
            apply_migrations(conn, edited)


_MIGRATOR = """
import sys, time
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from core.storage import postgres
while not Path(sys.argv[2]).exists():
    time.sleep(0.005)
with postgres.transaction() as conn:
    print(conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0])
"""


@pytest.mark.parametrize("storage_engine", ["postgresql"], indirect=True)
def test_replicas_starting_together_apply_each_migration_once(pg: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", _MIGRATOR, PROJECT, str(go)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    go.touch()
    outs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, [err for _, err in outs]
    assert {out.strip() for out, _ in outs} == {str(len(load_migrations()))}


@pytest.mark.parametrize("storage_engine", ["postgresql"], indirect=True)
def test_the_migrate_command_applies_and_lists(pg: str) -> None:
    run = [sys.executable, "-m", "core.storage"]
    first = subprocess.run([*run, "migrate"], capture_output=True, text=True, timeout=120, cwd=PROJECT, check=True)
    assert f"applied {len(load_migrations())} migration(s)" in first.stdout
    again = subprocess.run([*run, "migrate"], capture_output=True, text=True, timeout=120, cwd=PROJECT, check=True)
    assert "up to date" in again.stdout
    status = subprocess.run([*run, "status"], capture_output=True, text=True, timeout=120, cwd=PROJECT, check=True)
    assert "0001 audit:" in status.stdout and "not applied" not in status.stdout


def test_the_migrate_command_without_a_url_says_there_is_nothing_to_do() -> None:
    out = subprocess.run([sys.executable, "-m", "core.storage", "migrate"], capture_output=True, text=True,
                         timeout=120, cwd=PROJECT, check=False)
    assert out.returncode == 2 and "local files" in out.stderr
