"""The proxy configuration (deploy/nginx.py): nginx accepts it, and it gives Streamlit what it needs."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deploy.local import nginx_binary
from deploy.nginx import main, render


def test_the_configuration_routes_sticky_and_upgrades_websockets() -> None:
    text = render(["127.0.0.1:8601", "10.0.0.2:8501"], "8080", "/run/x")
    assert "server 127.0.0.1:8601 " in text and "server 10.0.0.2:8501 " in text
    assert "hash $drdc_route consistent;" in text and "$cookie_drdc_route" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text and "proxy_http_version 1.1;" in text
    assert "client_max_body_size 200m;" in text and "{{" not in text


@pytest.mark.parametrize("bad", [[], ["localhost"], ["host:port"]])
def test_a_bad_upstream_is_refused(bad: list[str]) -> None:
    with pytest.raises(ValueError):
        render(bad)


def test_nginx_itself_accepts_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run installs it)")
    assert main(["--upstream", "127.0.0.1:1", "--upstream", "127.0.0.1:2", "--listen", "127.0.0.1:18080",
                 "--run-dir", str(tmp_path)]) == 0
    conf = tmp_path / "nginx.conf"
    conf.write_text(capsys.readouterr().out, encoding="utf-8")
    done = subprocess.run([binary, "-t", "-c", str(conf), "-e", str(tmp_path / "error.log")],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
