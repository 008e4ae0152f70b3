"""Python values <-> pagecall's wire values (docs/protocol.md#values), in both directions.

A tagged value is a JSON object with exactly one key, that key being one of ``TAGS``::

    bytes / bytearray / memoryview   {"$bytes": "<base64>"}
    UNDEFINED                        {"$undefined": true}       (decoded as None)
    int beyond +-(2**53 - 1)         {"$bigint": "123..."}
    nan, inf, -inf, -0.0             {"$number": "NaN"} ...
    datetime                         {"$date": "2026-01-02T03:04:05.678Z"}
    JsMap, dict with non-str keys    {"$map": [[key, value], ...]}
    set, frozenset                   {"$set": [value, ...]}
    a dict whose only key is a tag   {"$escape": {...}}         (decoded back to that dict)
"""
from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import math
import re
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, List, Sequence, Union

__all__ = ["TAGS", "UNDEFINED", "JsMap", "CodecError", "encode", "encode_args", "decode", "MAX_SAFE_INTEGER", "MAX_DEPTH"]

#: The reserved tag keys (protocol/codec.ts TAGS).
TAGS = frozenset(("$bytes", "$undefined", "$bigint", "$number", "$date", "$map", "$set", "$escape"))

#: Largest integer a JavaScript number holds exactly; larger ones travel as $bigint.
MAX_SAFE_INTEGER = 2**53 - 1

#: Values nested deeper than this are refused, as the page's codec refuses them.
MAX_DEPTH = 200

# Decoding allows more than encoding: results are only read here, and Python's own recursion limit is
# what this protects.
_MAX_DECODE_DEPTH = 600

Json = Union[None, bool, int, float, str, List["Json"], Dict[str, "Json"]]


class _Undefined:
    """JavaScript's ``undefined``; see UNDEFINED."""

    _instance: "_Undefined | None" = None

    def __new__(cls) -> "_Undefined":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNDEFINED"


#: Passes ``undefined`` to a page function (an argument or array item; a dict key holding it is
#: left out, as JSON.stringify leaves it out). ``undefined`` coming back decodes to None.
UNDEFINED = _Undefined()


class JsMap(Dict[Any, Any]):
    """A dict that travels as a JavaScript ``Map``: ``$map`` results decode to it, and it always
    encodes as ``$map`` even when every key is a string (a plain dict would become an object)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f"JsMap({dict.__repr__(self)})"


class CodecError(ValueError):
    """A value that cannot be encoded or decoded; ``path`` names where (``args[0].items[3]``)."""

    def __init__(self, reason: str, path: str = "") -> None:
        self.reason = reason
        self.path = path
        super().__init__(f"{path}: {reason}" if path else reason)

    def at(self, step: str) -> "CodecError":
        """The same error one level further out (``step`` is ``[3]`` or ``.key``)."""
        path = step + (self.path if self.path.startswith(("[", ".")) or not self.path else "." + self.path)
        return CodecError(self.reason, path)


def _key_step(key: Any) -> str:
    return f".{key}" if isinstance(key, str) and key.isidentifier() else f"[{key!r}]"


_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=_UTC)


def _encode_datetime(value: datetime) -> str:
    # Naive datetimes are local time, as datetime.timestamp() reads them.
    utc = value.astimezone(_UTC)
    return "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" % (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second, utc.microsecond // 1000)


def _encode_float(value: float) -> Any:
    if value != value:
        return {"$number": "NaN"}
    if value == math.inf:
        return {"$number": "Infinity"}
    if value == -math.inf:
        return {"$number": "-Infinity"}
    if value == 0.0 and math.copysign(1.0, value) < 0:
        return {"$number": "-0"}
    return value


def _encode(value: Any, depth: int, active: "set[int]", in_array: bool) -> Any:
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return value
    if kind is int:
        return value if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else {"$bigint": str(value)}
    if kind is float:
        return value if math.isfinite(value) and value != 0.0 else _encode_float(value)
    if value is UNDEFINED:
        return {"$undefined": True} if in_array else UNDEFINED
    if depth > MAX_DEPTH:
        raise CodecError(f"nested deeper than {MAX_DEPTH} levels")
    if kind is bytes:
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if kind is list or kind is tuple:
        return _encode_list(value, depth, active)
    if kind is dict:
        return _encode_dict(value, depth, active)
    return _encode_other(value, depth, active, in_array)


def _enter(value: Any, active: "set[int]") -> int:
    ident = id(value)
    if ident in active:
        raise CodecError("contains a cycle")
    active.add(ident)
    return ident


def _encode_list(value: Any, depth: int, active: "set[int]") -> List[Any]:
    ident = _enter(value, active)
    out = []
    for i, item in enumerate(value):
        try:
            out.append(_encode(item, depth + 1, active, True))
        except CodecError as error:
            raise error.at(f"[{i}]") from None
    active.discard(ident)
    return out


def _encode_dict(value: Any, depth: int, active: "set[int]") -> Any:
    for key in value:
        if type(key) is not str and not isinstance(key, str):
            return _encode_map(value, depth, active)
    ident = _enter(value, active)
    out = {}
    for key, item in value.items():
        try:
            encoded = _encode(item, depth + 1, active, False)
        except CodecError as error:
            raise error.at(_key_step(key)) from None
        if encoded is not UNDEFINED:
            out[str(key)] = encoded
    active.discard(ident)
    if len(out) == 1 and next(iter(out)) in TAGS:
        return {"$escape": out}
    return out


def _encode_map(value: Any, depth: int, active: "set[int]") -> Any:
    ident = _enter(value, active)
    pairs = []
    for key, item in value.items():
        step = _key_step(key)
        try:
            pairs.append([_encode(key, depth + 1, active, True), _encode(item, depth + 1, active, True)])
        except CodecError as error:
            raise error.at(step) from None
    active.discard(ident)
    return {"$map": pairs}


def _encode_other(value: Any, depth: int, active: "set[int]", in_array: bool) -> Any:
    # Subclasses and the less common types; the hot path above handles exact built-in types.
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, enum.Enum):
        return _encode(value.value, depth, active, in_array)
    if isinstance(value, int):
        return _encode(int(value), depth, active, in_array)
    if isinstance(value, float):
        return _encode(float(value), depth, active, in_array)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(value).decode("ascii")}
    if isinstance(value, memoryview):
        return {"$bytes": base64.b64encode(value.tobytes()).decode("ascii")}
    if isinstance(value, datetime):
        return {"$date": _encode_datetime(value)}
    if isinstance(value, date):
        raise CodecError("a date has no time of day: pass a datetime (JavaScript dates are instants)")
    if isinstance(value, JsMap):
        return _encode_map(value, depth, active)
    if isinstance(value, dict):
        return _encode_dict(value, depth, active)
    if isinstance(value, (list, tuple)):
        return _encode_list(value, depth, active)
    if isinstance(value, (set, frozenset)):
        ident = _enter(value, active)
        items = []
        for item in value:
            try:
                items.append(_encode(item, depth + 1, active, True))
            except CodecError as error:
                raise error.at("{…}") from None
        active.discard(ident)
        return {"$set": items}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
        return _encode_dict(fields, depth, active)
    try:
        view = memoryview(value)
    except TypeError:
        pass
    else:
        return {"$bytes": base64.b64encode(view.tobytes()).decode("ascii")}
    raise CodecError(f"cannot send a value of type {type(value).__name__}")


def encode(value: Any) -> Json:
    """Turns a Python value into wire JSON. Raises CodecError (naming the path) for what cannot travel."""
    try:
        return _encode(value, 0, set(), True)  # type: ignore[no-any-return]
    except CodecError as error:
        raise CodecError(error.reason, error.path.lstrip(".")) from None


def encode_args(args: Sequence[Any]) -> List[Json]:
    """Encodes an argument list; errors name the argument (``args[1].key``)."""
    out: List[Json] = []
    active: "set[int]" = set()
    for i, arg in enumerate(args):
        kind = type(arg)
        # Most arguments are plain strings and small numbers: no walk for them.
        if kind is str or kind is bool or arg is None or (kind is int and -MAX_SAFE_INTEGER <= arg <= MAX_SAFE_INTEGER):
            out.append(arg)
            continue
        try:
            out.append(_encode(arg, 0, active, True))
        except CodecError as error:
            raise error.at(f"args[{i}]") from None
    return out


_DATE = re.compile(r"([+-]\d{6}|\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)\Z")
_BIGINT = re.compile(r"-?\d+\Z")
_B64_TABLE = bytes.maketrans(b"-_", b"+/")


def _decode_date(text: Any) -> Any:
    if not isinstance(text, str):
        raise CodecError("$date: expected an ISO 8601 string")
    if text == "Invalid Date":
        return None
    match = _DATE.match(text)
    if match is None:
        raise CodecError(f"$date: expected an ISO 8601 string, got {text[:40]!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if not 1 <= int(year) <= 9999:
        # A JavaScript date Python cannot hold (years 1 to 9999 only): keep the exact text.
        return text
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    value = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=_UTC)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        value -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return value


def _decode_bytes(text: Any) -> bytes:
    if not isinstance(text, str):
        raise CodecError("$bytes: expected a base64 string")
    # The codec accepts standard and URL-safe alphabets, padded or not.
    data = text.rstrip("=").encode("ascii", "replace").translate(_B64_TABLE)
    if len(data) % 4 == 1:
        raise CodecError("$bytes: invalid base64 length")
    try:
        return base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
    except binascii.Error:
        raise CodecError("$bytes: invalid base64") from None


def _hashable(value: Any) -> Any:
    """A hashable stand-in for a decoded key or set member: lists become tuples, sets frozensets."""
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, (set, frozenset)):
        return frozenset(value)
    hash(value)
    return value


def _decode_tag(tag: str, body: Any, depth: int) -> Any:
    if tag == "$bytes":
        return _decode_bytes(body)
    if tag == "$undefined":
        return None
    if tag == "$bigint":
        if not isinstance(body, str) or not _BIGINT.match(body):
            raise CodecError("$bigint: expected a string of digits")
        return int(body)
    if tag == "$number":
        if body == "NaN":
            return math.nan
        if body == "Infinity":
            return math.inf
        if body == "-Infinity":
            return -math.inf
        if body == "-0":
            return -0.0
        raise CodecError('$number: expected "NaN", "Infinity", "-Infinity" or "-0"')
    if tag == "$date":
        return _decode_date(body)
    if tag == "$map":
        if not isinstance(body, list) or not all(isinstance(pair, list) and len(pair) == 2 for pair in body):
            raise CodecError("$map: expected an array of [key, value] pairs")
        pairs = [(_decode(k, depth + 1), _decode(v, depth + 1)) for k, v in body]
        try:
            return JsMap((_hashable(k), v) for k, v in pairs)
        except TypeError:
            # Keys Python cannot hash (objects): the pairs themselves, nothing dropped.
            return [list(pair) for pair in pairs]
    if tag == "$set":
        if not isinstance(body, list):
            raise CodecError("$set: expected an array")
        items = [_decode(item, depth + 1) for item in body]
        try:
            return {_hashable(item) for item in items}
        except TypeError:
            return items
    if tag == "$escape":
        if not isinstance(body, dict):
            raise CodecError("$escape: expected an object")
        return {key: _decode(item, depth + 1) for key, item in body.items()}
    raise CodecError(f"unknown tag {tag}")  # pragma: no cover - TAGS is checked first


def _decode(value: Any, depth: int) -> Any:
    kind = type(value)
    if kind is list:
        if depth > _MAX_DECODE_DEPTH:
            raise CodecError(f"nested deeper than {_MAX_DECODE_DEPTH} levels")
        return [_decode(item, depth + 1) if type(item) is dict or type(item) is list else item for item in value]
    if kind is dict:
        if depth > _MAX_DECODE_DEPTH:
            raise CodecError(f"nested deeper than {_MAX_DECODE_DEPTH} levels")
        if len(value) == 1:
            key = next(iter(value))
            if key in TAGS:
                return _decode_tag(key, value[key], depth)
        return {key: _decode(item, depth + 1) if type(item) is dict or type(item) is list else item for key, item in value.items()}
    return value


def decode(value: Any) -> Any:
    """Turns parsed wire JSON into Python values (bytes, int, datetime, JsMap, set...)."""
    return _decode(value, 0)
