"""Streams: what pages publish (pagecall.emit in real Chromium tabs), read as it arrives through
GET /v1/stream, with the synchronous and the asyncio client."""
from __future__ import annotations

import asyncio
import datetime
import queue
import threading
import time
import urllib.request
from typing import Iterator, List

import pytest

import pagecall
from pagecall import BadRequest, BridgeUnavailable, StreamEntry, Unauthorized


def _subscribers(b: pagecall.Bridge, token: str, group: str, topic: str) -> int:
    """The bridge's subscriber gauge for one topic (0 when it is not listed)."""
    request = urllib.request.Request(f"{b.url}/metrics", headers={"authorization": f"Bearer {token}"})
    text = urllib.request.urlopen(request, timeout=10).read().decode()
    prefix = f'pagecall_stream_subscribers{{group="{group}",topic="{topic}"}} '
    for line in text.splitlines():
        if line.startswith(prefix):
            return int(float(line[len(prefix):]))
    return 0


def _wait(check, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def test_stream_yields_what_a_page_publishes_in_order_with_values_decoded(bridge: pagecall.Bridge, pages) -> None:
    assert bridge.call("py", "publish", "s-order", [{"text": "hi", "raw": b"\x00\x01"}, 2**70, "plain"]) == 3
    stream = bridge.stream("py", "s-order", since="0")
    entries: List[StreamEntry] = [next(stream) for _ in range(3)]
    assert [e.type for e in entries] == ["event", "event", "event"]
    assert entries[0].value == {"text": "hi", "raw": b"\x00\x01"}
    assert entries[1].value == 2**70
    assert entries[2].value == "plain"
    assert [e.seq for e in entries] == [1, 2, 3]
    assert entries[0].group == "py" and entries[0].topic == "s-order"
    assert entries[0].client_id == bridge.call("py", "whoami")
    assert isinstance(entries[0].time, datetime.datetime) and entries[0].time.tzinfo is not None
    assert _subscribers(bridge, pages.token("main"), "py", "s-order") == 1
    stream.close()
    _wait(lambda: _subscribers(bridge, pages.token("main"), "py", "s-order") == 0, "the subscription to end")

    resumed = bridge.stream("py", "s-order", since=entries[0].id)
    assert [next(resumed).value for _ in range(2)] == [2**70, "plain"]
    resumed.close()


def test_stream_starts_live_and_keeps_reading_as_the_page_publishes(bridge: pagecall.Bridge) -> None:
    bridge.call("py", "publish", "s-live", ["old"])
    got: "queue.Queue[StreamEntry]" = queue.Queue()
    stream = bridge.stream("py", "s-live")
    reader = threading.Thread(target=lambda: got.put(next(stream)), daemon=True)
    reader.start()
    # The subscription starts when the reader asks for its first entry: publish until it has one.
    deadline = time.monotonic() + 20
    while got.empty():
        assert time.monotonic() < deadline, "the live stream never delivered"
        bridge.call("py", "publish", "s-live", ["new"])
        time.sleep(0.05)
    assert got.get().value == "new"
    reader.join(5)
    stream.close()


def test_stream_refusals_raise_the_catalogue_errors(bridge: pagecall.Bridge, pages) -> None:
    with pytest.raises(BadRequest, match=r'topic: "\$x" is not a valid topic name'):
        next(bridge.stream("py", "$x"))
    with pytest.raises(Unauthorized):
        next(pagecall.Bridge(pages.url("main"), token="").stream("py", "chat"))
    with pytest.raises(BadRequest, match="topic: expected str"):
        next(bridge.stream("py", 5))  # type: ignore[arg-type]


def test_stream_from_a_bridge_that_is_not_there_is_bridge_unavailable() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(BridgeUnavailable) as info:
        next(pagecall.Bridge(f"http://127.0.0.1:{port}").stream("g", "t"))
    assert info.value.sent is False


@pytest.fixture()
def restarting(pages) -> Iterator[pagecall.Bridge]:
    with pagecall.Bridge(pages.url("restart")) as b:
        b.wait_for_action("restart", "publish")
        try:
            yield b
        finally:
            try:
                pagecall.Bridge(b.url, retry_policy=pagecall.NO_RETRY).health()
            except BridgeUnavailable:
                pages.command("start", bridge="restart")
            b.wait_for_action("restart", "publish")


def test_stream_resumes_after_a_bridge_restart_with_a_reset_gap(restarting: pagecall.Bridge, pages) -> None:
    got: "queue.Queue[StreamEntry]" = queue.Queue()
    stream = restarting.stream("restart", "s-restart", reconnect_wait=60)

    def read() -> None:
        for entry in stream:
            got.put(entry)
            if entry.value == "after":
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 20
    while got.empty():
        assert time.monotonic() < deadline, "the stream never delivered"
        restarting.call("restart", "publish", "s-restart", ["before"])
        time.sleep(0.05)
    pages.command("stop", bridge="restart")
    pages.command("start", bridge="restart")
    restarting.wait_for_action("restart", "publish")
    deadline = time.monotonic() + 30
    while reader.is_alive():
        assert time.monotonic() < deadline, "the stream never resumed"
        restarting.call("restart", "publish", "s-restart", ["after"])
        reader.join(0.1)
    entries = []
    while not got.empty():
        entries.append(got.get())
    kinds = [(e.type, e.reason or e.value) for e in entries if e.value != "before"]
    assert kinds[0] == ("gap", "reset"), kinds
    assert kinds[-1] == ("event", "after")
    stream.close()


def test_async_stream_yields_the_same_entries(pages) -> None:
    async def main() -> List[StreamEntry]:
        async with pagecall.AsyncBridge(pages.url("main"), pages.token("main")) as b:
            await b.call("py", "publish", "s-async", [b"\x07", {"n": 1}])
            out: List[StreamEntry] = []
            stream = b.stream("py", "s-async", since="0")
            async for entry in stream:
                out.append(entry)
                if len(out) == 2:
                    break
            await stream.aclose()
            with pytest.raises(BadRequest):
                async for _ in b.stream("py", "$bad"):
                    pass
            return out

    entries = asyncio.run(main())
    assert [e.value for e in entries] == [b"\x07", {"n": 1}]
    assert [e.seq for e in entries] == [1, 2]
