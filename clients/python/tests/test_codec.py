"""The value codec on its own: each rule as a table of cases."""
from __future__ import annotations

import dataclasses
import enum
import json
import math
from datetime import datetime, timedelta, timezone

import pytest

from pagecall import UNDEFINED, CodecError, JsMap, decode, encode
from pagecall.codec import MAX_SAFE_INTEGER, encode_args

UTC = timezone.utc


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: bytes


ENCODED = [
    ("plain string", "héllo", "héllo"),
    ("largest safe int stays a number", MAX_SAFE_INTEGER, MAX_SAFE_INTEGER),
    ("int past 2**53 is a $bigint", MAX_SAFE_INTEGER + 1, {"$bigint": str(MAX_SAFE_INTEGER + 1)}),
    ("negative big int", -(2**70), {"$bigint": str(-(2**70))}),
    ("bool is not an int", True, True),
    ("None is null", None, None),
    ("NaN", math.nan, {"$number": "NaN"}),
    ("infinity", math.inf, {"$number": "Infinity"}),
    ("minus infinity", -math.inf, {"$number": "-Infinity"}),
    ("minus zero", -0.0, {"$number": "-0"}),
    ("zero stays zero", 0.0, 0.0),
    ("bytes", b"\x00\xff", {"$bytes": "AP8="}),
    ("bytearray", bytearray(b"ab"), {"$bytes": "YWI="}),
    ("memoryview", memoryview(b"xyz"), {"$bytes": "eHl6"}),
    ("aware datetime in UTC, milliseconds", datetime(2026, 1, 2, 3, 4, 5, 678999, tzinfo=UTC), {"$date": "2026-01-02T03:04:05.678Z"}),
    ("aware datetime elsewhere", datetime(2026, 1, 2, 5, 0, tzinfo=timezone(timedelta(hours=2))), {"$date": "2026-01-02T03:00:00.000Z"}),
    ("set", {7}, {"$set": [7]}),
    ("frozenset", frozenset(["a"]), {"$set": ["a"]}),
    ("dict with int keys is a $map", {1: "a"}, {"$map": [[1, "a"]]}),
    ("JsMap is a $map even with str keys", JsMap(a=1), {"$map": [["a", 1]]}),
    ("dict whose only key is a tag is escaped", {"$bytes": "x"}, {"$escape": {"$bytes": "x"}}),
    ("dict with a tag key and others is plain", {"$bytes": "x", "b": 1}, {"$bytes": "x", "b": 1}),
    ("dict key holding UNDEFINED is left out", {"a": UNDEFINED, "b": None}, {"b": None}),
    ("escape counts keys after UNDEFINED ones are left out", {"$set": 1, "gone": UNDEFINED}, {"$escape": {"$set": 1}}),
    ("UNDEFINED in a list", [UNDEFINED], [{"$undefined": True}]),
    ("top-level UNDEFINED", UNDEFINED, {"$undefined": True}),
    ("tuple is an array", (1, (2,)), [1, [2]]),
    ("nested tagged values", {"k": [b"\x01", {2}]}, {"k": [{"$bytes": "AQ=="}, {"$set": [2]}]}),
    ("enum goes as its value", Colour.RED, "red"),
    ("dataclass goes as its fields", Point(1, b"\x02"), {"x": 1, "y": {"$bytes": "Ag=="}}),
]


@pytest.mark.parametrize("name,value,wire", ENCODED, ids=[c[0] for c in ENCODED])
def test_encodes(name: str, value: object, wire: object) -> None:
    encoded = encode(value)
    assert json.loads(json.dumps(encoded, allow_nan=False)) == wire


DECODED = [
    ("$bytes standard alphabet", {"$bytes": "AP8="}, b"\x00\xff"),
    ("$bytes URL-safe and unpadded", {"$bytes": "-_8"}, b"\xfb\xff"),
    ("$undefined is None", {"$undefined": True}, None),
    ("$bigint", {"$bigint": "-18446744073709551617"}, -18446744073709551617),
    ("$date is an aware UTC datetime", {"$date": "2026-01-02T03:04:05.678Z"}, datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)),
    ("invalid date is None", {"$date": "Invalid Date"}, None),
    ("a date Python cannot hold stays text", {"$date": "+275760-09-13T00:00:00.000Z"}, "+275760-09-13T00:00:00.000Z"),
    ("$map is a JsMap", {"$map": [[1, "a"], ["b", {"$bytes": "AQ=="}]]}, JsMap({1: "a", "b": b"\x01"})),
    ("$map with array keys uses tuples", {"$map": [[[1, 2], "x"]]}, JsMap({(1, 2): "x"})),
    ("$map with object keys is a list of pairs", {"$map": [[{"a": 1}, "x"]]}, [[{"a": 1}, "x"]]),
    ("$set", {"$set": [1, "a"]}, {1, "a"}),
    ("$set of arrays holds tuples", {"$set": [[1, 2]]}, {(1, 2)}),
    ("$set of objects is a list", {"$set": [{"a": 1}]}, [{"a": 1}]),
    ("$escape gives the dict back, values decoded", {"$escape": {"$bytes": {"$bigint": "9007199254740993"}}}, {"$bytes": 9007199254740993}),
    ("an object with two keys is never a tag", {"$bytes": "AQ==", "x": 1}, {"$bytes": "AQ==", "x": 1}),
    ("arrays are walked", [1, {"$set": []}], [1, set()]),
]


@pytest.mark.parametrize("name,wire,value", DECODED, ids=[c[0] for c in DECODED])
def test_decodes(name: str, wire: object, value: object) -> None:
    decoded = decode(wire)
    assert decoded == value
    assert type(decoded) is type(value)


def test_decodes_special_numbers() -> None:
    assert math.isnan(decode({"$number": "NaN"}))
    assert decode({"$number": "Infinity"}) == math.inf
    assert decode({"$number": "-Infinity"}) == -math.inf
    minus_zero = decode({"$number": "-0"})
    assert minus_zero == 0 and math.copysign(1, minus_zero) < 0


@pytest.mark.parametrize(
    "value",
    [
        {"a": [b"x", 2**60, {1: {3}}]},
        JsMap({"k": [datetime(2030, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)]}),
        {"$escape": {"$escape": 1}},
        [{"$map": "not a map"}],
    ],
)
def test_round_trips_through_json(value: object) -> None:
    assert decode(json.loads(json.dumps(encode(value)))) == value


def test_naive_datetimes_are_local_time_as_python_reads_them() -> None:
    naive = datetime(2026, 6, 1, 12, 0, 0)
    assert decode(encode(naive)) == naive.astimezone(UTC)


@pytest.mark.parametrize(
    "wire,message",
    [
        ({"$bytes": "A"}, "$bytes: invalid base64 length"),
        ({"$bytes": "A*=="}, "$bytes: invalid base64"),
        ({"$bigint": "1.5"}, "$bigint: expected a string of digits"),
        ({"$number": "1"}, "$number: expected"),
        ({"$date": 5}, "$date: expected an ISO 8601 string"),
        ({"$map": [[1]]}, "$map: expected an array of [key, value] pairs"),
        ({"$set": {}}, "$set: expected an array"),
        ({"$escape": []}, "$escape: expected an object"),
    ],
)
def test_refuses_malformed_tags(wire: object, message: str) -> None:
    with pytest.raises(CodecError, match=message.replace("$", r"\$").replace("[", r"\[").replace("]", r"\]")):
        decode(wire)


def test_refuses_what_cannot_travel_and_names_where_it_is() -> None:
    with pytest.raises(CodecError) as caught:
        encode_args(["ok", {"items": [1, object()]}])
    assert str(caught.value) == "args[1].items[1]: cannot send a value of type object"


def test_refuses_cycles() -> None:
    loop: list = []
    loop.append(loop)
    with pytest.raises(CodecError, match="contains a cycle"):
        encode(loop)


def test_refuses_nesting_deeper_than_the_page_accepts() -> None:
    deep: list = []
    for _ in range(250):
        deep = [deep]
    with pytest.raises(CodecError, match="nested deeper than 200 levels"):
        encode(deep)


def test_refuses_a_date_without_a_time() -> None:
    with pytest.raises(CodecError, match="pass a datetime"):
        encode(datetime(2026, 1, 1).date())


def test_the_same_object_twice_is_not_a_cycle() -> None:
    shared = [1]
    assert encode([shared, shared]) == [[1], [1]]
