"""Bench rows for the Python client, run by test/bench/clients.ts against the bench's bridge and page.

Measures, in alternating rounds so drift on a noisy machine hits each alike:
  raw       a keep-alive http.client loop sending the same JSON and reading the result
  client    pagecall.Bridge.call, one call at a time
  urllib    urllib.request (a new connection per call, as the README used to show)
  threads   THREADS threads sharing one Bridge
  raw-threads  THREADS threads, each with its own raw keep-alive connection
Prints one JSON object: {name: {"callsPerSecond": median, "p50Ms": median, "rounds": [...]}}.
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "clients" / "python" / "src"))

import pagecall  # noqa: E402

ARG = "hello, page"


def timed(loop, seconds: float):
    """Runs `loop(deadline, latencies)`; returns (calls per second, p50 ms)."""
    latencies: list = []
    started = time.perf_counter()
    loop(started + seconds, latencies)
    elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, statistics.median(latencies) * 1000 if latencies else float("nan")


def raw_loop(url: str, call: dict):
    parts = urlsplit(url)

    def loop(deadline: float, latencies: list) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port)
        headers = {"content-type": "application/json"}
        while True:
            t0 = time.perf_counter()
            if t0 >= deadline:
                break
            # What a hand-written caller does per call: encode the body, send it, parse the answer.
            conn.request("POST", "/v1/call", json.dumps(call).encode(), headers)
            response = conn.getresponse()
            result = json.loads(response.read())["result"]
            latencies.append(time.perf_counter() - t0)
            assert result == ARG
        conn.close()

    return loop


def client_loop(bridge: pagecall.Bridge, group: str, action: str):
    def loop(deadline: float, latencies: list) -> None:
        while True:
            t0 = time.perf_counter()
            if t0 >= deadline:
                break
            result = bridge.call(group, action, ARG)
            latencies.append(time.perf_counter() - t0)
            assert result == ARG

    return loop


def urllib_loop(url: str, call: dict):
    def loop(deadline: float, latencies: list) -> None:
        while True:
            t0 = time.perf_counter()
            if t0 >= deadline:
                break
            request = urllib.request.Request(url + "/v1/call", data=json.dumps(call).encode(), headers={"content-type": "application/json"}, method="POST")
            with urllib.request.urlopen(request) as response:
                result = json.load(response)["result"]
            latencies.append(time.perf_counter() - t0)
            assert result == ARG

    return loop


def threaded(make_loop, threads: int):
    """Runs `threads` copies of a loop at once; latencies of all threads together."""

    def loop(deadline: float, latencies: list) -> None:
        per_thread = [[] for _ in range(threads)]
        workers = [threading.Thread(target=make_loop(), args=(deadline, per_thread[i])) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        for part in per_thread:
            latencies.extend(part)

    return loop


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--group", default="bench")
    parser.add_argument("--action", default="echo")
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=16)
    options = parser.parse_args()

    # The bench page's echo returns its first argument.
    call = {"group": options.group, "action": options.action, "args": [ARG]}
    bridge = pagecall.Bridge(options.url, pool_size=options.threads)
    assert bridge.call(options.group, options.action, ARG) == ARG
    loops = {
        "raw": raw_loop(options.url, call),
        "client": client_loop(bridge, options.group, options.action),
        "urllib": urllib_loop(options.url, call),
        "threads": threaded(lambda: client_loop(bridge, options.group, options.action), options.threads),
        "raw-threads": threaded(lambda: raw_loop(options.url, call), options.threads),
    }
    rounds = {name: [] for name in loops}
    for name, loop in loops.items():
        timed(loop, 0.5)  # warm-up: connections open, code paths hot
    for _ in range(options.rounds):
        for name, loop in loops.items():
            rounds[name].append(timed(loop, options.seconds))
    out = {
        name: {
            "callsPerSecond": statistics.median(r[0] for r in measured),
            "p50Ms": statistics.median(r[1] for r in measured),
            "rounds": [round(r[0]) for r in measured],
        }
        for name, measured in rounds.items()
    }
    out["python"] = sys.version.split()[0]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
