"""N app replicas (``serve.py``) and nginx in front of them, as plain processes on loopback ports: the
layout of compose.yaml without containers, to try a department set-up on one machine, and what the
replica tests and the load bench start.

    python -m deploy.local --replicas 2 [--db-url postgresql://...]   # prints the address; Ctrl-C stops
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from deploy.nginx import render

ROOT = Path(__file__).resolve().parents[1]


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    url: str  # nginx
    replicas: list[str]  # direct URLs, in order
    names: list[str]  # DRDC_REPLICA of each
    run_dir: Path

    def get(self, path: str, route: str | None = None, timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
        """GET ``path`` through nginx with the route cookie ``route``: status, headers, body."""
        request = urllib.request.Request(self.url + path, headers={"Cookie": f"drdc_route={route}"} if route else {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 - loopback
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def replica_of(self, route: str) -> str:
        """Which replica (its DRDC_REPLICA name) nginx sends the route cookie ``route`` to."""
        _status, _headers, body = self.get("/healthz", route)
        return json.loads(body)["replica"]

    def routes_per_replica(self) -> dict[str, str]:
        """One route cookie value for each replica."""
        found: dict[str, str] = {}
        for i in range(200):
            route = f"route-{i}"
            found.setdefault(self.replica_of(route), route)
            if len(found) == len(self.names):
                return found
        raise RuntimeError(f"no route reaches every replica: {found}")


def _wait(url: str, procs: list[subprocess.Popen[bytes]], timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a process exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer in time")


@contextlib.contextmanager
def cluster(root: Path, n: int = 2, env: dict[str, str] | None = None) -> Iterator[Cluster]:
    """N replicas (each with its own data folder under ``root``, plus ``env``: give them a shared
    ``DRDC_DB_URL`` to share a store) and nginx; stopped and their logs kept under ``root``."""
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx is not installed (apt-get install nginx-light)")
    procs: list[subprocess.Popen[bytes]] = []
    logs = []
    ports = [free_port() for _ in range(n)]
    names = [f"replica-{i + 1}" for i in range(n)]
    run_dir = root / "nginx"
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        for port, name in zip(ports, names, strict=True):
            data = root / name
            data.mkdir(parents=True, exist_ok=True)
            log = (root / f"{name}.log").open("wb")
            logs.append(log)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.address", "127.0.0.1",
                 "--server.port", str(port), "--server.fileWatcherType", "none"],
                cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, "DRDC_DATA_DIR": str(data), "DRDC_REPLICA": name,
                     "DRDC_ADMIN_SECRET": "replica-test-secret", "STREAMLIT_SERVER_HEADLESS": "true",
                     "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", **(env or {})},
            ))
        listen = free_port()
        upstreams = [f"127.0.0.1:{p}" for p in ports]
        conf = run_dir / "nginx.conf"
        conf.write_text(render(upstreams, f"127.0.0.1:{listen}", str(run_dir)), encoding="utf-8")
        nginx_log = (root / "nginx.log").open("wb")
        logs.append(nginx_log)
        procs.append(subprocess.Popen([binary, "-c", str(conf), "-e", str(run_dir / "error.log")],
                                      stdout=nginx_log, stderr=subprocess.STDOUT))
        for port in ports:
            _wait(f"http://127.0.0.1:{port}/healthz", procs)
        url = f"http://127.0.0.1:{listen}"
        _wait(url + "/healthz", procs)
        yield Cluster(url, [f"http://{u}" for u in upstreams], names, run_dir)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(prog="python -m deploy.local", description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--db-url", default=os.environ.get("DRDC_DB_URL"), help="shared store (default: none, "
                        "each replica keeps its own local files)")
    parser.add_argument("--root", type=Path, default=None, help="data folders and logs (default: a temporary folder)")
    args = parser.parse_args(argv)
    root = args.root or Path(tempfile.mkdtemp(prefix="drdc-local-"))
    env = {"DRDC_DB_URL": args.db_url} if args.db_url else {}
    with cluster(root, args.replicas, env) as running:
        print(f"{running.url}  (replicas: {', '.join(running.replicas)}; logs in {root})", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
