"""Values both ways through a real bridge and a real Chromium page."""
from __future__ import annotations

import math
from datetime import datetime, timezone

import pagecall
from pagecall import UNDEFINED, JsMap

UTC = timezone.utc


def test_a_call_returns_the_page_result(bridge: pagecall.Bridge) -> None:
    assert bridge.call("py", "echo", "a", 1, None, True) == ["a", 1, None, True]


def test_the_page_receives_javascript_types(bridge: pagecall.Bridge) -> None:
    described = bridge.call(
        "py",
        "describe",
        b"\x00\x01\xff",
        bytearray(b"\x02"),
        memoryview(b"\x03"),
        2**64 + 1,
        2**53 - 1,
        datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
        math.nan,
        -0.0,
        -math.inf,
        {1: "one"},
        JsMap(k="v"),
        {"x", },
        UNDEFINED,
        None,
        {"$bytes": "stays a dict"},
        {"kept": 1, "dropped": UNDEFINED},
        (1, "two"),
    )
    assert described == [
        "Uint8Array(0,1,255)",
        "Uint8Array(2)",
        "Uint8Array(3)",
        "bigint(18446744073709551617)",
        "number(9007199254740991)",
        "Date(2026-01-02T03:04:05.678Z)",
        "number(NaN)",
        "number(-0)",
        "number(-Infinity)",
        "Map(number(1)=>string(one))",
        "Map(string(k)=>string(v))",
        "Set(string(x))",
        "undefined",
        "null",
        "Object($bytes:string(stays a dict))",
        "Object(kept:number(1))",
        "Array(number(1),string(two))",
    ]


def test_page_values_decode_to_python_types(bridge: pagecall.Bridge) -> None:
    made = bridge.call("py", "make")
    assert made["bytes"] == b"\x00\x01\x02\xff"
    assert made["big"] == 2**64 + 1
    assert made["negativeBig"] == -(2**70)
    assert made["safe"] == 2**53 - 1 and type(made["safe"]) is int
    assert made["date"] == datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert made["invalidDate"] is None
    assert made["map"] == {1: "one", "k": {"x": 1}} and isinstance(made["map"], JsMap)
    assert made["objectKeys"] == [[{"a": 1}, "object key"]]
    assert made["set"] == {1, "a"}
    assert made["arraySet"] == {(1, 2)}
    assert made["holes"] == [None, 1]
    assert math.isnan(made["nan"])
    assert made["minusInfinity"] == -math.inf
    assert made["negativeZero"] == 0 and math.copysign(1, made["negativeZero"]) < 0
    assert made["escaped"] == {"$bytes": "not bytes"}
    assert made["nested"] == {"list": [b"\x09"]}
    assert made["view"] == b"\x07\x08"


def test_values_round_trip_unchanged(bridge: pagecall.Bridge) -> None:
    values = [
        b"\x00" * 3 + bytes(range(256)),
        -(2**80),
        datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        JsMap({1: b"\x01", "s": {2, 3}}),
        {"$escape": {"$undefined": True}},
        {"$set": "a dict, not a set"},
        {"deep": [[[{"x": [1.5, "é", "\U0001f600"]}]]]},
        "\ud800 lone surrogate",
    ]
    for value in values:
        assert bridge.call("py", "identity", value) == value, value


def test_undefined_results_come_back_as_none(bridge: pagecall.Bridge) -> None:
    assert bridge.call("py", "undefined") is None
    assert bridge.call("py", "echo", UNDEFINED, 1) == [None, 1]


def test_a_megabyte_of_bytes_round_trips(bridge: pagecall.Bridge) -> None:
    payload = bytes(range(256)) * 4096
    assert bridge.call("py", "identity", payload) == payload


def test_clients_lists_the_pages_with_their_functions(bridge: pagecall.Bridge, pages) -> None:
    listed = bridge.clients("py")
    assert len(listed) == 1
    page = listed[0]
    assert page.group == "py"
    assert {"echo", "make", "describe"} <= set(page.actions)
    assert page.url == f"{pages.site}/py"
    assert page.connected_at is not None and page.connected_at.tzinfo is not None
    assert {p.group for p in bridge.clients()} == {"py", "py-drop"}
    assert bridge.call("py", "whoami", client_id=page.id) == page.id


def test_wait_for_action_returns_the_page_that_has_it(bridge: pagecall.Bridge) -> None:
    assert "echo" in bridge.wait_for_action("py", "echo", timeout=5).actions


def test_health_reports_the_bridge(bridge: pagecall.Bridge) -> None:
    health = bridge.health()
    assert health["name"] == "pagecall" and health["tokenRequired"] is True


def test_eval_runs_code_in_the_page_when_the_bridge_allows_it(tight: pagecall.Bridge) -> None:
    assert tight.eval("tight", "new Uint8Array([1, 2]).length + 40") == 42
    assert tight.eval("tight", "Promise.resolve(new Set([document.title]))") == {"tight"}
