"""A Locust master and worker as the chart runs them, behind nginx at a sub-path as the chart's Ingress routes it."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.processes import ROOT, VENV_BIN, Process, free_port

# What the chart mounts from its ConfigMap: charts/buylist/files/loadtests/*.py, symlinks to loadtests/.
CHART_LOADTESTS = ROOT / "charts" / "buylist" / "files" / "loadtests"


def copy_chart_loadtests(target: Path) -> Path:
    """Copy the files the chart mounts (links followed) into `target`, alone, as the pod sees them; return it."""
    target.mkdir(parents=True, exist_ok=True)
    for source in sorted(CHART_LOADTESTS.glob("*.py")):
        shutil.copyfile(source, target / source.name)
    return target


def _answers(url: str) -> bool:
    return requests.get(url, timeout=2).status_code == 200


@dataclass
class LocustMaster:
    """`locust --master` with the chart's arguments (plus loopback-only binds) and the locustfile's variables."""

    root: Path
    loadtests: Path
    base_path: str
    target_host: str
    profile: str = "smoke"
    web_port: int = field(default_factory=free_port)
    bind_port: int = field(default_factory=free_port)
    process: Process | None = None
    workers: list[Process] = field(default_factory=list)

    @property
    def url(self) -> str:
        """Return the UI's address straight at the master, as a port-forward reaches it."""
        return f"http://127.0.0.1:{self.web_port}"

    def env(self) -> dict[str, str]:
        """Return what the chart's locust ConfigMap sets."""
        return {
            "BUYLIST_LOAD_HOST": self.target_host,
            "LOCUST_LOAD_PROFILE": self.profile,
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    def start(self) -> LocustMaster:
        """Start the master and wait until its UI answers under the base path."""
        args = [
            f"--locustfile={self.loadtests / 'locustfile.py'}",
            "--master",
            f"--master-bind-port={self.bind_port}",
            f"--web-port={self.web_port}",
            f"--web-base-path={self.base_path}",
            "--master-bind-host=127.0.0.1",
            "--web-host=127.0.0.1",
        ]
        self.process = Process("locust-master", [str(VENV_BIN / "locust"), *args], self.root, self.env()).start()
        self.process.wait_ready(lambda: _answers(f"{self.url}{self.base_path}/"), timeout=60)
        return self

    def stop(self) -> None:
        """Stop the workers, then the master (each SIGTERM, then SIGKILL)."""
        for process in [*self.workers, self.process]:
            if process is not None:
                process.stop(timeout=15)

    def start_worker(self) -> Process:
        """Start one worker the way the chart's worker Deployment does and wait until the master counts it."""
        args = [
            f"--locustfile={self.loadtests / 'locustfile.py'}",
            "--worker",
            "--master-host=127.0.0.1",
            f"--master-port={self.bind_port}",
        ]
        worker = Process("locust-worker", [str(VENV_BIN / "locust"), *args], self.root, self.env()).start()
        self.workers.append(worker)
        count_url = f"{self.url}{self.base_path}/worker-count"
        worker.wait_ready(lambda: requests.get(count_url, timeout=2).json()["worker_count"] >= 1, timeout=60)
        return worker


@dataclass
class SubPathProxy:
    """nginx routing `<base_path>` and everything below it to the master unchanged, like a `Prefix` Ingress path."""

    root: Path
    master: LocustMaster
    port: int = field(default_factory=free_port)
    process: Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def config(self) -> str:
        """Return nginx.conf: no rewrite, the Host header kept and Location headers untouched (ingress-nginx's
        defaults: proxy_redirect is off there), nothing else served."""
        state = self.root / "nginx"
        upstream = f"http://127.0.0.1:{self.master.web_port}"
        base = self.master.base_path
        # As root, nginx's workers would drop to `nobody`; stay the invoking user like scripts/run-frontend.sh.
        user_line = "user root;" if os.geteuid() == 0 else ""
        forward = f"proxy_pass {upstream}; proxy_set_header Host $http_host; proxy_redirect off;"
        return f"""{user_line}
worker_processes 1;
pid "{state}/nginx.pid";
error_log stderr warn;
events {{ worker_connections 64; }}
http {{
    access_log /dev/stdout;
    client_body_temp_path "{state}/client_body";
    proxy_temp_path "{state}/proxy";
    fastcgi_temp_path "{state}/fastcgi";
    uwsgi_temp_path "{state}/uwsgi";
    scgi_temp_path "{state}/scgi";
    server {{
        listen 127.0.0.1:{self.port};
        location = {base} {{ {forward} }}
        location {base}/ {{ {forward} }}
        location / {{ return 404; }}
    }}
}}
"""

    def stop(self) -> None:
        """Stop nginx."""
        if self.process is not None:
            self.process.stop(timeout=15)

    def start(self) -> SubPathProxy:
        """Start nginx in the foreground and wait until the UI answers through it."""
        state = self.root / "nginx"
        state.mkdir(parents=True, exist_ok=True)
        conf = state / "nginx.conf"
        conf.write_text(self.config())
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        argv = [nginx, "-p", f"{state}/", "-e", "stderr", "-c", str(conf), "-g", "daemon off;"]
        self.process = Process("nginx-locust", argv, self.root).start()
        self.process.wait_ready(lambda: _answers(f"{self.url}{self.master.base_path}/"), timeout=30)
        return self
