"""The asyncio client, on httpx (``pip install ./clients/python[async]``). Same calls, same errors,
same retry policy as Bridge; every method is a coroutine."""
from __future__ import annotations

import asyncio
import time
from typing import Any, AsyncIterator, Iterable, List, Mapping, Optional

try:
    import httpx
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError("pagecall.AsyncBridge needs httpx: pip install 'pagecall[async]' (Debian: apt-get install python3-httpx)") from error

from . import _plan
from ._core import ClientInfo, RetryPolicy, parse_envelope, resolve_endpoint
from ._stream import FIRST_RETRY_S, MAX_RETRY_S, SILENCE_S, StreamEntry, entry_from_line, stream_headers, stream_path
from .errors import BadResponse, BridgeUnavailable, PagecallError, Timeout

__all__ = ["AsyncBridge"]


def _refused(error: BaseException) -> bool:
    """True when a connect error was a refused connection (httpx wraps the OSError)."""
    seen = set()
    current: Optional[BaseException] = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ConnectionRefusedError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return "refused" in str(error).lower() or "all connection attempts failed" in str(error).lower()


class AsyncBridge:
    """An asyncio client for one pagecall bridge; use one per event loop (``async with``).

    Arguments are those of Bridge; ``pool_size`` caps the connections open at once."""

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
        self._endpoint = resolve_endpoint(url, token, headers, "python-async")
        self._timeout_ms = timeout_ms
        self._policy = retry_policy
        self._connect_timeout = connect_timeout
        self._client = httpx.AsyncClient(
            base_url=self._endpoint.url,
            headers=dict(self._endpoint.headers),
            limits=httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size, keepalive_expiry=idle_timeout),
            timeout=httpx.Timeout(connect_timeout, read=None),
            # PAGECALL_URL is the bridge; proxies from the environment are not in the way.
            trust_env=False,
        )
        self._batch_state = _plan.BatchState()

    @property
    def url(self) -> str:
        """The bridge's base URL."""
        return self._endpoint.url

    def __repr__(self) -> str:
        return f"AsyncBridge({self.url!r})"

    async def __aenter__(self) -> "AsyncBridge":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Closes every connection; the AsyncBridge cannot be used afterwards."""
        await self._client.aclose()

    async def call(
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
        """Bridge.call, awaited."""
        return await self._drive(_plan.call(group, action, args, client_id, timeout_ms, retry, balance, self._timeout_ms, retry_policy or self._policy))

    async def batch(
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
        """Bridge.batch, awaited."""
        return await self._drive(_plan.batch(group, action, list(calls), client_id, timeout_ms, retry, balance, self._timeout_ms, retry_policy or self._policy, chunk_size, return_exceptions, self._batch_state))

    async def clients(self, group: Optional[str] = None) -> List[ClientInfo]:
        """Bridge.clients, awaited."""
        return await self._drive(_plan.clients(group, self._policy))

    async def wait_for_action(self, group: str, action: str, timeout: float = 30.0) -> ClientInfo:
        """Bridge.wait_for_action, awaited."""
        return await self._drive(_plan.wait_for_action(group, action, timeout, self._policy, time.monotonic))

    async def eval(self, group: str, code: str, *, client_id: Optional[str] = None, timeout_ms: Optional[int] = None) -> Any:
        """Bridge.eval, awaited."""
        return await self._drive(_plan.eval_code(group, code, client_id, timeout_ms, self._timeout_ms, self._policy))

    async def kick(self, client_id: str) -> None:
        """Bridge.kick, awaited."""
        await self._drive(_plan.kick(client_id, self._policy))

    async def health(self) -> Mapping[str, Any]:
        """Bridge.health, awaited."""
        return await self._drive(_plan.health(self._policy))

    async def stream(
        self,
        group: str,
        topic: str,
        *,
        client_id: Optional[str] = None,
        since: Optional[str] = None,
        reconnect_wait: float = 60.0,
    ) -> AsyncIterator[StreamEntry]:
        """Bridge.stream as an async iterator (``async for entry in b.stream("room", "chat")``).
        The stream holds one of the client's connections while it runs."""
        path = stream_path(group, topic, client_id)
        connected = False
        outage_since: Optional[float] = None
        delay = FIRST_RETRY_S
        last_error: Optional[BaseException] = None
        loop = asyncio.get_running_loop()
        while True:
            try:
                timeout = httpx.Timeout(self._connect_timeout, read=SILENCE_S)
                async with self._client.stream("GET", path, headers=stream_headers(since), timeout=timeout) as response:
                    if response.status_code != 200:
                        body = await response.aread()
                        parse_envelope(response.status_code, response.headers, body)
                        raise BadResponse(f"HTTP {response.status_code} without an error from the bridge", {"status": response.status_code})
                    connected = True
                    outage_since = None
                    delay = FIRST_RETRY_S
                    async for line in response.aiter_lines():
                        entry = entry_from_line(line.encode("utf-8"))
                        if entry is None:
                            continue
                        if entry.id is not None:
                            since = entry.id
                        yield entry
            except httpx.TransportError as error:
                if not connected:
                    reason = "refused" if isinstance(error, httpx.ConnectError) and _refused(error) else "connect"
                    raise BridgeUnavailable(f"cannot stream {group}/{topic} from the bridge at {self.url}: {error!r} (is it running? start it with: npx pagecall serve)", {"sent": False, "reason": reason}) from error
                last_error = error
            now = loop.time()
            if outage_since is None:
                outage_since = now
            if now - outage_since + delay > reconnect_wait:
                raise BridgeUnavailable(f"lost the stream {group}/{topic} from {self.url} and could not resume it within {reconnect_wait:g} s" + (f": {last_error!r}" if last_error else ""), {"sent": True, "reason": "broken"})
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_S)

    async def _drive(self, plan: _plan.Plan[_plan.T]) -> _plan.T:
        try:
            step = next(plan)
            while True:
                if isinstance(step, _plan.Sleep):
                    await asyncio.sleep(step.seconds)
                    step = plan.send(None)
                    continue
                try:
                    reply = await self._exchange(step)
                except PagecallError as error:
                    step = plan.throw(error)
                    continue
                step = plan.send(reply)
        except StopIteration as done:
            result: _plan.T = done.value
            return result

    async def _exchange(self, request: _plan.Request) -> _plan.Reply:
        headers = {"content-type": "application/json"} if request.body is not None else None
        timeout = httpx.Timeout(self._connect_timeout, read=request.timeout)
        try:
            response = await self._client.request(request.method, request.path, content=request.body, headers=headers, timeout=timeout)
        except httpx.ConnectError as error:
            reason = "refused" if _refused(error) else "connect"
            raise BridgeUnavailable(f"cannot connect to the bridge at {self.url}: {error} (is it running? start it with: npx pagecall serve)", {"sent": False, "reason": reason}) from error
        except httpx.ConnectTimeout as error:
            raise BridgeUnavailable(f"cannot connect to the bridge at {self.url}: {error!r}", {"sent": False, "reason": "connect"}) from error
        except httpx.TimeoutException as error:
            raise Timeout(f"no answer from the bridge at {self.url} within {request.timeout:g} s", {"source": "client"}) from error
        except httpx.TransportError as error:
            raise BridgeUnavailable(f"the connection to the bridge at {self.url} broke before it answered: {error!r}", {"sent": True, "reason": "broken"}) from error
        return _plan.Reply(response.status_code, response.headers, response.content)
