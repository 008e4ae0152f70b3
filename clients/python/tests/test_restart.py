"""A bridge that restarts: refused connections are retried (bounded, opt-out), calls that may have
reached a page are not, and connections the old bridge closed are never used."""
from __future__ import annotations

import threading

import pytest
from _util import wait_in_flight

import pagecall
from pagecall import NO_RETRY, BridgeUnavailable, ShuttingDown


@pytest.fixture()
def restart(pages):
    """A client of the bridge the tests stop and start; the bridge is left running afterwards."""
    with pagecall.Bridge(pages.url("restart")) as b:
        b.wait_for_action("restart", "echo")
        try:
            yield b
        finally:
            if not _up(b):
                pages.command("start", bridge="restart")
            b.wait_for_action("restart", "echo")


def _up(b: pagecall.Bridge) -> bool:
    try:
        pagecall.Bridge(b.url, retry_policy=NO_RETRY).health()
        return True
    except BridgeUnavailable:
        return False


def test_a_call_while_the_bridge_restarts_waits_for_it_and_its_page(restart: pagecall.Bridge, pages, retries) -> None:
    assert restart.call("restart", "echo", 1) == [1]
    pages.command("stop", bridge="restart")
    outcome: dict = {}

    def call() -> None:
        try:
            outcome["value"] = restart.call("restart", "echo", 2)
        except Exception as error:  # reported below
            outcome["error"] = error

    caller = threading.Thread(target=call)
    caller.start()
    retries.wait_for("cannot connect")
    pages.command("start", bridge="restart")
    caller.join()
    assert outcome == {"value": [2]}


def test_with_retries_off_a_stopped_bridge_fails_at_once(restart: pagecall.Bridge, pages) -> None:
    pages.command("stop", bridge="restart")
    with pytest.raises(BridgeUnavailable) as caught:
        restart.call("restart", "echo", 1, retry_policy=NO_RETRY)
    assert caught.value.sent is False
    assert "is it running?" in caught.value.message


def test_retrying_a_refused_connection_gives_up_after_restart_wait(restart: pagecall.Bridge, pages) -> None:
    pages.command("stop", bridge="restart")
    with pytest.raises(BridgeUnavailable):
        restart.call("restart", "echo", 1, retry_policy=pagecall.RetryPolicy(restart_wait=0.3))


def test_a_call_running_when_the_bridge_stops_is_shutting_down_and_not_retried(restart: pagecall.Bridge, pages, retries) -> None:
    outcome: dict = {}

    def hold() -> None:
        try:
            outcome["value"] = restart.call("restart", "hold")
        except Exception as error:  # reported below
            outcome["error"] = error

    holder = threading.Thread(target=hold)
    holder.start()
    wait_in_flight(restart, "restart", 1)
    pages.command("stop", bridge="restart")
    holder.join()
    assert isinstance(outcome.get("error"), ShuttingDown)
    assert retries.messages == []


def test_connections_closed_by_the_old_bridge_are_not_reused(pages, retries) -> None:
    with pagecall.Bridge(pages.url("restart"), retry_policy=NO_RETRY) as b, pagecall.Bridge(pages.url("restart")) as waiter:
        assert b.call("restart", "echo", 1) == [1]
        assert len(b._pool._idle) == 1
        pages.command("stop", bridge="restart")
        pages.command("start", bridge="restart")
        waiter.wait_for_action("restart", "echo")
        # The kept connection was closed by the old bridge; a POST on it would fail after sending.
        assert b.call("restart", "echo", 2) == [2]
