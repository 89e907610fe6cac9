"""`make up` / `make down` / `make clean` as a user runs them, on private ports and a private state dir."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.integration.helpers import buy, new_userid, wait_listed
from tests.support.processes import ROOT, free_port, wait_until

pytestmark = pytest.mark.integration

PORT_NAMES = ("KAFKA", "KAFKA_CONTROLLER", "MONGO", "FACING", "API", "WORKER", "FRONTEND", "PROMETHEUS")


def platform(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "platform.sh"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    state = tmp_path_factory.mktemp("platform-state")
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUYLIST_")}
    env["BUYLIST_STATE"] = str(state)
    for name in PORT_NAMES:
        env[f"BUYLIST_LOCAL_{name}_PORT"] = str(free_port())
    try:
        yield env
    finally:
        platform(env, "down", timeout=120)


def url(env: dict[str, str], name: str) -> str:
    return f"http://127.0.0.1:{env[f'BUYLIST_LOCAL_{name}_PORT']}"


def supervised_pid(env: dict[str, str], program: str) -> int:
    out = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "supervisorctl"),
            "-c",
            f"{env['BUYLIST_STATE']}/supervisord.conf",
            "pid",
            program,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return int(out)


def test_up_serves_the_ui_and_the_pipeline_through_nginx(env: dict[str, str]):
    result = platform(env, "up")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert f"UI                        {url(env, 'FRONTEND')}" in result.stdout
    page = requests.get(url(env, "FRONTEND"), timeout=5)
    assert page.status_code == 200
    assert "User Buy List" in page.text
    api = f"{url(env, 'FRONTEND')}/api"
    userid = new_userid("up")
    assert buy(api, userid).status_code == 201
    wait_listed(api, userid, 1)
    assert requests.get(f"{url(env, 'PROMETHEUS')}/-/ready", timeout=5).status_code == 200
    status = platform(env, "status")
    assert "customer-facing              ready" in status.stdout


def test_the_supervisor_restarts_a_crashed_component(env: dict[str, str]):
    before = supervised_pid(env, "customer-management-worker")
    os.kill(before, signal.SIGKILL)
    wait_until(lambda: supervised_pid(env, "customer-management-worker") not in (0, before), 30, what="restart")
    wait_until(
        lambda: requests.get(f"{url(env, 'WORKER')}/ready", timeout=2).status_code == 200, 60, what="worker ready"
    )
    api = f"{url(env, 'FRONTEND')}/api"
    userid = new_userid("restart")
    assert buy(api, userid).status_code == 201
    wait_listed(api, userid, 1)


def test_data_survives_down_and_up_and_clean_wipes_it(env: dict[str, str]):
    api = f"{url(env, 'FRONTEND')}/api"
    userid = new_userid("durable")
    purchase = buy(api, userid).json()["purchase"]
    wait_listed(api, userid, 1)

    assert platform(env, "down").returncode == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(url(env, "FACING") + "/health", timeout=2)
    assert platform(env, "up").returncode == 0
    assert [p["id"] for p in wait_listed(api, userid, 1)] == [purchase["id"]]

    assert platform(env, "clean").returncode == 0
    assert not Path(env["BUYLIST_STATE"]).exists()


def test_a_taken_port_stops_up_with_a_message_naming_it(env: dict[str, str], tmp_path: Path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        clashing = {**env, "BUYLIST_LOCAL_FRONTEND_PORT": str(taken), "BUYLIST_STATE": str(tmp_path / "s")}
        result = platform(clashing, "up")
    assert result.returncode != 0
    assert f"user-buy-frontend needs port {taken}" in result.stderr
    platform(clashing, "down")


def test_missing_prerequisites_are_named_before_anything_is_installed(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "env", "dirname", "sha256sum", "cut", "cat", "mkdir", "id", "find", "printf"):
        found = shutil.which(tool)
        assert found, tool
        (bin_dir / tool).symlink_to(found)
    result = subprocess.run(
        [str(ROOT / "scripts" / "install.sh"), "all"],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path), "BUYLIST_CACHE": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    for named in ("python3", "curl", "java 17+", "mvn", "go 1.24+"):
        assert named in result.stderr
    assert not (tmp_path / "cache").exists()
