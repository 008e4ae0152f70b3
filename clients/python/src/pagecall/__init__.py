"""pagecall: call functions that live inside web pages, through a pagecall bridge.

    from pagecall import Bridge, NoClient, PageError
    b = Bridge()                                 # PAGECALL_URL / PAGECALL_TOKEN, default http://127.0.0.1:12180
    frame = b.call("room", "decode", raw_bytes)  # bytes in, dict out: bytes, big ints, dates decoded
    sigs = b.batch("shop", "sign", paths)        # one request per chunk, results in order
    for entry in b.stream("room", "chat"):       # what pages publish, as it arrives
        print(entry.value)

AsyncBridge (asyncio, on httpx) is imported on first use so the synchronous client needs only the
standard library. docs/clients.md describes every call, value and error.
"""
from typing import TYPE_CHECKING, Any

from ._core import DEFAULT_URL, NO_RETRY, VERSION, ClientInfo, RetryPolicy
from ._stream import StreamEntry
from .bridge import Bridge
from .codec import UNDEFINED, CodecError, JsMap, decode, encode
from .errors import (
    CATALOGUE,
    ActionNotFound,
    BadFrame,
    BadRequest,
    BadResponse,
    BridgeUnavailable,
    Cancelled,
    ClientDisconnected,
    ClientNotFound,
    EvalDisabled,
    Forbidden,
    InternalError,
    MethodNotAllowed,
    NoClient,
    NotFound,
    Overloaded,
    PageError,
    PagecallError,
    PayloadTooLarge,
    ProtocolMismatch,
    ResultNotSerializable,
    ResultTooLarge,
    ShuttingDown,
    Timeout,
    Unauthorized,
    UnsupportedMediaType,
)

if TYPE_CHECKING:
    from .aio import AsyncBridge

__version__ = VERSION

__all__ = [
    "Bridge",
    "AsyncBridge",
    "RetryPolicy",
    "NO_RETRY",
    "ClientInfo",
    "StreamEntry",
    "DEFAULT_URL",
    "UNDEFINED",
    "JsMap",
    "encode",
    "decode",
    "CodecError",
    "CATALOGUE",
    "PagecallError",
    "BadRequest",
    "Unauthorized",
    "Forbidden",
    "EvalDisabled",
    "NotFound",
    "ActionNotFound",
    "ClientNotFound",
    "MethodNotAllowed",
    "PayloadTooLarge",
    "UnsupportedMediaType",
    "Overloaded",
    "Cancelled",
    "InternalError",
    "PageError",
    "ClientDisconnected",
    "ResultNotSerializable",
    "ResultTooLarge",
    "NoClient",
    "ShuttingDown",
    "Timeout",
    "BadFrame",
    "ProtocolMismatch",
    "BridgeUnavailable",
    "BadResponse",
]


def __getattr__(name: str) -> Any:
    if name == "AsyncBridge":
        from .aio import AsyncBridge

        return AsyncBridge
    raise AttributeError(f"module 'pagecall' has no attribute {name!r}")
