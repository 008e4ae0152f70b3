"""Streams (GET /v1/stream, read as NDJSON): what the synchronous and asyncio clients share. No I/O
here; each client reads lines its own way and hands them to ``entry_from_line``."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Mapping, Optional
from urllib.parse import urlencode

from .codec import CodecError, decode
from .errors import BadRequest, BadResponse, ResultNotSerializable

#: The bridge sends a keep-alive every 15 s; silence for this long means the connection is dead.
SILENCE_S = 45.0
#: Reconnect delays: 0.25 s doubling to 5 s.
FIRST_RETRY_S = 0.25
MAX_RETRY_S = 5.0


@dataclass(frozen=True)
class StreamEntry:
    """One entry of a stream: a published value (``type == "event"``), a failure in its place
    (``"error"``: a tap's decode threw) or a gap marker (``"gap"``: entries are missing, ``reason``
    says why and ``missed`` how many, when known). docs/streams.md describes every field."""

    #: ``"event"``, ``"error"`` or ``"gap"``.
    type: str
    group: str
    topic: str
    #: When the bridge received it (aware, UTC).
    time: datetime
    #: Pass it as ``since=`` to resume after this entry (None for gaps told to one subscriber).
    id: Optional[str] = None
    seq: Optional[int] = None
    client_id: Optional[str] = None
    #: The value, decoded (bytes, big ints, datetimes, sets, JsMap...), for events.
    value: Any = None
    #: ``{"name", "message", "stack"?}`` for errors.
    error: Optional[Mapping[str, Any]] = None
    #: For gaps: page-dropped, page-reconnected, behind, expired or reset; in a cluster also
    #: node-lost, node-missed, nats-lost or not-followed.
    reason: Optional[str] = None
    missed: Optional[int] = None
    message: Optional[str] = None
    #: In a cluster: the node holding the page (for gaps about the cluster, the node concerned).
    node: Optional[str] = None


def stream_path(group: Any, topic: Any, client_id: Optional[str]) -> str:
    """The request path of a subscription; type checks that save a round trip."""
    if not isinstance(group, str):
        raise BadRequest(f"group: expected str, got {type(group).__name__}")
    if not isinstance(topic, str):
        raise BadRequest(f"topic: expected str, got {type(topic).__name__}")
    query: Dict[str, str] = {"group": group, "topic": topic}
    if client_id is not None:
        query["clientId"] = client_id
    return f"/v1/stream?{urlencode(query)}"


def stream_headers(since: Optional[str]) -> Dict[str, str]:
    """Accept NDJSON; resume after ``since`` when set."""
    headers = {"accept": "application/x-ndjson"}
    if since is not None:
        headers["last-event-id"] = since
    return headers


def entry_from_line(line: bytes) -> Optional[StreamEntry]:
    """Reads one NDJSON line (None for the empty keep-alive lines)."""
    if not line.strip():
        return None
    try:
        raw = json.loads(line)
    except ValueError:
        raise BadResponse(f"the stream holds a line that is not JSON: {line[:200]!r}") from None
    if not isinstance(raw, dict) or raw.get("type") not in ("event", "error", "gap"):
        raise BadResponse(f"the stream holds something that is not an entry: {line[:200]!r}")
    value = raw.get("value")
    if raw["type"] == "event" and b'"$' in line and type(value) in (dict, list):
        try:
            value = decode(value)
        except CodecError as error:
            raise ResultNotSerializable(f"a page published a malformed value: {error}") from None
    return StreamEntry(
        type=raw["type"],
        group=raw.get("group", ""),
        topic=raw.get("topic", ""),
        time=datetime.fromtimestamp(raw.get("time", 0) / 1000.0, timezone.utc),
        id=raw.get("id"),
        seq=raw.get("seq"),
        client_id=raw.get("clientId"),
        value=value,
        error=raw.get("error"),
        reason=raw.get("reason"),
        missed=raw.get("missed"),
        message=raw.get("message"),
        node=raw.get("node"),
    )
