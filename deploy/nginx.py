"""Write the nginx configuration that puts N app replicas behind one address.

    python -m deploy.nginx --upstream 127.0.0.1:8601 --upstream 127.0.0.1:8602 --listen 127.0.0.1:8080 \\
        --run-dir /tmp/drdc-nginx > /tmp/drdc-nginx/nginx.conf
    nginx -c /tmp/drdc-nginx/nginx.conf

What Streamlit needs from a proxy, and how this file gives it:

* **WebSocket upgrade**: a session is one WebSocket (``/_stcore/stream``); ``Upgrade`` and
  ``Connection`` are passed on, HTTP/1.1 to the replicas, and the read timeout is an hour (a
  session idles while a doctor reads).
* **Sticky sessions**: a session's state, its uploads (``/_stcore/upload_file``, plain HTTP) and its
  media live in the replica that holds its WebSocket, so every request of one browser must reach the
  same replica. The first response sets a random ``drdc_route`` cookie; the upstream is chosen by a
  consistent hash of it (open-source nginx has no ``sticky`` directive). One shared office address
  (a hospital's NAT) still spreads over the replicas, which ``ip_hash`` would not.
* **Uploads**: ``client_max_body_size`` matches Streamlit's ``server.maxUploadSize`` (200 MB), and
  request bodies are streamed to the replica.
* Each response names the replica that served it (``X-DRDC-Upstream``), for operators and tests.

A replica that stops answering is taken out for ``fail_timeout``; its users' browsers reconnect to
another replica with a fresh session (results not yet exported are lost, as after a restart).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf.template")


def render(upstreams: list[str], listen: str = "8080", run_dir: str = "/tmp/drdc-nginx", *,
           daemon: bool = False, max_body_mb: int = 200, logs_to_console: bool = False) -> str:
    """The configuration text for ``upstreams`` (``host:port`` each). ``logs_to_console``: errors to
    stderr and requests to stdout (in a container), else files in ``run_dir``.

    Raises:
        ValueError: no upstream, or an upstream that is not ``host:port``.
    """
    if not upstreams:
        raise ValueError("at least one upstream (host:port) is needed")
    for up in upstreams:
        host, _, port = up.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"upstream {up!r} is not host:port")
    servers = "\n".join(f"        server {up} max_fails=1 fail_timeout=10s;" for up in upstreams)
    run = run_dir.rstrip("/")
    text = TEMPLATE.read_text(encoding="utf-8")
    values = {"SERVERS": servers, "LISTEN": listen, "RUN_DIR": run, "DAEMON": "on" if daemon else "off",
              "MAX_BODY_MB": str(max_body_mb), "ERROR_LOG": "/dev/stderr" if logs_to_console else f"{run}/error.log",
              "ACCESS_LOG": "/dev/stdout" if logs_to_console else f"{run}/access.log"}
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.nginx", description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", action="append", required=True, help="host:port of one replica (repeat)")
    parser.add_argument("--listen", default="8080", help="nginx listen address (default 8080)")
    parser.add_argument("--run-dir", default="/tmp/drdc-nginx", help="pid, logs and temporary files")
    parser.add_argument("--daemon", action="store_true", help="let nginx go to the background")
    parser.add_argument("--console-logs", action="store_true", help="log to stderr/stdout (containers)")
    args = parser.parse_args(argv)
    sys.stdout.write(render(args.upstream, args.listen, args.run_dir, daemon=args.daemon,
                            logs_to_console=args.console_logs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
