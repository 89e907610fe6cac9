"""Continuous purchase load with faults injected on a schedule, and the exactly-once accounting after it.

Every logical purchase has its own Idempotency-Key and a username equal to that key. A client retries the
same key after a 503, a 409 or a broken connection, as a careful client would. Afterwards MongoDB is read:

- accepted: keys that got a 201;
- stored: accepted keys with exactly one stored purchase carrying the 201's id;
- lost: accepted keys with no stored purchase;
- duplicated: keys with more than one stored purchase;
- orphaned: stored purchases whose client gave up before a 201 (a retry with the key would return them).

Run standalone (`make chaos`) for the long version: python -m tests.support.chaos --scale 5
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from tests.support.processes import ROOT, wait_until
from tests.support.stack import Stack


@dataclass
class Outcome:
    """The accounting of one chaos run."""

    faults: list[str] = field(default_factory=list)
    attempts: int = 0
    responses: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    orphaned: int = 0
    seconds: float = 0.0

    def table(self) -> str:
        rows = [
            ("faults injected", ", ".join(self.faults)),
            ("HTTP attempts", str(self.attempts)),
            ("responses", ", ".join(f"{k}: {v}" for k, v in sorted(self.responses.items()))),
            ("accepted (201)", str(self.accepted)),
            ("stored exactly once", str(self.stored)),
            ("lost", str(self.lost)),
            ("duplicated", str(self.duplicated)),
            ("stored without a 201 (client gave up)", str(self.orphaned)),
            ("duration", f"{self.seconds:.0f} s"),
        ]
        width = max(len(r[0]) for r in rows)
        lines = ["| measure | value |", "|---|---|"]
        lines += [f"| {name.ljust(width)} | {value} |" for name, value in rows]
        return "\n".join(lines)


class Load:
    """Client threads buying continuously, each purchase retried under its key until it gets a 201."""

    def __init__(self, base: str, userid: str, threads: int = 8, give_up_s: float = 60.0) -> None:
        self.base, self.userid, self.threads, self.give_up_s = base, userid, threads, give_up_s
        self.accepted: dict[str, str] = {}
        self.attempts = 0
        self.responses: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def _purchase(self, session: requests.Session) -> None:
        key = uuid.uuid4().hex
        body = {"username": key, "userid": self.userid, "price": 1.5}
        deadline = time.monotonic() + self.give_up_s
        while time.monotonic() < deadline:
            wait = 0.2
            try:
                response = session.post(f"{self.base}/buy", json=body, headers={"Idempotency-Key": key}, timeout=10)
                outcome = str(response.status_code)
                if response.status_code == 201:
                    with self._lock:
                        self.attempts += 1
                        self.responses[outcome] += 1
                        self.accepted[key] = response.json()["purchase"]["id"]
                    return
                wait = min(float(response.headers.get("Retry-After", "0.2")), 2.0)
            except requests.RequestException as exc:
                outcome = type(exc).__name__
            with self._lock:
                self.attempts += 1
                self.responses[outcome] += 1
            time.sleep(wait)

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            self._purchase(session)

    def start(self) -> Load:
        for worker in self._workers:
            worker.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join()

    def wait_for(self, count: int) -> None:
        # Generous: the budget is for a stuck pipeline, not a slow machine (at least 5 purchases/s).
        timeout = max(180.0, (count - len(self.accepted)) / 5)
        wait_until(lambda: len(self.accepted) >= count, timeout, interval=0.5, what=f"{count} purchases accepted")


def gunicorn_workers(master_pid: int) -> list[int]:
    """Return the pids of a gunicorn master's worker processes."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text()
    return [int(pid) for pid in children.split()]


def run_chaos(stack: Stack, scale: int = 1) -> Outcome:
    """Drive load through a schedule of SIGKILLs and account for every purchase."""
    s, started = stack.services, time.monotonic()
    outcome = Outcome()
    userid = f"chaos-{uuid.uuid4().hex[:10]}"
    load = Load(s.facing_url, userid).start()
    step = 300 * scale
    target = 0

    def after(count: int, fault: str | None) -> None:
        nonlocal target
        target += count
        load.wait_for(target)
        if fault:
            outcome.faults.append(fault)

    try:
        after(step, "SIGKILL worker")
        s.processes["customer-management-worker"].kill()
        time.sleep(2)
        s.start_component("customer-management-worker")

        after(step, "SIGKILL Kafka")
        assert stack.kafka.process is not None
        stack.kafka.process.kill()
        time.sleep(2)
        stack.kafka.start()

        after(step, "SIGKILL FerretDB")
        assert stack.mongo.process is not None
        stack.mongo.process.kill()
        time.sleep(2)
        stack.mongo.start()

        after(step, "SIGKILL a gunicorn worker of customer-facing")
        victims = gunicorn_workers(s.processes["customer-facing"].pid)
        assert victims, "customer-facing has no gunicorn workers"
        os.kill(victims[0], signal.SIGKILL)

        after(step, "SIGKILL worker again")
        s.processes["customer-management-worker"].kill()
        time.sleep(2)
        s.start_component("customer-management-worker")

        after(step * 2, None)  # keep the load going while everything recovers
    finally:
        load.stop()

    accepted = dict(load.accepted)

    def stored_docs() -> list[dict[str, Any]]:
        return stack.mongo.purchases(s.database, userid=userid)

    def all_stored() -> bool:
        names = {doc["username"] for doc in stored_docs()}
        return all(key in names for key in accepted)

    with contextlib.suppress(TimeoutError):  # what is missing then is reported as lost
        wait_until(all_stored, 180, interval=1, what="every accepted purchase stored")
    docs = stored_docs()
    by_key: dict[str, list[str]] = {}
    for doc in docs:
        by_key.setdefault(doc["username"], []).append(doc["_id"])
    outcome.attempts = load.attempts
    outcome.responses = dict(load.responses)
    outcome.accepted = len(accepted)
    outcome.stored = sum(1 for key, pid in accepted.items() if by_key.get(key) == [pid])
    outcome.lost = sum(1 for key in accepted if key not in by_key)
    outcome.duplicated = sum(1 for ids in by_key.values() if len(ids) > 1)
    outcome.orphaned = sum(1 for key in by_key if key not in accepted)
    outcome.seconds = time.monotonic() - started
    return outcome


def main() -> int:
    """Run a chaos round on a private stack and print the table (the long version of the faults tier)."""
    parser = argparse.ArgumentParser(prog="python -m tests.support.chaos")
    parser.add_argument("--scale", type=int, default=5, help="purchases between faults = 300 x scale")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="buylist-chaos-") as tmp:
        stack = Stack.start(Path(tmp))
        try:
            outcome = run_chaos(stack, args.scale)
        finally:
            stack.stop()
    print(outcome.table())
    reports = ROOT / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "chaos.json").write_text(json.dumps(asdict(outcome), indent=2))
    print(f"written: {reports / 'chaos.json'}")
    return 0 if outcome.lost == outcome.duplicated == 0 and outcome.stored == outcome.accepted else 1


if __name__ == "__main__":
    raise SystemExit(main())
