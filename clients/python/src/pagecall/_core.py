"""What the synchronous and asyncio clients share: settings, request bodies, reading answers, and
the retry policy. No I/O here; each client brings its own transport and its own way to sleep."""
from __future__ import annotations

import json
import os
import random
import re
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple
from urllib.parse import quote, urlsplit

from datetime import datetime

from .codec import CodecError, _decode_date, decode, encode_args
from .errors import (
    BadRequest,
    BadResponse,
    BridgeUnavailable,
    NoClient,
    Overloaded,
    PagecallError,
    PayloadTooLarge,
    ResultNotSerializable,
    error_from_wire,
)

VERSION = "0.1.0"

#: Where the bridge listens unless PAGECALL_URL or ``url`` says otherwise.
DEFAULT_URL = "http://127.0.0.1:12180"

#: Calls per /v1/batch request until the bridge says its --max-batch is lower (its default).
DEFAULT_MAX_BATCH = 10_000

#: The bridge's largest deadline (--max-timeout-ms default): how long an answer can take when the
#: call itself sets no timeout_ms.
_BRIDGE_MAX_TIMEOUT_S = 600.0

#: Added to a call's deadline before the client stops waiting: the bridge's TIMEOUT should win.
_DEADLINE_GRACE_S = 10.0

_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


@dataclass(frozen=True)
class RetryPolicy:
    """When the client sends a request again by itself. Only failures where the call cannot have
    reached a page are retried: OVERLOADED (queued, never started) and connections the bridge
    refused (it is restarting). Timeouts, page errors and broken connections are never retried for
    calls, because the page may have run the function."""

    #: Seconds to keep retrying while the bridge refuses connections (a restart); 0 turns it off.
    #: After such an outage NO_CLIENT is retried within the same window, while pages reconnect.
    restart_wait: float = 10.0
    #: How many times to resend after OVERLOADED, each after the bridge's Retry-After.
    overloaded: int = 3
    #: Longest Retry-After honoured; a longer one is raised as Overloaded at once.
    max_retry_after: float = 30.0
    #: Seconds to keep retrying NO_CLIENT (wait for a page to join); 0 (default) raises at once.
    no_client_wait: float = 0.0


#: A policy that never retries.
NO_RETRY = RetryPolicy(restart_wait=0.0, overloaded=0, no_client_wait=0.0)


class Attempts:
    """The retry state of one request: asked after each failure how long to wait, or None to raise."""

    __slots__ = ("policy", "idempotent", "overloaded", "down_since", "no_client_since", "backoff", "deadline")

    def __init__(self, policy: RetryPolicy, idempotent: bool, deadline: Optional[float] = None) -> None:
        self.policy = policy
        self.idempotent = idempotent
        self.overloaded = 0
        self.down_since: Optional[float] = None
        self.no_client_since: Optional[float] = None
        self.backoff = 0.05
        self.deadline = deadline

    def _next_backoff(self) -> float:
        # Exponential from 50 ms to 1 s, jittered so many callers do not come back in step.
        delay = self.backoff * random.uniform(0.5, 1.0)
        self.backoff = min(self.backoff * 2, 1.0)
        return delay

    def _within(self, since: float, window: float, delay: float, now: float) -> bool:
        if now + delay - since > window:
            return False
        return self.deadline is None or now + delay < self.deadline

    def delay_after(self, error: PagecallError) -> Optional[float]:
        """Seconds to wait before sending again, or None when ``error`` must be raised."""
        now = time.monotonic()
        policy = self.policy
        if isinstance(error, BridgeUnavailable):
            data = error.data if isinstance(error.data, Mapping) else {}
            refused = data.get("reason") == "refused"
            # A request that may have reached the bridge is resent only when resending is harmless.
            if not refused and not (data.get("sent") and self.idempotent):
                return None
            if policy.restart_wait <= 0:
                return None
            if self.down_since is None:
                self.down_since = now
            delay = self._next_backoff()
            return delay if self._within(self.down_since, policy.restart_wait, delay, now) else None
        if isinstance(error, Overloaded):
            if self.overloaded >= policy.overloaded or error.retry_after > policy.max_retry_after:
                return None
            self.overloaded += 1
            delay = error.retry_after * random.uniform(1.0, 1.1)
            return delay if self.deadline is None or now + delay < self.deadline else None
        if isinstance(error, NoClient):
            # Never reached a page, so always safe; worth it while pages come back after a restart.
            delay = self._next_backoff()
            if self.down_since is not None and self._within(self.down_since, policy.restart_wait, delay, now):
                return delay
            if policy.no_client_wait > 0:
                if self.no_client_since is None:
                    self.no_client_since = now
                if self._within(self.no_client_since, policy.no_client_wait, delay, now):
                    return delay
            return None
        return None


@dataclass(frozen=True)
class Endpoint:
    """A resolved bridge address and the headers every request carries."""

    scheme: str
    host: str
    port: int
    #: Path prefix when the bridge sits behind a proxy at a sub-path (``/pagecall``), else ``""``.
    base_path: str
    #: The Host header: the URL's host and port, as given.
    host_header: str
    #: Lower-case names; validated to hold no line breaks.
    headers: Mapping[str, str]
    url: str


_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")


def resolve_endpoint(url: Optional[str], token: Optional[str], headers: Optional[Mapping[str, str]], client: str) -> Endpoint:
    """Reads ``url``/``token`` or PAGECALL_URL/PAGECALL_TOKEN, validates, and builds the headers."""
    raw = url if url is not None else os.environ.get("PAGECALL_URL") or DEFAULT_URL
    if token is None:
        token = os.environ.get("PAGECALL_TOKEN") or None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"url: expected http://host:port or https://host:port, got {raw!r}")
    if parts.query or parts.fragment or parts.username is not None:
        raise ValueError(f"url: expected no credentials, query or fragment, got {raw!r} (pass the token as token= or PAGECALL_TOKEN)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    base = quote(parts.path.rstrip("/"), safe="/%:@!$&'()*+,;=-._~")
    merged: Dict[str, str] = {"user-agent": f"pagecall-{client}/{VERSION}"}
    if token:
        merged["authorization"] = f"Bearer {token}"
    for name, value in (headers or {}).items():
        merged[name.lower()] = value
    for name, value in merged.items():
        if not _HEADER_NAME.match(name):
            raise ValueError(f"headers: {name!r} is not a valid header name")
        if not isinstance(value, str) or "\r" in value or "\n" in value:
            raise ValueError(f"headers: the value of {name!r} must be a string without line breaks")
    return Endpoint(parts.scheme, parts.hostname, port, base, parts.netloc, merged, f"{parts.scheme}://{parts.netloc}{base}")


def _options(body: Dict[str, Any], client_id: Optional[str], timeout_ms: Optional[int], retry: Optional[bool], balance: Optional[str]) -> None:
    if client_id is not None:
        body["clientId"] = client_id
    if timeout_ms is not None:
        if isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int):
            raise BadRequest(f"timeout_ms: expected an int of milliseconds, got {type(timeout_ms).__name__}")
        body["timeoutMs"] = timeout_ms
    if retry is not None:
        body["retry"] = bool(retry)
    if balance is not None:
        body["balance"] = balance


def encode_call_args(args: Sequence[Any]) -> List[Any]:
    """Encodes arguments; a value that cannot travel is BadRequest naming where it is."""
    try:
        return encode_args(args)
    except CodecError as error:
        raise BadRequest(str(error), {"path": error.path}) from None


def call_body(group: str, action: str, args: Sequence[Any], client_id: Optional[str], timeout_ms: Optional[int], retry: Optional[bool], balance: Optional[str]) -> bytes:
    """The POST /v1/call body."""
    body: Dict[str, Any] = {"group": group, "action": action, "args": encode_call_args(args)}
    _options(body, client_id, timeout_ms, retry, balance)
    return _dumps(body).encode()


def batch_items(items: Iterable[Any]) -> List[Dict[str, Any]]:
    """Batch items as ``{"args": [...]}``: a tuple is the argument list, anything else one argument."""
    out: List[Dict[str, Any]] = []
    for i, item in enumerate(items):
        args = item if type(item) is tuple else (item,)
        try:
            out.append({"args": encode_args(args)})
        except CodecError as error:
            raise BadRequest(f"calls[{i}].{error}", {"path": f"calls[{i}].{error.path}"}) from None
    return out


def batch_body(group: str, action: str, items: Sequence[Dict[str, Any]], client_id: Optional[str], timeout_ms: Optional[int], retry: Optional[bool], balance: Optional[str]) -> bytes:
    """The POST /v1/batch body for one chunk of items."""
    calls = [{"action": action, **item} for item in items]
    if client_id is not None:
        for call in calls:
            call["clientId"] = client_id
    body: Dict[str, Any] = {"group": group, "calls": calls}
    _options(body, None, timeout_ms, retry, balance)
    return _dumps(body).encode()


def eval_body(group: str, code: str, client_id: Optional[str], timeout_ms: Optional[int]) -> bytes:
    """The POST /v1/eval body."""
    body: Dict[str, Any] = {"group": group, "code": code}
    _options(body, client_id, timeout_ms, None, None)
    return _dumps(body).encode()


def clients_path(group: Optional[str]) -> str:
    return "/v1/clients" if group is None else "/v1/clients?group=" + quote(group, safe="")


def kick_path(client_id: str) -> str:
    return "/v1/clients/" + quote(client_id, safe="")


def read_timeout(timeout_ms: Optional[int], default_timeout_ms: Optional[int]) -> float:
    """How long to wait for an answer: the call's deadline plus a grace, so the bridge's TIMEOUT
    (which also cancels the call in the page) arrives before the client gives up."""
    ms = timeout_ms if timeout_ms is not None else default_timeout_ms
    return (ms / 1000.0 if ms is not None else _BRIDGE_MAX_TIMEOUT_S) + _DEADLINE_GRACE_S


def parse_envelope(status: int, headers: Any, body: bytes) -> Dict[str, Any]:
    """Reads a response: the ``{ok: true, ...}`` envelope, or raises the coded error it carries."""
    request_id = headers.get("x-request-id")
    try:
        envelope = json.loads(body)
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("ok"), bool):
        snippet = body[:200].decode("utf-8", "replace")
        raise BadResponse(f"HTTP {status} from something that is not a pagecall bridge (is the URL right?): {snippet!r}", {"status": status}, request_id=request_id)
    if envelope["ok"]:
        return envelope
    retry_after = None
    header = headers.get("retry-after")
    if header is not None:
        try:
            retry_after = float(header)
        except ValueError:
            retry_after = None
    raise error_from_wire(envelope.get("error"), status, request_id, retry_after)


def decode_result(value: Any, tagged: bool, request_id: Optional[str]) -> Any:
    """Decodes a result's tagged values; ``tagged`` False (no ``"$`` in the body) skips the walk."""
    if not tagged or value is None or type(value) not in (dict, list):
        return value
    try:
        return decode(value)
    except CodecError as error:
        raise ResultNotSerializable(f"the page returned a malformed value: {error}", request_id=request_id) from None


def body_is_tagged(body: bytes) -> bool:
    """True when the response may hold tagged values (any key starting with ``$``)."""
    return b'"$' in body


def batch_outcomes(envelope: Dict[str, Any], tagged: bool, count: int, request_id: Optional[str]) -> List[Tuple[bool, Any]]:
    """Each item of a batch answer as ``(True, value)`` or ``(False, PagecallError)``."""
    results = envelope.get("results")
    if not isinstance(results, list) or len(results) != count:
        raise BadResponse(f"expected {count} batch results, got {type(results).__name__}", request_id=request_id)
    out: List[Tuple[bool, Any]] = []
    for item in results:
        if isinstance(item, dict) and item.get("ok") is True:
            try:
                out.append((True, decode_result(item.get("result"), tagged, request_id)))
            except PagecallError as error:
                out.append((False, error))
        elif isinstance(item, dict):
            out.append((False, error_from_wire(item.get("error"), None, request_id)))
        else:
            out.append((False, BadResponse(f"expected a batch result object, got {item!r:.100}", request_id=request_id)))
    return out


def split_refused_batch(error: PayloadTooLarge, count: int) -> Optional[int]:
    """How many calls to send per request after the bridge refused a batch of ``count`` as too
    large, or None when it cannot be split further (the refused request ran nothing, so resending
    smaller pieces is safe)."""
    if count <= 1:
        return None
    limit = error.limit
    if isinstance(limit, int) and 0 < limit < count and error.message.startswith("calls:"):
        return limit  # over --max-batch
    return (count + 1) // 2  # over --max-body-bytes: halve until it fits


def check_names(group: Any, action: Optional[Any] = None) -> None:
    """Type checks that save a round trip; the bridge validates the names themselves."""
    if not isinstance(group, str):
        raise BadRequest(f"group: expected str, got {type(group).__name__}")
    if action is not None and not isinstance(action, str):
        raise BadRequest(f"action: expected str, got {type(action).__name__}")


@dataclass(frozen=True)
class ClientInfo:
    """A connected page, as GET /v1/clients reports it."""

    #: The page's client id (pass it as ``client_id`` to call this page only).
    id: str
    group: str
    #: The functions it registered.
    actions: Tuple[str, ...]
    url: str
    title: str
    origin: Optional[str]
    remote_address: Optional[str]
    #: When it connected (UTC).
    connected_at: Optional[datetime]
    #: Calls running in it now.
    in_flight: int
    #: Calls it answered, and how many of them failed.
    served: int
    failed: int
    #: The cluster node holding the page (None when the bridge is not in a cluster).
    node: Optional[str] = None

    @classmethod
    def from_wire(cls, raw: Mapping[str, Any]) -> "ClientInfo":
        """Reads one entry of GET /v1/clients."""
        connected = raw.get("connectedAt")
        try:
            decoded = _decode_date(connected) if isinstance(connected, str) else None
            connected_at = decoded if isinstance(decoded, datetime) else None
        except CodecError:
            connected_at = None
        return cls(
            id=str(raw.get("id", "")),
            group=str(raw.get("group", "")),
            actions=tuple(raw.get("actions") or ()),
            url=str(raw.get("url", "")),
            title=str(raw.get("title", "")),
            origin=raw.get("origin"),
            remote_address=raw.get("remoteAddress"),
            connected_at=connected_at,
            in_flight=int(raw.get("inFlight") or 0),
            served=int(raw.get("served") or 0),
            failed=int(raw.get("failed") or 0),
            node=raw.get("node") if isinstance(raw.get("node"), str) else None,
        )


def clients_from(envelope: Mapping[str, Any], request_id: Optional[str]) -> List[ClientInfo]:
    raw = envelope.get("clients")
    if not isinstance(raw, list):
        raise BadResponse(f"expected a clients list, got {type(raw).__name__}", request_id=request_id)
    return [ClientInfo.from_wire(item) for item in raw if isinstance(item, Mapping)]
