"""The container files (Dockerfile, compose.yaml, deploy/nginx.compose.conf) stay in step with the code:
no Docker daemon runs on the build machines, so these check what can be checked without one."""

from __future__ import annotations

import yaml

from core.settings import PROJECT_ROOT
from deploy.nginx import render


def test_the_compose_proxy_file_is_what_deploy_nginx_renders() -> None:
    committed = (PROJECT_ROOT / "deploy" / "nginx.compose.conf").read_text(encoding="utf-8").splitlines()
    made = render(["app1:8501", "app2:8501"], "80", "/tmp", logs_to_console=True).splitlines()
    assert committed[1:] == made[1:]  # the first line names the command that made it


def test_compose_runs_two_replicas_on_one_postgres_behind_nginx() -> None:
    compose = yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {"postgres", "app1", "app2", "nginx"} <= set(services)
    for name in ("app1", "app2"):
        env = services[name]["environment"]
        assert env["DRDC_DB_URL"].startswith("postgresql://") and "@postgres:5432/" in env["DRDC_DB_URL"]
        assert env["DRDC_REPLICA"] == name
        assert "models:/models:ro" in services[name]["volumes"]
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "./deploy/nginx.compose.conf:/etc/nginx/drdc.conf:ro" in services["nginx"]["volumes"]
    assert "server app1:8501" in (PROJECT_ROOT / "deploy" / "nginx.compose.conf").read_text(encoding="utf-8")


def test_the_image_serves_the_health_route_and_copies_files_that_exist() -> None:
    text = (PROJECT_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert '"serve.py"' in text and "/healthz" in text and "download.pytorch.org/whl/cpu" in text
    for line in text.splitlines():
        if line.startswith("COPY ") and not line.startswith("COPY . "):
            for name in line.split()[1:-1]:
                assert (PROJECT_ROOT / name).is_file(), name
    pins = (PROJECT_ROOT / "requirements.txt").read_text(encoding="utf-8")
    for pin in ("torch==2.14.1", "torchvision==0.29.1"):
        assert pin in pins and pin in text  # the image installs the same torch as everyone else
