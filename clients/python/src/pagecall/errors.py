"""One exception class per error code of the catalogue (docs/errors.md, protocol/errors.ts).

Every class is a PagecallError with ``code``, ``message``, ``data``, ``status`` and ``retryable``;
catch a class (``except NoClient``) or branch on ``error.code``. test/unit/python-errors.test.ts
keeps CATALOGUE equal to protocol/errors.ts.
"""
from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Tuple, Type

__all__ = [
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
    "CATALOGUE",
    "error_from_wire",
]


class PagecallError(Exception):
    """A failed pagecall request. ``code`` is the catalogue code; branch on it or on the subclass."""

    #: The catalogue code (a client-side code for BridgeUnavailable and BadResponse).
    code: str = "INTERNAL"
    #: HTTP status the bridge answers this code with (None for client-side codes).
    status: Optional[int] = None
    #: True when sending the same request again later may succeed.
    retryable: bool = False

    def __init__(self, message: str, data: Any = None, *, code: Optional[str] = None, status: Optional[int] = None, request_id: Optional[str] = None) -> None:
        super().__init__(message)
        #: Human-readable; may change between versions (branch on ``code`` instead).
        self.message = message
        #: Details from the bridge (``limit``, ``available``, the page's ``stack``...), or None.
        self.data = data
        #: The ``x-request-id`` of the HTTP exchange, for matching the bridge's logs.
        self.request_id = request_id
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"

    def __reduce__(self) -> Any:
        # Picklable (multiprocessing, concurrent.futures) with every attribute kept.
        return (_rebuild, (type(self), self.message, self.data, self.code, self.status, self.request_id, self.__dict__.copy()))


def _rebuild(cls: Type[PagecallError], message: str, data: Any, code: str, status: Optional[int], request_id: Optional[str], state: Dict[str, Any]) -> PagecallError:
    error = cls.__new__(cls)
    PagecallError.__init__(error, message, data, code=code, status=status, request_id=request_id)
    error.__dict__.update(state)
    return error


def _field(data: Any, name: str) -> Any:
    return data.get(name) if isinstance(data, Mapping) else None


def _int_field(data: Any, name: str) -> Optional[int]:
    value = _field(data, name)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class BadRequest(PagecallError):
    """The request is malformed (the message names the field), or an argument cannot be encoded."""

    code, status, retryable = "BAD_REQUEST", 400, False


class Unauthorized(PagecallError):
    """The bridge needs a token (PAGECALL_TOKEN) and it was missing or wrong."""

    code, status, retryable = "UNAUTHORIZED", 401, False


class Forbidden(PagecallError):
    """The request's Host or Origin is not one the bridge serves."""

    code, status, retryable = "FORBIDDEN", 403, False


class EvalDisabled(PagecallError):
    """eval() is off on this bridge; start it with --allow-eval."""

    code, status, retryable = "EVAL_DISABLED", 403, False


class NotFound(PagecallError):
    """No such HTTP route (is the URL's path right?)."""

    code, status, retryable = "NOT_FOUND", 404, False


class ActionNotFound(PagecallError):
    """Pages are in the group but none registered the action; ``available`` lists what they have."""

    code, status, retryable = "ACTION_NOT_FOUND", 404, False

    @property
    def available(self) -> "list[str]":
        """The actions the group's pages registered."""
        return list(_field(self.data, "available") or [])


class ClientNotFound(PagecallError):
    """No connected page has that client id."""

    code, status, retryable = "CLIENT_NOT_FOUND", 404, False


class MethodNotAllowed(PagecallError):
    """The route exists but not for this HTTP method."""

    code, status, retryable = "METHOD_NOT_ALLOWED", 405, False


class PayloadTooLarge(PagecallError):
    """The body, batch or frame is over the bridge's limit; ``limit`` gives it."""

    code, status, retryable = "PAYLOAD_TOO_LARGE", 413, False

    @property
    def limit(self) -> Optional[int]:
        """The limit that was exceeded (bytes, or calls per batch)."""
        return _int_field(self.data, "limit")


class UnsupportedMediaType(PagecallError):
    """The body was not sent as JSON."""

    code, status, retryable = "UNSUPPORTED_MEDIA_TYPE", 415, False


class Overloaded(PagecallError):
    """Every page with the action is at its in-flight limit; retry after ``retry_after`` seconds."""

    code, status, retryable = "OVERLOADED", 429, True

    @property
    def retry_after(self) -> float:
        """Seconds to wait before sending again (the Retry-After header; 1 when absent)."""
        value = _field(self.data, "retryAfterSeconds")
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else 1.0


class Cancelled(PagecallError):
    """The call was cancelled because its caller went away."""

    code, status, retryable = "CANCELLED", 499, False


class InternalError(PagecallError):
    """A bug in pagecall; the message says what failed."""

    code, status, retryable = "INTERNAL", 500, True


class PageError(PagecallError):
    """The page function threw or rejected: ``name``, ``page_message`` and ``stack`` are the page's."""

    code, status, retryable = "PAGE_ERROR", 502, False

    @property
    def name(self) -> str:
        """The page error's name (``TypeError``...)."""
        return str(_field(self.data, "name") or "Error")

    @property
    def page_message(self) -> str:
        """The page error's own message (``message`` is the bridge's summary, ``Name: message``)."""
        value = _field(self.data, "message")
        return self.message if value is None else str(value)

    @property
    def stack(self) -> str:
        """The page's stack trace, or ``""``."""
        return str(_field(self.data, "stack") or "")

    @property
    def client_id(self) -> Optional[str]:
        """The page that threw."""
        value = _field(self.data, "clientId")
        return value if isinstance(value, str) else None


class ClientDisconnected(PagecallError):
    """The page disconnected while running the call and no other page could take it."""

    code, status, retryable = "CLIENT_DISCONNECTED", 502, True


class ResultNotSerializable(PagecallError):
    """The page function returned something that cannot be sent (a cycle, too deep, malformed)."""

    code, status, retryable = "RESULT_NOT_SERIALIZABLE", 502, False


class ResultTooLarge(PagecallError):
    """The page function's result is over the frame limit; ``limit`` gives it."""

    code, status, retryable = "RESULT_TOO_LARGE", 502, False

    @property
    def limit(self) -> Optional[int]:
        """The bridge's frame limit in bytes."""
        return _int_field(self.data, "limit")


class NoClient(PagecallError):
    """No page is connected in the group (or with the requested client id)."""

    code, status, retryable = "NO_CLIENT", 503, True


class ShuttingDown(PagecallError):
    """The bridge is shutting down."""

    code, status, retryable = "SHUTTING_DOWN", 503, True


class Timeout(PagecallError, TimeoutError):
    """The call did not finish before its deadline (also a built-in TimeoutError)."""

    code, status, retryable = "TIMEOUT", 504, True


class BadFrame(PagecallError):
    """A page sent an invalid frame (reported to pages, never to callers; here for completeness)."""

    code, status, retryable = "BAD_FRAME", 400, False


class ProtocolMismatch(PagecallError):
    """A page speaks another protocol version (reported to pages, never to callers)."""

    code, status, retryable = "PROTOCOL_MISMATCH", 400, False


class BridgeUnavailable(PagecallError, ConnectionError):
    """Client-side: the bridge could not be reached, or the connection broke before an answer.

    ``sent`` is False when the request never left (connection refused), True when it may have
    reached the bridge (so the call may have run)."""

    code, status, retryable = "BRIDGE_UNAVAILABLE", None, True

    @property
    def sent(self) -> bool:
        """Whether the request may have reached the bridge."""
        return bool(_field(self.data, "sent"))


class BadResponse(PagecallError):
    """Client-side: the server answered something that is not a pagecall response (wrong URL?)."""

    code, status, retryable = "BAD_RESPONSE", None, False


_CLASSES: Tuple[Type[PagecallError], ...] = (
    BadRequest,
    Unauthorized,
    Forbidden,
    EvalDisabled,
    NotFound,
    ActionNotFound,
    ClientNotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    Overloaded,
    Cancelled,
    InternalError,
    PageError,
    ClientDisconnected,
    ResultNotSerializable,
    ResultTooLarge,
    NoClient,
    ShuttingDown,
    Timeout,
    BadFrame,
    ProtocolMismatch,
)

#: Catalogue code -> exception class (the bridge's codes only; client-side codes are not in it).
CATALOGUE: Mapping[str, Type[PagecallError]] = {cls.code: cls for cls in _CLASSES}


def error_from_wire(error: Any, status: Optional[int] = None, request_id: Optional[str] = None, retry_after: Optional[float] = None) -> PagecallError:
    """Builds the exception for a wire error ``{code, message, data?}`` (as in a batch item)."""
    if not isinstance(error, Mapping) or not isinstance(error.get("code"), str):
        return BadResponse(f"expected an error object with a code, got {error!r:.200}", {"status": status}, request_id=request_id)
    code = error["code"]
    message = str(error.get("message", ""))
    data = error.get("data")
    if retry_after is not None and code == "OVERLOADED" and _field(data, "retryAfterSeconds") is None:
        data = {**(data if isinstance(data, Mapping) else {}), "retryAfterSeconds": retry_after}
    cls = CATALOGUE.get(code)
    if cls is None:
        # A code from a newer bridge: still a PagecallError with that code.
        return PagecallError(message, data, code=code, status=status, request_id=request_id)
    return cls(message, data, request_id=request_id)
