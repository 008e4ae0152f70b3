"""Every error code a caller can cause, raised as its own class with the catalogue's fields."""
from __future__ import annotations

import threading

import pytest
from _util import wait_in_flight

import pagecall
from pagecall import (
    NO_RETRY,
    ActionNotFound,
    BadRequest,
    BadResponse,
    BridgeUnavailable,
    ClientDisconnected,
    ClientNotFound,
    EvalDisabled,
    Forbidden,
    NoClient,
    NotFound,
    Overloaded,
    PageError,
    PagecallError,
    PayloadTooLarge,
    ResultNotSerializable,
    ResultTooLarge,
    Timeout,
    Unauthorized,
)


def check(error: PagecallError, cls: type, code: str, status: "int | None", retryable: bool) -> None:
    assert type(error) is cls
    assert error.code == code
    assert error.status == status
    assert error.retryable is retryable
    assert str(error).startswith(f"{code}: ")


def test_page_error_carries_the_page_name_message_and_stack(bridge: pagecall.Bridge) -> None:
    with pytest.raises(PageError) as caught:
        bridge.call("py", "fail", "bad key")
    error = caught.value
    check(error, PageError, "PAGE_ERROR", 502, False)
    assert error.name == "TypeError"
    assert error.page_message == "bad key"
    assert "bad key" in error.message
    assert "TypeError: bad key" in error.stack
    assert error.client_id == bridge.clients("py")[0].id
    assert error.request_id


def test_a_rejected_promise_is_a_page_error_too(bridge: pagecall.Bridge) -> None:
    with pytest.raises(PageError) as caught:
        bridge.call("py", "reject", "out of range")
    assert caught.value.name == "RangeError"


def test_unknown_action_lists_the_available_ones(bridge: pagecall.Bridge) -> None:
    with pytest.raises(ActionNotFound) as caught:
        bridge.call("py", "no-such-function")
    check(caught.value, ActionNotFound, "ACTION_NOT_FOUND", 404, False)
    assert "echo" in caught.value.available


def test_a_group_without_pages_is_no_client(bridge: pagecall.Bridge) -> None:
    with pytest.raises(NoClient) as caught:
        bridge.call("nobody-here", "echo")
    check(caught.value, NoClient, "NO_CLIENT", 503, True)


def test_no_client_can_be_waited_out_when_asked(bridge: pagecall.Bridge) -> None:
    policy = pagecall.RetryPolicy(no_client_wait=0.3)
    with pytest.raises(NoClient):
        bridge.call("nobody-here", "echo", retry_policy=policy)


def test_a_deadline_that_passes_is_timeout_and_the_page_is_told(bridge: pagecall.Bridge, pages) -> None:
    with pytest.raises(Timeout) as caught:
        bridge.call("py", "hang", timeout_ms=200)
    check(caught.value, Timeout, "TIMEOUT", 504, True)
    assert isinstance(caught.value, TimeoutError)


def test_malformed_requests_are_bad_request_naming_the_field(bridge: pagecall.Bridge) -> None:
    with pytest.raises(BadRequest) as caught:
        bridge.call("not a group!", "echo")
    check(caught.value, BadRequest, "BAD_REQUEST", 400, False)
    assert caught.value.message.startswith("group:")
    with pytest.raises(BadRequest, match="timeoutMs: at most"):
        bridge.call("py", "echo", timeout_ms=10**9)
    with pytest.raises(BadRequest, match="balance"):
        bridge.call("py", "echo", balance="random")


def test_arguments_that_cannot_travel_fail_before_sending(bridge: pagecall.Bridge) -> None:
    with pytest.raises(BadRequest, match=r"args\[1\]\.k: cannot send a value of type object"):
        bridge.call("py", "echo", 1, {"k": object()})


def test_a_body_over_the_limit_is_payload_too_large(bridge: pagecall.Bridge) -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        bridge.call("py", "identity", b"\x00" * (5 * 1024 * 1024))
    check(caught.value, PayloadTooLarge, "PAYLOAD_TOO_LARGE", 413, False)
    assert caught.value.limit == 4 * 1024 * 1024


def test_a_result_that_cannot_be_sent_is_result_not_serializable(bridge: pagecall.Bridge) -> None:
    with pytest.raises(ResultNotSerializable) as caught:
        bridge.call("py", "cycle")
    check(caught.value, ResultNotSerializable, "RESULT_NOT_SERIALIZABLE", 502, False)


def test_a_result_over_the_frame_limit_is_result_too_large(tight: pagecall.Bridge) -> None:
    with pytest.raises(ResultTooLarge) as caught:
        tight.call("tight", "big", 200_000)
    check(caught.value, ResultTooLarge, "RESULT_TOO_LARGE", 502, False)
    # The page reports the limit in its message (data.limit is not filled in for this code today).
    assert "65536" in caught.value.message


def test_a_page_that_leaves_mid_call_is_client_disconnected(bridge: pagecall.Bridge) -> None:
    with pytest.raises(ClientDisconnected) as caught:
        bridge.call("py-drop", "drop", retry=False)
    check(caught.value, ClientDisconnected, "CLIENT_DISCONNECTED", 502, True)
    # The page comes back by itself; the next call waits for it.
    assert bridge.wait_for_action("py-drop", "echo", timeout=20).group == "py-drop"


def test_a_wrong_token_is_unauthorized(pages) -> None:
    with pagecall.Bridge(pages.url("main"), "wrong-token-0123456789") as b:
        with pytest.raises(pagecall.Unauthorized) as caught:
            b.call("py", "echo")
    check(caught.value, Unauthorized, "UNAUTHORIZED", 401, False)


def test_the_token_comes_from_the_environment(pages, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGECALL_URL", pages.url("main"))
    monkeypatch.setenv("PAGECALL_TOKEN", pages.token("main"))
    with pagecall.Bridge() as b:
        assert b.url == pages.url("main")
        assert b.call("py", "echo", 1) == [1]


def test_a_cross_site_origin_is_forbidden(pages) -> None:
    with pagecall.Bridge(pages.url("main"), pages.token("main"), headers={"Origin": "https://evil.example"}) as b:
        with pytest.raises(Forbidden) as caught:
            b.call("py", "echo")
    check(caught.value, Forbidden, "FORBIDDEN", 403, False)


def test_eval_on_a_bridge_without_allow_eval_is_eval_disabled(bridge: pagecall.Bridge) -> None:
    with pytest.raises(EvalDisabled) as caught:
        bridge.eval("py", "1 + 1")
    check(caught.value, EvalDisabled, "EVAL_DISABLED", 403, False)


def test_a_wrong_base_path_is_not_found(pages) -> None:
    with pagecall.Bridge(pages.url("main") + "/nope", pages.token("main")) as b:
        with pytest.raises(NotFound) as caught:
            b.call("py", "echo")
    check(caught.value, NotFound, "NOT_FOUND", 404, False)


def test_kicking_an_unknown_page_is_client_not_found(bridge: pagecall.Bridge) -> None:
    with pytest.raises(ClientNotFound) as caught:
        bridge.kick("no-such-page")
    check(caught.value, ClientNotFound, "CLIENT_NOT_FOUND", 404, False)


def test_a_busy_page_is_overloaded_with_retry_after(tight: pagecall.Bridge, pages) -> None:
    holder = threading.Thread(target=tight.call, args=("tight", "hold"))
    holder.start()
    try:
        wait_in_flight(tight, "tight", 1)
        with pytest.raises(Overloaded) as caught:
            tight.call("tight", "echo")
        check(caught.value, Overloaded, "OVERLOADED", 429, True)
        assert caught.value.retry_after == 1.0
    finally:
        assert pages.eval("tight", "window.release()") == 1
        holder.join()


def test_overloaded_is_retried_after_retry_after_and_then_succeeds(tight: pagecall.Bridge, pages, retries) -> None:
    holder = threading.Thread(target=tight.call, args=("tight", "hold"))
    holder.start()
    outcome: dict = {}

    def second() -> None:
        try:
            outcome["value"] = tight.call("tight", "echo", "after", retry_policy=pagecall.RetryPolicy())
        except Exception as error:  # reported below
            outcome["error"] = error

    try:
        wait_in_flight(tight, "tight", 1)
        waiter = threading.Thread(target=second)
        waiter.start()
        retries.wait_for("OVERLOADED")
    finally:
        pages.eval("tight", "window.release()")
        holder.join()
    waiter.join()
    assert outcome == {"value": ["after"]}


def test_not_a_bridge_is_bad_response(pages) -> None:
    with pagecall.Bridge(pages.site) as b:
        with pytest.raises(BadResponse) as caught:
            b.call("py", "echo")
    check(caught.value, BadResponse, "BAD_RESPONSE", None, False)
    assert "not a pagecall bridge" in caught.value.message


def test_nothing_listening_is_bridge_unavailable_at_once_without_retries(pages) -> None:
    with pagecall.Bridge("http://127.0.0.1:9", retry_policy=NO_RETRY) as b:
        with pytest.raises(BridgeUnavailable) as caught:
            b.call("py", "echo")
    check(caught.value, BridgeUnavailable, "BRIDGE_UNAVAILABLE", None, True)
    assert caught.value.sent is False
    assert isinstance(caught.value, ConnectionError)


def test_errors_survive_pickling(bridge: pagecall.Bridge) -> None:
    import pickle

    with pytest.raises(PageError) as caught:
        bridge.call("py", "fail", "boom")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert type(copy) is PageError and copy.stack == caught.value.stack and copy.request_id == caught.value.request_id


def test_catalogue_has_one_class_per_code() -> None:
    assert len(set(pagecall.CATALOGUE.values())) == len(pagecall.CATALOGUE)
    for code, cls in pagecall.CATALOGUE.items():
        assert cls.code == code and issubclass(cls, PagecallError)
