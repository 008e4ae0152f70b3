"""AsyncBridge: the same calls, values, errors and retries on asyncio (httpx)."""
from __future__ import annotations

import asyncio

import pytest

import pagecall
from pagecall import NO_RETRY, BridgeUnavailable, NoClient, PageError, Timeout

httpx = pytest.importorskip("httpx", reason="the asyncio client needs httpx (python3-httpx)")


def run(coro):
    return asyncio.run(coro)


def test_async_calls_round_trip_values(pages) -> None:
    async def main():
        async with pagecall.AsyncBridge(pages.url("main"), pages.token("main")) as b:
            made = await b.call("py", "make")
            echoed = await b.call("py", "identity", {"k": [b"\x00\xff", 2**64, {1, 2}]})
            return made, echoed

    made, echoed = run(main())
    assert made["bytes"] == b"\x00\x01\x02\xff" and made["big"] == 2**64 + 1
    assert echoed == {"k": [b"\x00\xff", 2**64, {1, 2}]}


def test_async_calls_run_concurrently_and_each_gets_its_own_result(pages) -> None:
    async def main():
        async with pagecall.AsyncBridge(pages.url("main"), pages.token("main"), pool_size=8) as b:
            return await asyncio.gather(*(b.call("py", "double", n) for n in range(64)))

    assert run(main()) == [n * 2 for n in range(64)]


def test_async_batch_chunks_and_keeps_order(pages) -> None:
    async def main():
        async with pagecall.AsyncBridge(pages.url("main"), pages.token("main")) as b:
            return await b.batch("py", "double", range(120)), await b.batch("py", "double", [1, -1], return_exceptions=True)

    ordered, mixed = run(main())
    assert ordered == [n * 2 for n in range(120)]
    assert mixed[0] == 2 and isinstance(mixed[1], PageError)


def test_async_errors_are_the_same_classes(pages) -> None:
    async def main():
        async with pagecall.AsyncBridge(pages.url("main"), pages.token("main")) as b:
            with pytest.raises(PageError) as page_error:
                await b.call("py", "fail", "async boom")
            with pytest.raises(NoClient):
                await b.call("nobody", "echo")
            with pytest.raises(Timeout):
                await b.call("py", "hang", timeout_ms=150)
            clients = await b.clients("py")
            return page_error.value, clients

    error, clients = run(main())
    assert error.page_message == "async boom" and "TypeError" in error.stack
    assert clients[0].group == "py"


def test_async_refused_connection_is_bridge_unavailable(pages) -> None:
    async def main():
        async with pagecall.AsyncBridge("http://127.0.0.1:9", retry_policy=NO_RETRY) as b:
            await b.call("py", "echo")

    with pytest.raises(BridgeUnavailable) as caught:
        run(main())
    assert caught.value.sent is False
    assert caught.value.data["reason"] == "refused"


def test_async_retries_a_refused_connection_while_the_bridge_restarts(pages, retries) -> None:
    async def main():
        async with pagecall.AsyncBridge(pages.url("restart")) as b:
            await b.wait_for_action("restart", "echo")
            pages.command("stop", bridge="restart")
            call = asyncio.ensure_future(b.call("restart", "echo", "back"))
            await asyncio.get_running_loop().run_in_executor(None, retries.wait_for, "cannot connect")
            pages.command("start", bridge="restart")
            return await call

    assert run(main()) == ["back"]


def test_cancelling_a_task_cancels_the_call_in_the_page(pages) -> None:
    async def main():
        async with pagecall.AsyncBridge(pages.url("main"), pages.token("main")) as b:
            task = asyncio.ensure_future(b.call("py", "hang", timeout_ms=60_000))
            await _until(b, lambda pages_: sum(p.in_flight for p in pages_) == 1)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # The closed connection told the bridge the caller left: the call is gone from the page.
            await _until(b, lambda pages_: sum(p.in_flight for p in pages_) == 0)

    run(main())


async def _until(b, check, timeout: float = 20.0) -> None:
    """Waits for bridge state that has no event to wait on."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not check(await b.clients("py")):
        assert asyncio.get_running_loop().time() < deadline, "the bridge never reached the expected state"
        await asyncio.sleep(0.01)
