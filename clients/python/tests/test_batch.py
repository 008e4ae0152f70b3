"""Batches: one request per chunk of at most the bridge's --max-batch, results in order."""
from __future__ import annotations

import threading
from typing import List

import pytest
from _util import wait_in_flight

import pagecall
from pagecall import PageError, PayloadTooLarge


class CountingBridge(pagecall.Bridge):
    """A Bridge that records the calls-per-request of each /v1/batch it sends."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.sent: List[int] = []

    def _exchange(self, request):  # type: ignore[override]
        if request.path == "/v1/batch":
            self.sent.append(request.body.count(b'"action"'))
        return super()._exchange(request)


@pytest.fixture()
def counting(pages):
    with CountingBridge(pages.url("main"), pages.token("main")) as b:
        yield b


def test_results_come_back_in_order_one_request_per_chunk(counting: CountingBridge) -> None:
    assert counting.batch("py", "double", range(120)) == [n * 2 for n in range(120)]
    # The bridge refused 120 at once (--max-batch 50); the client learned its limit and split.
    assert counting.sent == [120, 50, 50, 20]
    counting.sent.clear()
    assert counting.batch("py", "double", range(120)) == [n * 2 for n in range(120)]
    assert counting.sent == [50, 50, 20]


def test_chunk_size_sets_the_calls_per_request(counting: CountingBridge) -> None:
    assert counting.batch("py", "double", range(25), chunk_size=10) == [n * 2 for n in range(25)]
    assert counting.sent == [10, 10, 5]


def test_tuples_are_argument_lists_and_other_items_one_argument(bridge: pagecall.Bridge) -> None:
    assert bridge.batch("py", "echo", [(1, 2), (), "ab", [3, 4], (b"\x01",)]) == [[1, 2], [], ["ab"], [[3, 4]], [b"\x01"]]


def test_an_empty_batch_sends_nothing(counting: CountingBridge) -> None:
    assert counting.batch("py", "echo", []) == []
    assert counting.sent == []


def test_return_exceptions_puts_each_failure_in_its_place(bridge: pagecall.Bridge) -> None:
    results = bridge.batch("py", "double", [1, -2, 3, -4], return_exceptions=True)
    assert results[0] == 2 and results[2] == 6
    assert isinstance(results[1], PageError) and results[1].page_message == "negative: -2"
    assert isinstance(results[3], PageError) and results[3].name == "RangeError"


def test_without_return_exceptions_the_first_failure_is_raised_with_every_result(bridge: pagecall.Bridge) -> None:
    with pytest.raises(PageError) as caught:
        bridge.batch("py", "double", [1, 2, -3, 4, -5] + list(range(60)))
    error = caught.value
    assert error.batch_index == 2
    assert error.page_message == "negative: -3"
    # Every chunk ran; nothing is lost.
    assert len(error.batch_results) == 65
    assert error.batch_results[:2] == [2, 4] and error.batch_results[3] == 8
    assert isinstance(error.batch_results[4], PageError)
    assert error.batch_results[64] == 118


def test_a_batch_over_the_body_limit_is_split_until_it_fits(counting: CountingBridge) -> None:
    blob = bytes(range(256)) * 1024  # 256 KiB, about 350 KB of base64 per call
    results = counting.batch("py", "identity", [(blob,)] * 20)
    assert results == [blob] * 20
    assert counting.sent[0] == 20 and len(counting.sent) > 2 and max(counting.sent[1:]) < 20


def test_a_single_call_over_the_body_limit_fails_alone(bridge: pagecall.Bridge) -> None:
    huge = b"\x00" * (5 * 1024 * 1024)
    results = bridge.batch("py", "identity", [(1,), (huge,), (3,)], return_exceptions=True, chunk_size=1)
    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], PayloadTooLarge)


def test_items_that_cannot_be_encoded_fail_before_sending(bridge: pagecall.Bridge) -> None:
    with pytest.raises(pagecall.BadRequest, match=r"calls\[1\]\.args\[0\]: cannot send a value of type object"):
        bridge.batch("py", "echo", [1, object()])


def test_overloaded_items_are_retried_after_retry_after(pages, retries) -> None:
    with pagecall.Bridge(pages.url("tight")) as tight:
        holder = threading.Thread(target=tight.call, args=("tight", "hold"))
        holder.start()
        outcome: dict = {}

        def run() -> None:
            outcome["value"] = tight.batch("tight", "double", [1, 2, 3])

        try:
            wait_in_flight(tight, "tight", 1)
            runner = threading.Thread(target=run)
            runner.start()
            retries.wait_for("got OVERLOADED")
        finally:
            pages.eval("tight", "window.release()")
            holder.join()
        runner.join()
        assert outcome == {"value": [2, 4, 6]}
