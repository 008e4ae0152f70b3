"""Helpers shared by the tests."""
from __future__ import annotations

import time

import pagecall


def wait_in_flight(b: pagecall.Bridge, group: str, count: int, timeout: float = 20.0) -> None:
    """Waits until the group's pages run `count` calls (bridge state that has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while sum(p.in_flight for p in b.clients(group)) != count:
        assert time.monotonic() < deadline, f"the group {group!r} never had {count} calls in flight"
        time.sleep(0.01)
