"""The synchronous client: standard library only, persistent connections, safe to share across threads."""
from __future__ import annotations

import http.client
import os
import select
import socket
import threading
import time
from typing import Any, Iterable, Iterator, List, Mapping, Optional, cast

from . import _plan
from ._core import ClientInfo, Endpoint, RetryPolicy, parse_envelope, resolve_endpoint
from ._stream import FIRST_RETRY_S, MAX_RETRY_S, SILENCE_S, StreamEntry, entry_from_line, stream_headers, stream_path
from .errors import BadResponse, BridgeUnavailable, PagecallError, Timeout

__all__ = ["Bridge"]


class _Connection(http.client.HTTPConnection):
    """A connection to the bridge with Nagle off. http.client opens it (and wraps TLS in the HTTPS
    form); the Bridge writes requests itself (see Bridge._exchange) and reads answers with
    http.client's HTTPResponse."""

    idle_since = 0.0
    read_timeout: Optional[float] = None

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _TlsConnection(http.client.HTTPSConnection):
    """The HTTPS form of _Connection (a bridge behind a TLS proxy)."""

    idle_since = 0.0
    read_timeout: Optional[float] = None

    def connect(self) -> None:
        super().connect()
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


_poll = getattr(select, "poll", None)


def _dropped(sock: Any) -> bool:
    """True when the server closed an idle connection: it is readable (EOF, or bytes nobody asked for)."""
    try:
        if _poll is not None:
            poller = _poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


class _Pool:
    """Idle keep-alive connections to one bridge. Threads take one for each request and give it
    back; when none is idle a new one is opened, and at most ``size`` idle ones are kept."""

    def __init__(self, endpoint: Endpoint, size: int, connect_timeout: float, idle_timeout: float) -> None:
        self._endpoint = endpoint
        self._size = size
        self._connect_timeout = connect_timeout
        self._idle_timeout = idle_timeout
        self._idle: List[Any] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self._closed = False

    def take(self) -> Any:
        now = time.monotonic()
        while True:
            with self._lock:
                if self._pid != os.getpid():
                    # A forked child must not share its parent's sockets.
                    self._idle = []
                    self._pid = os.getpid()
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                break
            # The bridge closes connections idle for 5 s (node's keep-alive timeout); a request sent on
            # one it is closing would fail after it may have been read, so such connections are not used.
            if now - conn.idle_since < self._idle_timeout and conn.sock is not None and not _dropped(conn.sock):
                return conn
            conn.close()
        e = self._endpoint
        cls = _TlsConnection if e.scheme == "https" else _Connection
        return cls(e.host, e.port, timeout=self._connect_timeout)

    def give_back(self, conn: Any) -> None:
        conn.idle_since = time.monotonic()
        with self._lock:
            if not self._closed and len(self._idle) < self._size and self._pid == os.getpid():
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class Bridge:
    """A client for one pagecall bridge. Thread-safe: share one instance across threads.

    ``url`` and ``token`` default to PAGECALL_URL and PAGECALL_TOKEN, then http://127.0.0.1:12180
    and no token. ``timeout_ms`` is the default deadline of calls (None: the bridge's, 30 s unless
    configured). ``retry_policy`` says what is retried (see RetryPolicy). ``pool_size`` is how many
    idle connections are kept for reuse; ``headers`` are sent with every request."""

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        *,
        timeout_ms: Optional[int] = None,
        retry_policy: RetryPolicy = RetryPolicy(),
        pool_size: int = 16,
        connect_timeout: float = 10.0,
        idle_timeout: float = 4.0,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self._endpoint = resolve_endpoint(url, token, headers, "python")
        self._timeout_ms = timeout_ms
        self._policy = retry_policy
        self._pool_settings = (pool_size, connect_timeout, idle_timeout)
        self._pool = _Pool(self._endpoint, *self._pool_settings)
        self._batch_state = _plan.BatchState()
        # Every request's head but its first line and length, built once: a request is then one
        # join and one write (http.client would validate each header again, and send the head and
        # the body in two writes).
        static = "".join(f"{name}: {value}\r\n" for name, value in self._endpoint.headers.items())
        common = f"host: {self._endpoint.host_header}\r\naccept-encoding: identity\r\n{static}"
        self._get_head = (common + "\r\n").encode("latin-1")
        self._post_head = (common + "content-type: application/json\r\ncontent-length: ").encode("latin-1")

    @property
    def url(self) -> str:
        """The bridge's base URL."""
        return self._endpoint.url

    def __repr__(self) -> str:
        return f"Bridge({self.url!r})"

    def __enter__(self) -> "Bridge":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Closes the idle connections. The Bridge stays usable (new connections are opened)."""
        old, self._pool = self._pool, _Pool(self._endpoint, *self._pool_settings)
        old.close()

    def call(
        self,
        group: str,
        action: str,
        *args: Any,
        client_id: Optional[str] = None,
        timeout_ms: Optional[int] = None,
        retry: Optional[bool] = None,
        balance: Optional[str] = None,
        retry_policy: Optional[RetryPolicy] = None,
    ) -> Any:
        """Runs ``action`` in a page of ``group`` with ``args`` and returns its result.

        ``client_id`` picks the page; ``timeout_ms`` is the deadline; ``retry=False`` stops the bridge
        from running the call again on another page when its page disconnects mid-call; ``balance``
        is ``"least-in-flight"`` or ``"round-robin"``. Raises a PagecallError subclass on failure."""
        return self._drive(_plan.call(group, action, args, client_id, timeout_ms, retry, balance, self._timeout_ms, retry_policy or self._policy))

    def batch(
        self,
        group: str,
        action: str,
        calls: Iterable[Any],
        *,
        client_id: Optional[str] = None,
        timeout_ms: Optional[int] = None,
        retry: Optional[bool] = None,
        balance: Optional[str] = None,
        return_exceptions: bool = False,
        chunk_size: Optional[int] = None,
        retry_policy: Optional[RetryPolicy] = None,
    ) -> List[Any]:
        """Runs ``action`` once per item of ``calls`` (a tuple is an argument list, anything else a
        single argument) and returns the results in order. Items go in one /v1/batch request per
        chunk of at most the bridge's --max-batch (or ``chunk_size``) and run concurrently.

        With ``return_exceptions=True`` a failed item's place holds its PagecallError. Otherwise every
        chunk still runs, then the first failure is raised with ``batch_index`` (its position) and
        ``batch_results`` (every item's value or exception) attached."""
        return self._drive(_plan.batch(group, action, list(calls), client_id, timeout_ms, retry, balance, self._timeout_ms, retry_policy or self._policy, chunk_size, return_exceptions, self._batch_state))

    def clients(self, group: Optional[str] = None) -> List[ClientInfo]:
        """The connected pages (of ``group``, or all)."""
        return self._drive(_plan.clients(group, self._policy))

    def wait_for_action(self, group: str, action: str, timeout: float = 30.0) -> ClientInfo:
        """Waits until a page of ``group`` has registered ``action`` and returns that page; NoClient
        after ``timeout`` seconds."""
        return self._drive(_plan.wait_for_action(group, action, timeout, self._policy, time.monotonic))

    def eval(self, group: str, code: str, *, client_id: Optional[str] = None, timeout_ms: Optional[int] = None) -> Any:
        """Runs a code string in a page (POST /v1/eval; the bridge needs --allow-eval, else
        EvalDisabled) and returns its value."""
        return self._drive(_plan.eval_code(group, code, client_id, timeout_ms, self._timeout_ms, self._policy))

    def kick(self, client_id: str) -> None:
        """Disconnects a page (it does not reconnect by itself); ClientNotFound if there is none."""
        self._drive(_plan.kick(client_id, self._policy))

    def health(self) -> Mapping[str, Any]:
        """GET /health: name, version, protocol, clients, tokenRequired."""
        return self._drive(_plan.health(self._policy))

    def stream(
        self,
        group: str,
        topic: str,
        *,
        client_id: Optional[str] = None,
        since: Optional[str] = None,
        reconnect_wait: float = 60.0,
    ) -> Iterator[StreamEntry]:
        """What pages of ``group`` publish to ``topic`` (pagecall.emit, taps), as it arrives: an
        iterator of StreamEntry, events with their values decoded, error events and gap markers.

        Live from now, or after the entry id ``since`` (``"0"``: everything the bridge still keeps).
        ``client_id`` keeps one page's entries. A dropped connection is resumed after the last entry
        seen, for up to ``reconnect_wait`` seconds (0: not at all), then BridgeUnavailable is raised.
        The stream has a connection of its own; closing the iterator (or leaving the loop and
        dropping it) ends the subscription."""
        path = self._endpoint.base_path + stream_path(group, topic, client_id)
        e = self._endpoint
        cls = _TlsConnection if e.scheme == "https" else _Connection
        connected = False
        outage_since: Optional[float] = None
        delay = FIRST_RETRY_S
        last_error: Optional[BaseException] = None
        while True:
            conn = cls(e.host, e.port, timeout=self._pool_settings[1])
            try:
                conn.request("GET", path, headers={**e.headers, **stream_headers(since)})
                cast(socket.socket, conn.sock).settimeout(SILENCE_S)
                response = conn.getresponse()
                if response.status != 200:
                    parse_envelope(response.status, response.msg, response.read())
                    raise BadResponse(f"HTTP {response.status} without an error from the bridge", {"status": response.status})
                connected = True
                outage_since = None
                delay = FIRST_RETRY_S
                while True:
                    line = response.readline()
                    if not line:
                        break
                    entry = entry_from_line(line)
                    if entry is None:
                        continue
                    if entry.id is not None:
                        since = entry.id
                    yield entry
            except (OSError, http.client.HTTPException) as error:
                if not connected:
                    reason = "refused" if isinstance(error, ConnectionRefusedError) else "connect"
                    raise BridgeUnavailable(f"cannot stream {group}/{topic} from the bridge at {self.url}: {error} (is it running? start it with: npx pagecall serve)", {"sent": False, "reason": reason}) from error
                last_error = error
            finally:
                conn.close()
            # The connection dropped (or the bridge ended the stream): resume after the last entry.
            now = time.monotonic()
            if outage_since is None:
                outage_since = now
            if now - outage_since + delay > reconnect_wait:
                raise BridgeUnavailable(f"lost the stream {group}/{topic} from {self.url} and could not resume it within {reconnect_wait:g} s" + (f": {last_error}" if last_error else ""), {"sent": True, "reason": "broken"})
            time.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)

    def _drive(self, plan: _plan.Plan[_plan.T]) -> _plan.T:
        try:
            step = next(plan)
            while True:
                if isinstance(step, _plan.Sleep):
                    time.sleep(step.seconds)
                    step = plan.send(None)
                    continue
                try:
                    reply = self._exchange(step)
                except PagecallError as error:
                    step = plan.throw(error)
                    continue
                step = plan.send(reply)
        except StopIteration as done:
            result: _plan.T = done.value
            return result

    def _exchange(self, request: _plan.Request) -> _plan.Reply:
        conn = self._pool.take()
        if conn.sock is None:
            try:
                conn.connect()
            except OSError as error:
                conn.close()
                reason = "refused" if isinstance(error, ConnectionRefusedError) else "connect"
                raise BridgeUnavailable(f"cannot connect to the bridge at {self.url}: {error} (is it running? start it with: npx pagecall serve)", {"sent": False, "reason": reason}) from error
        try:
            sock = cast(socket.socket, conn.sock)  # connected above
            if conn.read_timeout != request.timeout:
                sock.settimeout(request.timeout)
                conn.read_timeout = request.timeout
            line = f"{request.method} {self._endpoint.base_path}{request.path} HTTP/1.1\r\n".encode("ascii")
            if request.body is None:
                sock.sendall(line + self._get_head)
            else:
                sock.sendall(b"".join((line, self._post_head, b"%d\r\n\r\n" % len(request.body), request.body)))
            response = http.client.HTTPResponse(sock, method=request.method)
            response.begin()
            body = response.read()
        except socket.timeout as error:
            conn.close()
            raise Timeout(f"no answer from the bridge at {self.url} within {request.timeout:g} s", {"source": "client"}) from error
        except (OSError, http.client.RemoteDisconnected, http.client.IncompleteRead) as error:
            conn.close()
            raise BridgeUnavailable(f"the connection to the bridge at {self.url} broke before it answered: {error!r}", {"sent": True, "reason": "broken"}) from error
        except http.client.HTTPException as error:
            conn.close()
            raise BadResponse(f"the server at {self.url} does not answer HTTP/1.1 the way a pagecall bridge does: {error!r}", request_id=None) from error
        except BaseException:
            # Interrupted (KeyboardInterrupt...): closing the connection tells the bridge the caller
            # left, so it cancels the call in the page; the connection is never reused mid-exchange.
            conn.close()
            raise
        if response.will_close:
            conn.close()
        else:
            self._pool.give_back(conn)
        # The header block as parsed (case-insensitive .get): no dict built for the two headers read.
        return _plan.Reply(response.status, response.msg, body)
