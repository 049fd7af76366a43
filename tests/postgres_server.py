"""A PostgreSQL server for the tests of the PostgreSQL storage engine (``tests/conftest.py``).

``DRDC_TEST_PG_URL`` (a server the tests may create a database on) is used when set. Otherwise a
throwaway cluster is started from the installed binaries (``initdb``/``pg_ctl`` on ``PATH`` or
Debian's ``/usr/lib/postgresql/<version>/bin``) in a temporary folder: trust authentication,
listening on a free port of 127.0.0.1 and on a socket in that folder, fsync off. PostgreSQL refuses
to run as root, so as root (CI) the folder is given to the ``postgres`` user and the binaries run
as that user (``runuser``). The cluster is stopped and removed when the session ends. No binaries
or no driver: the PostgreSQL cases skip, saying why.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from core.storage import postgres

SERVICE_USER = "postgres"


def find_binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl`` (the newest Debian version when several), or None."""
    on_path = shutil.which("initdb")
    candidates = [Path(on_path).resolve().parent] if on_path else []
    versions = glob.glob("/usr/lib/postgresql/*/bin")
    candidates += sorted((Path(v) for v in versions), key=lambda p: _version(p.parent.name), reverse=True)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _with_path(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


def fresh_schema_url(url: str) -> str:
    """``url`` with a new empty schema of its database first on the search path (one per test)."""
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return url + ("&" if "?" in url else "?") + "options=" + quote(f"-csearch_path={schema}")


class Cluster:
    """A throwaway cluster in ``folder`` (see the module notes)."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.folder = Path(tempfile.mkdtemp(prefix="drdc-pg-"))
        self.data, self.sockets, self.log = self.folder / "data", self.folder / "sockets", self.folder / "server.log"
        self.port = _free_port()
        self.as_service_user = os.geteuid() == 0

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.binaries / args[0]), *args[1:]]
        if self.as_service_user:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> str:
        """Initialise and start the cluster; return the URL of its ``postgres`` database.

        Raises:
            RuntimeError: initdb or pg_ctl failed (the message holds their output and the server log).
        """
        self.sockets.mkdir()
        if self.as_service_user:
            shutil.chown(self.folder, SERVICE_USER)
            shutil.chown(self.sockets, SERVICE_USER)
        init = self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                         "--locale=C", "--no-sync")
        if init.returncode:
            raise RuntimeError(f"initdb failed: {init.stdout}{init.stderr}")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockets} -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        start = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options,
                          "start")
        if start.returncode:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {start.stdout}{start.stderr}\n{log}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        """Stop the server (immediately: it holds only test data) and remove its folder."""
        if self.data.is_dir():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    @classmethod
    @contextlib.contextmanager
    def for_session(cls) -> Iterator[str]:
        """The URL of a new database for this test session, dropped (or its cluster removed) after.

        Raises:
            pytest.skip.Exception: no driver, or no server URL and no binaries to start one.
            RuntimeError: the binaries are there but the cluster did not start.
        """
        try:
            import psycopg
        except ImportError:
            pytest.skip("PostgreSQL cases need psycopg: pip install -r requirements-dev.txt")
        given = os.environ.get("DRDC_TEST_PG_URL")
        cluster = None
        if given:
            server = given
        else:
            binaries = find_binaries()
            if binaries is None:
                pytest.skip("PostgreSQL cases need a server: set DRDC_TEST_PG_URL, or install PostgreSQL "
                            "(initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin; Debian: apt-get install postgresql)")
            if os.geteuid() == 0 and shutil.which("runuser") is None:
                pytest.skip("running as root needs runuser to start PostgreSQL as the postgres user")
            cluster = cls(binaries)
        try:
            if cluster is not None:
                server = cluster.start()
            dbname = "drdc_test_" + uuid.uuid4().hex[:8]
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f"CREATE DATABASE {dbname}")
            try:
                yield _with_path(server, dbname)
            finally:
                postgres.close_pools()
                with psycopg.connect(server, autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
        finally:
            if cluster is not None:
                cluster.stop()
