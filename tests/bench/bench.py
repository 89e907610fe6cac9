"""`make bench`: measure the running local platform and print markdown tables; JSON goes to reports/.

Measures, with `make up` running:
- sustained POST /buy throughput and p50/p95/p99 at a fixed concurrency (wrk, a C load generator, whose CPU is
  shown beside the services' so it is visibly not the bottleneck);
- the same with the worker stopped: the ingest path alone, on a broker serving no consumer, as the baseline runs;
- kafka-python alone producing the same events with acks=all at the same concurrency on the same broker, with the
  producer options customer-facing uses, and the ratio of each POST /buy run to it; the three runs go side by side in
  rounds (3 by default) so the ratios are taken between runs a minute apart at most;
- end-to-end freshness: from the 201 to the purchase being listed by GET, p50 and p99;
- the worker's persist rate while draining a backlog of 100,000 events;
- with that backlog stored: GET /getAllUserBuys latency (first page and the page after it) and freshness again, so
  the tables show whether reads stay fast as the store grows;
- `make up` warm and cold start (cold: empty project caches, venv and state);
- the resident memory of every component.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from pymongo import MongoClient

from buylist.common.schema import encode_event, new_event
from buylist.common.settings import load_settings
from buylist.customer_facing.publisher import producer_options

ROOT = Path(__file__).resolve().parents[2]
STATE = Path(os.environ.get("BUYLIST_STATE", ROOT / ".state"))
HERE = Path(__file__).parent
WRK = shutil.which("wrk") or "/usr/bin/wrk"
PROGRAMS = (
    "customer-facing",
    "customer-management-api",
    "customer-management-worker",
    "user-buy-frontend",
    "kafka",
    "ferretdb",
    "prometheus",
)


SUPERVISORD = "supervisord (collects the logs)"


def ctl(*args: str) -> str:
    """Run supervisorctl against the local platform."""
    return subprocess.run(
        [str(ROOT / ".venv/bin/supervisorctl"), "-c", str(STATE / "supervisord.conf"), *args],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()


def descendants(pid: int) -> list[int]:
    """Return a process and all its descendants."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        children = Path(f"/proc/{current}/task/{current}/children")
        if children.exists():
            todo += [int(c) for c in children.read_text().split()]
    return pids


def program_pids() -> dict[str, list[int]]:
    """Return each platform program's process and all its descendants, and supervisord itself."""
    result: dict[str, list[int]] = {}
    for name in PROGRAMS:
        out = ctl("pid", name)
        if out.isdigit() and out != "0":
            result[name] = descendants(int(out))
    # It reads every line the services log and writes it to .state/logs: a cost of running here, not of a service.
    pidfile = STATE / "supervisord.pid"
    if pidfile.exists() and pidfile.read_text().strip().isdigit():
        result[SUPERVISORD] = [int(pidfile.read_text().strip())]
    return result


def cpu_seconds(pids: list[int]) -> float:
    """Return user+system CPU seconds used so far by these processes."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def rss_mib(pids: list[int]) -> float:
    """Return the summed resident memory of these processes in MiB."""
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024


def percentile(values: list[float], pct: float) -> float:
    """Return the pct-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def bench_post(base: str, concurrency: int, seconds: int) -> dict[str, Any]:
    """Drive POST /buy with wrk and account CPU per process."""
    before = {name: cpu_seconds(pids) for name, pids in program_pids().items()}
    started = time.monotonic()
    wrk = subprocess.Popen(
        [
            WRK,
            f"-t{min(2, concurrency)}",
            f"-c{concurrency}",
            f"-d{seconds}s",
            "-s",
            str(HERE / "post.lua"),
            f"{base}/buy",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    wrk_cpu = 0.0
    while wrk.poll() is None:
        wrk_cpu = max(wrk_cpu, cpu_seconds([wrk.pid]))
        time.sleep(0.2)
    wall = time.monotonic() - started
    out = wrk.stdout.read() if wrk.stdout else ""
    summary = json.loads(out.split("BENCH ", 1)[1].splitlines()[0])
    after = {name: cpu_seconds(pids) for name, pids in program_pids().items()}
    cpu = {name: (after.get(name, 0.0) - before.get(name, 0.0)) / wall for name in before}
    cpu["wrk (load generator)"] = wrk_cpu / wall
    ok = summary["statuses"].get("201", 0)
    rate = ok / summary["seconds"]
    return {
        "concurrency": concurrency,
        "seconds": summary["seconds"],
        "requests": summary["requests"],
        "accepted_per_s": rate,
        "non_201": summary["requests"] - ok,
        "socket_errors": summary["socket_errors"],
        "p50_ms": summary["p50_ms"],
        "p95_ms": summary["p95_ms"],
        "p99_ms": summary["p99_ms"],
        "cpu_cores": {k: round(v, 2) for k, v in sorted(cpu.items(), key=lambda kv: -kv[1])},
        "cpu_ms_per_purchase": {k: round(v / max(rate, 1e-9) * 1000, 3) for k, v in cpu.items()},
    }


def bench_post_ingest_alone(base: str, concurrency: int, seconds: int) -> dict[str, Any]:
    """POST /buy with the worker stopped: the ingest path alone, on a broker serving no consumer, as the baseline."""
    ctl("stop", "customer-management-worker")
    try:
        return bench_post(base, concurrency, seconds)
    finally:
        ctl("start", "customer-management-worker")


def bench_kafka_python(bootstrap: str, concurrency: int, seconds: int) -> dict[str, Any]:
    """Produce the same events with kafka-python alone, acks=all, one send-and-wait per thread at a time."""
    topic = "bench-baseline"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    if topic not in admin.list_topics():
        admin.create_topics([NewTopic(topic, 12, 1)])
    admin.close()
    # The very options customer-facing publishes with (acks=all, idempotence, linger, no client-side metrics), so
    # the ratio compares the service with the same client doing nothing else.
    environ = {
        "BUYLIST_KAFKA_BOOTSTRAP": bootstrap,
        "BUYLIST_MONGODB_URI": "mongodb://127.0.0.1:1/",
        "BUYLIST_MANAGEMENT_URL": "http://127.0.0.1:1",
    }
    options = producer_options(load_settings("customer-facing", environ))
    producer = KafkaProducer(**{**options, "client_id": "bench-baseline"})
    producer.send(topic, b"warm-up").get(10)
    body = {"username": "bench", "userid": "bench-user", "price": 9.99}
    broker = program_pids().get("kafka", [])
    counts = [0] * concurrency
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def run(slot: int) -> None:
        local: list[float] = []
        while time.monotonic() < deadline:
            event = new_event(body)
            started = time.monotonic()
            # The headers customer-facing sends, so the broker stores the same bytes.
            headers = [
                ("schema-version", b"1"),
                ("purchase-id", event["id"].encode()),
                ("request-id", uuid.uuid4().hex.encode()),
                ("content-type", b"application/json"),
            ]
            producer.send(topic, encode_event(event), key=b"bench-user", headers=headers).get(10)
            local.append((time.monotonic() - started) * 1000)
            counts[slot] += 1
        latencies.extend(local)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(concurrency)]
    own_before, broker_before = time.process_time(), cpu_seconds(broker)
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    own, broker_cpu = time.process_time() - own_before, cpu_seconds(broker) - broker_before
    producer.close()
    acked = max(sum(counts), 1)
    return {
        "concurrency": concurrency,
        "acked_per_s": sum(counts) / wall,
        "cpu_ms_per_event": {"kafka-python (this process)": own / acked * 1000, "kafka": broker_cpu / acked * 1000},
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
    }


def bench_freshness(base: str, samples: int) -> dict[str, Any]:
    """Time from each 201 to the purchase appearing in GET /getAllUserBuys, one purchase at a time."""
    userid = f"fresh-{uuid.uuid4().hex[:8]}"
    session = requests.Session()
    delays: list[float] = []
    for n in range(samples):
        response = session.post(f"{base}/buy", json={"username": "fresh", "userid": userid, "price": n + 1}, timeout=10)
        response.raise_for_status()
        acked = time.monotonic()
        wanted = response.json()["purchase"]["id"]
        while True:
            listing = session.get(f"{base}/getAllUserBuys/{userid}", params={"limit": 1}, timeout=10)
            if listing.status_code != 200:
                raise SystemExit(f"GET /getAllUserBuys answered {listing.status_code}: {listing.text[:200]}")
            page = listing.json()
            if page and page[0]["id"] == wanted:
                break
            if time.monotonic() - acked > 30:
                raise TimeoutError(f"purchase {wanted} not visible after 30 s")
            time.sleep(0.002)
        delays.append((time.monotonic() - acked) * 1000)
    return {
        "samples": samples,
        "p50_ms": percentile(delays, 50),
        "p99_ms": percentile(delays, 99),
        "mean_ms": statistics.fmean(delays),
    }


def group_lag(bootstrap: str) -> int:
    """Return the purchase group's total lag on `purchases`."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        committed = admin.list_group_offsets("purchase-group")["purchase-group"]
        partitions = [TopicPartition("purchases", p) for p in consumer.partitions_for_topic("purchases") or ()]
        ends = consumer.end_offsets(partitions)
        return sum(end - (committed[tp].offset if tp in committed else 0) for tp, end in ends.items())
    finally:
        admin.close()
        consumer.close()


def bench_drain(bootstrap: str, events: int, userids: list[str]) -> dict[str, Any]:
    """Stop the worker, produce a backlog for `userids` straight onto the topic, restart it and time the drain."""
    ctl("stop", "customer-management-worker")
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, batch_size=256 * 1024, compression_type=None
    )
    produce_started = time.monotonic()
    for n in range(events):
        userid = userids[n % len(userids)]
        event = new_event({"username": "drain", "userid": userid, "price": 1.0})
        producer.send(
            "purchases",
            encode_event(event),
            key=userid.encode(),
            headers=[("schema-version", b"1"), ("purchase-id", event["id"].encode())],
        )
    producer.flush()
    producer.close()
    produce_seconds = time.monotonic() - produce_started
    backlog = group_lag(bootstrap)
    started = time.monotonic()
    ctl("start", "customer-management-worker")
    pids = program_pids().get("customer-management-worker", [])
    cpu_before = cpu_seconds(pids)
    while (lag := group_lag(bootstrap)) > 0:
        if time.monotonic() - started > 1800:
            raise TimeoutError(f"lag still {lag} after 30 min")
        time.sleep(1)
    seconds = time.monotonic() - started
    pids = program_pids().get("customer-management-worker", pids)
    return {
        "events": events,
        "users": len(userids),
        "backlog_at_start": backlog,
        "produce_seconds": produce_seconds,
        "drain_seconds": seconds,
        "persisted_per_s": backlog / seconds,
        "worker_cpu_cores": (cpu_seconds(pids) - cpu_before) / seconds,
        "ferretdb_cpu_note": "FerretDB (SQLite) shares the two cores",
    }


def bench_listing(base: str, userids: list[str], samples: int) -> dict[str, Any]:
    """Time GET /getAllUserBuys for users with hundreds of purchases: the first page, then the page after it.

    Every answer is timed; those other than 200 (a 503 when the store is too slow) are counted, not retried.
    """
    session = requests.Session()
    pages: dict[str, list[tuple[float, int]]] = {"first": [], "next": []}

    def get(page: str, url: str, **params: str) -> requests.Response:
        started = time.monotonic()
        response = session.get(url, params=params, timeout=30)
        pages[page].append(((time.monotonic() - started) * 1000, response.status_code))
        return response

    for n in range(samples):
        url = f"{base}/getAllUserBuys/{userids[n % len(userids)]}"
        response = get("first", url)
        if response.status_code != 200:
            continue
        cursor = response.headers.get("X-Next-Cursor")
        if cursor is None:
            raise SystemExit(f"{url} has a single page: {len(response.json())} purchases")
        get("next", url, cursor=cursor)
    result: dict[str, Any] = {"samples": samples}
    for page, answers in pages.items():
        times = [ms for ms, _ in answers]
        result[page] = {
            "reads": len(answers),
            "not_200": sum(status != 200 for _, status in answers),
            "p50_ms": percentile(times, 50) if times else None,
            "p99_ms": percentile(times, 99) if times else None,
        }
    return result


def listing_rows(listing: dict[str, Any]) -> list[str]:
    """Render bench_listing's result as markdown rows: page, reads, answers other than 200, p50, p99."""
    rows = []
    for page in ("first", "next"):
        got = listing[page]
        timing = "-- | --" if got["p50_ms"] is None else f"{got['p50_ms']:.1f} ms | {got['p99_ms']:.1f} ms"
        rows.append(f"| {page} page | {got['reads']} | {got['not_200']} | {timing} |")
    return rows


def listing_only(base: str, uri: str, samples: int) -> int:
    """Time the listing alone, for the users of the drain of an earlier `make bench` (to compare store versions)."""
    # Generous timeouts: on a store FerretDB cannot narrow, finding the users reads the whole collection.
    with MongoClient[dict[str, Any]](uri, serverSelectionTimeoutMS=30000, socketTimeoutMS=600000) as client:
        userids = sorted(client["buylist"]["purchases"].distinct("userid", {"username": "drain"}))[:200]
    if not userids:
        raise SystemExit("no drained users stored: run `make bench` once first")
    listing = bench_listing(base, userids, samples)
    print(f"| GET /getAllUserBuys; {stored_purchases(uri):,} stored | reads | not 200 | p50 | p99 |")
    print("|---|---|---|---|---|")
    print("\n".join(listing_rows(listing)))
    return 0


def stored_purchases(uri: str) -> int:
    """Return how many purchases the platform's database holds."""
    with MongoClient[dict[str, Any]](uri, serverSelectionTimeoutMS=5000) as client:
        return int(client["buylist"]["purchases"].estimated_document_count())


def timed(command: list[str], env: dict[str, str]) -> float:
    """Run a command and return its wall time, raising if it fails."""
    started = time.monotonic()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def bench_up() -> dict[str, Any]:
    """Time `make up` warm (caches, venv and data present) and cold (empty project caches, venv and state)."""
    env = dict(os.environ)
    subprocess.run([str(ROOT / "scripts/platform.sh"), "down"], check=True, stdout=subprocess.DEVNULL)
    warm = timed([str(ROOT / "scripts/platform.sh"), "up"], env)
    subprocess.run([str(ROOT / "scripts/platform.sh"), "down"], check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory(prefix="buylist-cold-") as tmp:
        cold_env = {
            **env,
            "BUYLIST_CACHE": f"{tmp}/cache",
            "BUYLIST_VENV": f"{tmp}/venv",
            "BUYLIST_STATE": f"{tmp}/state",
        }
        cold = timed([str(ROOT / "scripts/platform.sh"), "up"], cold_env)
        subprocess.run([str(ROOT / "scripts/platform.sh"), "down"], env=cold_env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(ROOT / "scripts/platform.sh"), "up"], check=True, stdout=subprocess.DEVNULL)
    return {
        "warm_seconds": warm,
        "cold_seconds": cold,
        "cold_means": "empty BUYLIST_CACHE, venv and state: Kafka jars fetched, FerretDB rebuilt, pip install; "
        "the machine's pip/Maven/Go download caches and Debian packages were present",
    }


def tables(result: dict[str, Any]) -> str:
    """Render the results as markdown."""
    post, base, fresh, drain = result["post"], result["kafka_python"], result["freshness"], result["drain"]
    alone = result["post_ingest_alone"]
    rounds = result["rounds"]
    listing, fresh_after = result["listing"], result["freshness_after_drain"]

    def span(key: str) -> str:
        values = [r[key] for r in rounds]
        return f"{min(values):.2f} to {max(values):.2f}"

    lines = [
        f"Machine: {result['machine']}; {result['when']}",
        "",
        f"Throughput rows: the round with the median full-pipeline ratio of {len(rounds)} rounds (each round runs "
        "the three back to back; every round is in the round table and the JSON).",
        "",
        "| measure | value |",
        "|---|---|",
        f"| POST /buy accepted/s (concurrency {post['concurrency']}, {post['seconds']:.0f} s, wrk) "
        f"| {post['accepted_per_s']:.0f} |",
        "| POST /buy latency p50 / p95 / p99 "
        f"| {post['p50_ms']:.1f} / {post['p95_ms']:.1f} / {post['p99_ms']:.1f} ms |",
        f"| POST /buy non-201 answers, socket errors | {post['non_201']}, {post['socket_errors']} |",
        f"| POST /buy accepted/s, the worker stopped (ingest alone, as the baseline) | {alone['accepted_per_s']:.0f} |",
        "| ... its latency p50 / p95 / p99 "
        f"| {alone['p50_ms']:.1f} / {alone['p95_ms']:.1f} / {alone['p99_ms']:.1f} ms |",
        f"| kafka-python alone, acks=all, same concurrency: acked/s | {base['acked_per_s']:.0f} |",
        f"| ... its latency p50 / p99 | {base['p50_ms']:.1f} / {base['p99_ms']:.1f} ms |",
        f"| ratio POST /buy ÷ kafka-python alone: full pipeline / ingest alone "
        f"| {post['accepted_per_s'] / base['acked_per_s']:.2f} / {alone['accepted_per_s'] / base['acked_per_s']:.2f} "
        f"(rounds: {span('ratio_full')} / {span('ratio_ingest_alone')}) |",
        f"| freshness 201 → listed, p50 / p99 ({fresh['samples']} purchases; {result['stored_at_start']:,} stored) "
        f"| {fresh['p50_ms']:.0f} / {fresh['p99_ms']:.0f} ms |",
        f"| worker persist rate draining {drain['backlog_at_start']:,} events "
        f"| {drain['persisted_per_s']:.0f} events/s ({drain['drain_seconds']:.0f} s) |",
        f"| freshness again, p50 / p99 ({fresh_after['samples']} purchases; {result['stored_after_drain']:,} stored) "
        f"| {fresh_after['p50_ms']:.0f} / {fresh_after['p99_ms']:.0f} ms |",
    ]
    if "up" in result:
        lines.append(
            f"| `make up` warm / cold | {result['up']['warm_seconds']:.0f} s / {result['up']['cold_seconds']:.0f} s |"
        )
    lines += [
        "",
        f"| GET /getAllUserBuys after the drain, users of {drain['events'] // drain['users']} "
        f"purchases; {result['stored_after_drain']:,} stored | reads | not 200 | p50 | p99 |",
        "|---|---|---|---|---|",
        *listing_rows(listing),
    ]
    lines += [
        "",
        "| CPU during the POST runs | cores | ms per purchase | ingest alone: ms per purchase |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {cores:.2f} | {post['cpu_ms_per_purchase'][name]:.2f} "
        f"| {alone['cpu_ms_per_purchase'].get(name, 0.0):.2f} |"
        for name, cores in post["cpu_cores"].items()
    ]
    lines += [
        "",
        "| round | POST /buy/s | worker stopped /s | kafka-python /s | ratio full / ingest alone |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {number} | {r['post']['accepted_per_s']:.0f} | {r['post_ingest_alone']['accepted_per_s']:.0f} "
        f"| {r['kafka_python']['acked_per_s']:.0f} | {r['ratio_full']:.2f} / {r['ratio_ingest_alone']:.2f} |"
        for number, r in enumerate(result["rounds"], 1)
    ]
    lines += ["", "| kafka-python alone: CPU | ms per event |", "|---|---|"]
    lines += [f"| {name} | {ms:.2f} |" for name, ms in base["cpu_ms_per_event"].items()]
    lines += ["", "| resident memory | MiB |", "|---|---|"]
    lines += [f"| {name} | {mib:.0f} |" for name, mib in result["rss_mib"].items()]
    return "\n".join(lines)


def main() -> int:
    """Run every measurement against the running platform."""
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--base", default="http://127.0.0.1:3000")
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=15, help="length of each POST and kafka-python run")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the three throughput runs, side by side")
    parser.add_argument("--freshness-samples", type=int, default=200)
    parser.add_argument("--drain-events", type=int, default=100_000)
    parser.add_argument("--listing-samples", type=int, default=200)
    parser.add_argument(
        "--mongodb",
        default=os.environ.get("BUYLIST_MONGODB_URI", "mongodb://127.0.0.1:27017/"),
        help="the platform's MongoDB: to count purchases, and to find the drained users for --listing-only",
    )
    parser.add_argument("--skip-up", action="store_true", help="skip the make up timings")
    parser.add_argument(
        "--listing-only", action="store_true", help="only time GET /getAllUserBuys for the users an earlier drain left"
    )
    args = parser.parse_args()
    if requests.get(f"{args.base}/ready", timeout=5).status_code != 200:
        raise SystemExit("the platform is not ready: run `make up` first")
    if args.listing_only:
        return listing_only(args.base, args.mongodb, args.listing_samples)

    result: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores, {platform.machine()}, {platform.platform()}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # Freshness first, with the store as it is; again after the drain has added its 100,000 purchases.
    result["stored_at_start"] = stored_purchases(args.mongodb)
    print(f"freshness ({result['stored_at_start']:,} purchases stored) ...", flush=True)
    result["freshness"] = bench_freshness(args.base, args.freshness_samples)
    # A broker fresh from `make up` runs interpreted until the JIT has compiled its hot paths: unwarmed, the first
    # run measured half the rate of a warm one. Warm it (and the services) before anything is timed.
    print("warming up: POST /buy for 10 s, not measured ...", flush=True)
    bench_post(args.base, args.concurrency, 10)
    # This VM's speed drifts by tens of percent from one minute to the next; a ratio of two runs minutes apart
    # measures the drift as much as the code. So each round runs the three side by side, the ratio is taken within
    # the round, and the tables show the round with the median full-pipeline ratio (every round is in the JSON).
    rounds = []
    for number in range(1, args.rounds + 1):
        print(
            f"round {number}/{args.rounds}: POST /buy, the same with the worker stopped, kafka-python alone ...",
            flush=True,
        )
        post = bench_post(args.base, args.concurrency, args.seconds)
        alone = bench_post_ingest_alone(args.base, args.concurrency, args.seconds)
        base = bench_kafka_python(args.bootstrap, args.concurrency, args.seconds)
        rounds.append(
            {
                "post": post,
                "post_ingest_alone": alone,
                "kafka_python": base,
                "ratio_full": post["accepted_per_s"] / base["acked_per_s"],
                "ratio_ingest_alone": alone["accepted_per_s"] / base["acked_per_s"],
            }
        )
    result["rounds"] = rounds
    median = sorted(rounds, key=lambda r: r["ratio_full"])[(len(rounds) - 1) // 2]
    result |= {key: median[key] for key in ("post", "post_ingest_alone", "kafka_python")}
    print(f"draining {args.drain_events:,} events ...", flush=True)
    drain_users = [f"drain-{uuid.uuid4().hex[:6]}-{i}" for i in range(200)]
    result["drain"] = bench_drain(args.bootstrap, args.drain_events, drain_users)
    result["stored_after_drain"] = stored_purchases(args.mongodb)
    print(f"listing and freshness with {result['stored_after_drain']:,} purchases stored ...", flush=True)
    result["listing"] = bench_listing(args.base, drain_users, args.listing_samples)
    result["freshness_after_drain"] = bench_freshness(args.base, args.freshness_samples)
    result["rss_mib"] = {name: round(rss_mib(pids), 1) for name, pids in program_pids().items()}
    result["rss_mib"]["total"] = round(sum(result["rss_mib"].values()), 1)
    if not args.skip_up:
        # Last: both timings restart the platform.
        print("timing make up (warm, then cold) ...", flush=True)
        result["up"] = bench_up()

    text = tables(result)
    print(text)
    reports = ROOT / "reports"
    reports.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (reports / f"bench-{stamp}.json").write_text(json.dumps(result, indent=2))
    (reports / f"bench-{stamp}.md").write_text(text + "\n")
    print(f"\nwritten: reports/bench-{stamp}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
