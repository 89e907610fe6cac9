"""`buylist <component>`: run one component, the web ones under gunicorn."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Any

from buylist.common.settings import COMPONENTS, Settings, SettingsError, load_settings

USAGE = f"usage: buylist {{{','.join(COMPONENTS)}}}"


def _prepare_metrics_dir() -> None:
    """Give gunicorn's workers an empty directory to share metrics through, before prometheus_client loads."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(prefix="buylist-metrics-")
    os.makedirs(path, exist_ok=True)
    for entry in os.listdir(path):
        target = os.path.join(path, entry)
        if os.path.isdir(target):
            shutil.rmtree(target)
        else:
            os.remove(target)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path


def gunicorn_options(settings: Settings) -> dict[str, Any]:
    """Return gunicorn's configuration for a web component."""
    from buylist import gunicorn_hooks

    return {
        "bind": f"0.0.0.0:{settings.http_port}",
        "workers": settings.web_workers,
        "worker_class": settings.web_worker_class,
        "threads": settings.web_threads,
        "worker_connections": settings.web_worker_connections,
        # A request never waits longer than the Kafka or MongoDB budget; 30 s only catches a hang.
        "timeout": 30,
        "graceful_timeout": 20,
        "keepalive": 5,
        # gunicorn's maximum; longer request lines get a JSON 414 (see gunicorn_hooks.use_json_error_pages).
        "limit_request_line": 8190,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": settings.log_level.lower(),
        "proc_name": settings.component,
        "post_fork": gunicorn_hooks.post_fork_setting(settings.gil_switch_interval_s),
        "child_exit": gunicorn_hooks.child_exit,
        "worker_exit": gunicorn_hooks.worker_exit,
        "worker_tmp_dir": os.environ.get("BUYLIST_GUNICORN_TMP_DIR") or None,
        "control_socket_disable": True,
        # Each worker listens on its own SO_REUSEPORT socket and the kernel spreads new connections over them.
        # On one shared socket the first worker to wake accepts a burst of keep-alive connections: 16 from wrk
        # landed 16/0 or 13/3, and the rate swung between 525 and 1221 req/s (tests/bench/ab.py).
        "reuse_port": True,
    }


def run_web(settings: Settings) -> None:
    """Serve a web component with gunicorn; each worker builds its own app after the fork."""
    from gunicorn.app.base import BaseApplication

    from buylist import gunicorn_hooks

    gunicorn_hooks.use_json_error_pages()

    class Application(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
        def load_config(self) -> None:
            for key, value in gunicorn_options(settings).items():
                if value is not None and key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> Any:
            # Imported in the worker, after the fork: a gevent worker patches the standard library first.
            if settings.component == "customer-facing":
                from buylist.customer_facing import create_app
            else:
                from buylist.customer_management.api import create_app
            return create_app(settings)

    Application().run()


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `buylist` command."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in COMPONENTS:
        print(USAGE, file=sys.stderr)
        return 2
    component = args[0]
    if component == "customer-management-worker":
        from buylist.customer_management.worker.__main__ import main as worker_main

        return worker_main()
    _prepare_metrics_dir()
    try:
        settings = load_settings(component)
    except SettingsError as exc:
        print(f"{component}: configuration error: {exc}", file=sys.stderr)
        return 2
    run_web(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
