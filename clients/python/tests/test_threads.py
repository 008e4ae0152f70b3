"""One Bridge shared by many threads: every thread gets its own answers, over a few reused connections."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import pagecall
from pagecall import bridge as bridge_module

THREADS = 16
CALLS = 40


@pytest.fixture()
def opened(monkeypatch: pytest.MonkeyPatch):
    """Counts the TCP connections the client opens."""
    count = {"n": 0}
    lock = threading.Lock()
    original = bridge_module._Connection.connect

    def connect(self) -> None:
        with lock:
            count["n"] += 1
        original(self)

    monkeypatch.setattr(bridge_module._Connection, "connect", connect)
    return count


def test_sixteen_threads_share_one_bridge_and_each_gets_its_own_results(pages, opened) -> None:
    with pagecall.Bridge(pages.url("main"), pages.token("main"), pool_size=THREADS) as shared:
        start = threading.Barrier(THREADS)

        def work(worker: int) -> list:
            start.wait()
            return [shared.call("py", "echo", worker, i, bytes([worker, i])) for i in range(CALLS)]

        with ThreadPoolExecutor(THREADS) as pool:
            results = list(pool.map(work, range(THREADS)))
        for worker, got in enumerate(results):
            assert got == [[worker, i, bytes([worker, i])] for i in range(CALLS)]
        # Connections are kept and reused: at most one per thread, not one per call.
        assert 1 <= opened["n"] <= THREADS


def test_connections_beyond_the_pool_size_are_closed_not_kept(pages, opened) -> None:
    with pagecall.Bridge(pages.url("main"), pages.token("main"), pool_size=2) as small:
        start = threading.Barrier(8)

        def work(worker: int) -> list:
            start.wait()
            return [small.call("py", "double", worker * 100 + i) for i in range(10)]

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(work, range(8)))
        assert results == [[(w * 100 + i) * 2 for i in range(10)] for w in range(8)]
        assert len(small._pool._idle) <= 2


def test_threads_share_batches_too(bridge: pagecall.Bridge) -> None:
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda w: bridge.batch("py", "double", range(w * 100, w * 100 + 75)), range(4)))
    assert results == [[n * 2 for n in range(w * 100, w * 100 + 75)] for w in range(4)]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_opens_its_own_connections(bridge: pagecall.Bridge) -> None:
    assert bridge.call("py", "echo", 1) == [1]
    inherited = bridge._pool._idle[-1]
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            # The parent's socket must not carry the child's request: answers would cross.
            if bridge.call("py", "echo", 2) == [2] and all(conn is not inherited for conn in bridge._pool._idle):
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert bridge.call("py", "echo", 3) == [3]
    assert bridge._pool._idle[-1] is inherited
