"""Start real processes for tests: wait until ready, dump the log when they fail, always stop them."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
VENV_BIN = Path(os.environ.get("BUYLIST_VENV", ROOT / ".venv")) / "bin"


_handed_out: set[int] = set()


def _ephemeral_range() -> tuple[int, int]:
    """The kernel's range for outgoing connections' local ports (Linux's default when unreadable)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """Return a TCP port nobody listens on now and no outgoing connection will take before a server binds it.

    A port from `bind(0)` lies in the ephemeral range, so between this call and the server's bind any client
    connection (Kafka's own, a test's) may get it as its local port: CI once saw Kafka fail with "Address already
    in use" that way. So pick below (or above) that range, never the same port twice in one test run, and check
    that it binds.
    """
    low, high = _ephemeral_range()
    candidates = [*range(20000, min(low, 32768)), *range(high + 1, 65536)]
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        port = rng.choice(candidates)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free TCP port outside the ephemeral range {low}-{high}")


def port_open(port: int) -> bool:
    """Return whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(check: Callable[[], object], timeout: float, interval: float = 0.2, what: str = "condition") -> object:
    """Poll `check` until it returns something truthy; raise TimeoutError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - the check may fail until the thing is up
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not met within {timeout}s" + (f" (last error: {last_error})" if last_error else ""))


class Process:
    """One child process with its own log file, started in its own process group."""

    def __init__(self, name: str, argv: list[str], log_dir: Path, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.env = {**os.environ, **(env or {})}
        self.log_path = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        """Start the process (appending to its log)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=ROOT, start_new_session=True
        )
        log.close()
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def running(self) -> bool:
        """Return whether the process has not exited."""
        return self.popen is not None and self.popen.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        """Return the end of the process log."""
        if not self.log_path.exists():
            return "(no log)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def wait_ready(self, check: Callable[[], object], timeout: float = 60.0) -> None:
        """Wait until `check` passes; on failure raise with the log's tail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise RuntimeError(
                    f"{self.name} exited with {self.popen and self.popen.returncode}:\n{self.log_tail()}"
                )
            try:
                if check():
                    return
            except Exception:  # noqa: BLE001,S110 - not up yet
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready within {timeout}s:\n{self.log_tail()}")

    def signal(self, sig: signal.Signals) -> None:
        """Send a signal to the whole process group."""
        if self.running():
            os.killpg(self.pid, sig)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the group, then SIGKILL after `timeout`; return the exit code."""
        if self.popen is None:
            return None
        if self.running():
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait(10)
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL the group and reap it."""
        if self.popen is not None and self.running():
            self.signal(signal.SIGKILL)
            self.popen.wait(10)
