"""Every operation as a plan: a generator that yields the HTTP requests (and waits) it needs and
gets the answers sent back in. The synchronous and asyncio clients only drive plans, so retries,
batch chunking and error mapping are written once and behave the same in both."""
from __future__ import annotations

import logging
from typing import Any, Dict, Generator, List, Mapping, Optional, Protocol, Sequence, Tuple, TypeVar, Union

from . import _core
from ._core import Attempts, ClientInfo, RetryPolicy
from .errors import NoClient, Overloaded, PagecallError, PayloadTooLarge

log = logging.getLogger("pagecall")


class Request:
    """One HTTP exchange to make."""

    __slots__ = ("method", "path", "body", "timeout", "idempotent")

    def __init__(self, method: str, path: str, body: Optional[bytes], timeout: float, idempotent: bool) -> None:
        self.method = method
        self.path = path
        self.body = body
        #: Seconds to wait for the answer.
        self.timeout = timeout
        #: True when sending it twice is harmless (GET): it may be resent after a broken connection.
        self.idempotent = idempotent


class Headers(Protocol):
    """Response headers: http.client's message or httpx's headers, both case-insensitive."""

    def get(self, name: str) -> Optional[str]: ...


class Reply:
    """An HTTP answer; ``headers.get(name)`` ignores the case of ``name``."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Headers, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class Sleep:
    """Wait this many seconds before the next step."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds


T = TypeVar("T")
Step = Union[Request, Sleep]
#: An operation: yields steps, is sent each Request's Reply, returns its result.
Plan = Generator[Step, Optional[Reply], T]


def exchange(request: Request, attempts: Attempts, what: str) -> Generator[Step, Optional[Reply], Tuple[Reply, Dict[str, Any]]]:
    """Sends ``request`` until it succeeds or fails in a way the retry policy does not retry."""
    while True:
        try:
            reply = yield request
            assert reply is not None
            return reply, _core.parse_envelope(reply.status, reply.headers, reply.body)
        except PagecallError as error:
            delay = attempts.delay_after(error)
            if delay is None:
                raise
            log.info("pagecall: %s: %s; retrying in %.2f s", what, error, delay)
            yield Sleep(delay)


def call(group: str, action: str, args: Sequence[Any], client_id: Optional[str], timeout_ms: Optional[int], retry: Optional[bool], balance: Optional[str], default_timeout_ms: Optional[int], policy: RetryPolicy) -> Plan[Any]:
    """POST /v1/call; returns the decoded result."""
    _core.check_names(group, action)
    effective = timeout_ms if timeout_ms is not None else default_timeout_ms
    body = _core.call_body(group, action, args, client_id, effective, retry, balance)
    request = Request("POST", "/v1/call", body, _core.read_timeout(effective, None), False)
    reply, envelope = yield from exchange(request, Attempts(policy, False), f"{group}/{action}")
    return _core.decode_result(envelope.get("result"), _core.body_is_tagged(reply.body), reply.headers.get("x-request-id"))


class BatchState:
    """What a batch learns as it goes: the bridge's --max-batch, once a request was refused."""

    def __init__(self) -> None:
        self.max_batch = _core.DEFAULT_MAX_BATCH


def _send_chunk(group: str, action: str, items: Sequence[Dict[str, Any]], options: Tuple[Any, ...], state: BatchState, what: str) -> Generator[Step, Optional[Reply], List[Tuple[bool, Any]]]:
    """Sends one chunk (split further if the bridge finds it too large); returns its outcomes."""
    client_id, timeout_ms, retry, balance = options
    body = _core.batch_body(group, action, items, client_id, timeout_ms, retry, balance)
    request = Request("POST", "/v1/batch", body, _core.read_timeout(timeout_ms, None), False)
    try:
        reply, envelope = yield from exchange(request, Attempts(_core.NO_RETRY, False), what)
    except PayloadTooLarge as error:
        size = _core.split_refused_batch(error, len(items))
        if size is None:
            return [(False, error)]
        if error.message.startswith("calls:"):
            state.max_batch = size
        out: List[Tuple[bool, Any]] = []
        for start in range(0, len(items), size):
            out.extend((yield from _send_chunk(group, action, items[start : start + size], options, state, what)))
        return out
    return _core.batch_outcomes(envelope, _core.body_is_tagged(reply.body), len(items), reply.headers.get("x-request-id"))


def _run_chunk(group: str, action: str, items: Sequence[Dict[str, Any]], options: Tuple[Any, ...], state: BatchState, policy: RetryPolicy, what: str) -> Generator[Step, Optional[Reply], List[Tuple[bool, Any]]]:
    """One chunk with retries: the whole request after a refused connection, and the items that
    failed with OVERLOADED or NO_CLIENT (they never reached a page) under the same policy."""
    attempts = Attempts(policy, False)
    outcomes: List[Tuple[bool, Any]] = [(False, None)] * len(items)
    pending = list(range(len(items)))
    while True:
        subset = [items[i] for i in pending]
        try:
            got = yield from _send_chunk(group, action, subset, options, state, what)
        except PagecallError as error:
            delay = attempts.delay_after(error)
            if delay is None:
                raise
            log.info("pagecall: %s: %s; retrying in %.2f s", what, error, delay)
            yield Sleep(delay)
            continue
        for index, outcome in zip(pending, got):
            outcomes[index] = outcome
        retryable = [i for i in pending if not outcomes[i][0] and isinstance(outcomes[i][1], (Overloaded, NoClient))]
        if not retryable:
            return outcomes
        delay = attempts.delay_after(outcomes[retryable[0]][1])
        if delay is None:
            return outcomes
        log.info("pagecall: %s: %d calls got %s; retrying them in %.2f s", what, len(retryable), outcomes[retryable[0]][1].code, delay)
        yield Sleep(delay)
        pending = retryable


def batch(group: str, action: str, calls: Sequence[Any], client_id: Optional[str], timeout_ms: Optional[int], retry: Optional[bool], balance: Optional[str], default_timeout_ms: Optional[int], policy: RetryPolicy, chunk_size: Optional[int], return_exceptions: bool, state: BatchState) -> Plan[List[Any]]:
    """POST /v1/batch, one request per chunk, results in order."""
    _core.check_names(group, action)
    if chunk_size is not None and (isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"chunk_size: expected a positive int, got {chunk_size!r}")
    items = _core.batch_items(calls)
    effective = timeout_ms if timeout_ms is not None else default_timeout_ms
    options = (client_id, effective, retry, balance)
    outcomes: List[Tuple[bool, Any]] = []
    what = f"{group}/{action} batch"
    while len(outcomes) < len(items):
        size = min(chunk_size or state.max_batch, state.max_batch)
        outcomes.extend((yield from _run_chunk(group, action, items[len(outcomes) : len(outcomes) + size], options, state, policy, what)))
    if return_exceptions:
        return [value for _, value in outcomes]
    for index, (ok, value) in enumerate(outcomes):
        if not ok:
            error: PagecallError = value
            # Nothing is lost: every item's value or exception stays reachable from the raised one.
            error.batch_index = index  # type: ignore[attr-defined]
            error.batch_results = [v for _, v in outcomes]  # type: ignore[attr-defined]
            raise error
    return [value for _, value in outcomes]


def get(path: str, policy: RetryPolicy, what: str) -> Generator[Step, Optional[Reply], Tuple[Reply, Dict[str, Any]]]:
    """A GET that may be resent after a broken connection."""
    return (yield from exchange(Request("GET", path, None, _core.read_timeout(30_000, None), True), Attempts(policy, True), what))


def clients(group: Optional[str], policy: RetryPolicy) -> Plan[List[ClientInfo]]:
    """GET /v1/clients."""
    if group is not None:
        _core.check_names(group)
    reply, envelope = yield from get(_core.clients_path(group), policy, "clients")
    return _core.clients_from(envelope, reply.headers.get("x-request-id"))


def health(policy: RetryPolicy) -> Plan[Mapping[str, Any]]:
    """GET /health."""
    _, envelope = yield from get("/health", policy, "health")
    return envelope


def wait_for_action(group: str, action: str, timeout: float, policy: RetryPolicy, clock: Any) -> Plan[ClientInfo]:
    """Polls GET /v1/clients until a page of ``group`` registered ``action``; returns that page."""
    _core.check_names(group, action)
    deadline = clock() + timeout
    delay = 0.05
    while True:
        pages: List[ClientInfo] = yield from clients(group, policy)
        for page in pages:
            if action in page.actions:
                return page
        if clock() + delay > deadline:
            raise NoClient(f"no page in group {group!r} registered {action!r} within {timeout:g} s", {"group": group})
        yield Sleep(delay)
        delay = min(delay * 2, 0.5)


def eval_code(group: str, code: str, client_id: Optional[str], timeout_ms: Optional[int], default_timeout_ms: Optional[int], policy: RetryPolicy) -> Plan[Any]:
    """POST /v1/eval; returns the decoded value."""
    _core.check_names(group)
    if not isinstance(code, str):
        raise TypeError(f"code: expected str, got {type(code).__name__}")
    effective = timeout_ms if timeout_ms is not None else default_timeout_ms
    request = Request("POST", "/v1/eval", _core.eval_body(group, code, client_id, effective), _core.read_timeout(effective, None), False)
    reply, envelope = yield from exchange(request, Attempts(policy, False), f"{group}/eval")
    return _core.decode_result(envelope.get("result"), _core.body_is_tagged(reply.body), reply.headers.get("x-request-id"))


def kick(client_id: str, policy: RetryPolicy) -> Plan[None]:
    """DELETE /v1/clients/:id."""
    if not isinstance(client_id, str):
        raise TypeError(f"client_id: expected str, got {type(client_id).__name__}")
    # Disconnecting twice is harmless, so a broken connection may be retried.
    yield from exchange(Request("DELETE", _core.kick_path(client_id), None, _core.read_timeout(30_000, None), True), Attempts(policy, True), "kick")
    return None


__all__ = ["BatchState", "Headers", "Plan", "Reply", "Request", "Sleep", "batch", "call", "clients", "eval_code", "health", "kick", "wait_for_action"]
