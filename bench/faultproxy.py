"""A fault-injecting HTTP/1.1 proxy for the sync tests and the sync bench: a real TCP proxy on 127.0.0.1.

It sits between a device (the sync engine's httpx client) and a hub, understands HTTP/1.1 framing well enough to
act per request (Content-Length and chunked bodies, keep-alive connections, close-delimited responses), and applies
a programmable schedule of faults, each consumed by the first request it matches:

- ``drop_before``: the request is read from the device, never forwarded; the device's connection is closed.
- ``drop_mid_request``: the head and part of the body reach the hub, then both connections are closed.
- ``drop_after_response``: the hub gets the whole request and answers (it committed), the answer is dropped and
  the device's connection closed: the device cannot know its batch was applied.
- ``duplicate``: the hub gets the request twice (one after the other, or at the same time on two connections —
  to two hubs when there are several); the device gets one answer (the first or the second).
- ``delay``: the request is held ``seconds`` before being forwarded — still forwarded when the device has given up
  meanwhile, as packets in flight would be (a late delivery racing the device's retry).
- ``delay_response``: the hub's answer is held ``seconds`` before it is sent to the device.
- ``respond_503``: the proxy answers 503 with ``Retry-After`` itself (a hub shutting down, a load balancer).

Link shaping (``Shaping(bandwidth_bps, rtt_s)``) holds every byte for its serialisation time at the given bit rate
in each direction and adds half the round trip each way, plus one round trip per new connection (the TCP
handshake the loopback does not pay). Counters (bytes each way, requests, connections) and a log of exchanges
let tests and the bench see what went over the wire.

The proxy runs an asyncio loop in a background thread, so synchronous code (the engine, pytest) can drive it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Literal, cast

FaultKind = Literal[
    "drop_before",
    "drop_mid_request",
    "drop_after_response",
    "duplicate",
    "delay",
    "delay_response",
    "respond_503",
]
FAULT_KINDS: tuple[FaultKind, ...] = (
    "drop_before",
    "drop_mid_request",
    "drop_after_response",
    "duplicate",
    "delay",
    "delay_response",
    "respond_503",
)
MAX_HEAD = 64 * 1024
CHUNK = 1024  # shaping granularity: bytes released at a time


@dataclass(frozen=True)
class Fault:
    """One scheduled fault, applied to the first request matching ``method`` and ``path`` (a path prefix)."""

    kind: FaultKind
    path: str | None = None  # only requests whose path starts with this (None: any request)
    method: str | None = None  # only requests with this method (None: any)
    seconds: float = 0.0  # delay / delay_response
    retry_after: int = 1  # respond_503
    fraction: float = 0.5  # drop_mid_request: share of the body (or, without a body, of the head) forwarded
    answer: Literal["first", "second"] = "second"  # duplicate: which of the hub's two answers the device gets
    parallel: bool = False  # duplicate: both copies at once on two hub connections

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (self.path is None or path.startswith(self.path))


@dataclass(frozen=True)
class Shaping:
    """A slow link: bandwidth in bits per second each way, and the round trip time in seconds."""

    bandwidth_bps: float | None = None
    rtt_s: float = 0.0


@dataclass
class Stats:
    """What went over the device's side of the link."""

    bytes_up: int = 0  # device → proxy (requests as the device sent them)
    bytes_down: int = 0  # proxy → device (answers as the device received them)
    requests: int = 0  # requests read from the device
    answered: int = 0  # answers delivered to the device
    connections: int = 0  # connections the device opened
    upstream_requests: int = 0  # requests delivered whole to a hub (a duplicate counts twice)


@dataclass(frozen=True)
class Exchange:
    """One request as the proxy handled it (for assertions and debugging)."""

    method: str
    path: str
    fault: FaultKind | None
    upstream_statuses: tuple[int, ...]  # the hub's answers (two for a duplicate), empty when the hub answered none
    client_status: int | None  # the status sent to the device; None when it was sent no answer
    upstream: tuple[str, int] | None
    bytes_up: int = 0  # the request as the device sent it
    bytes_down: int = 0  # the answer sent to the device (0 when none)


class _Message:
    """An HTTP/1.1 message read off a stream: raw bytes plus the bits of the head the proxy needs."""

    def __init__(self, head: bytes, body: bytes) -> None:
        self.head = head
        self.body = body
        lines = head.decode("latin-1").split("\r\n")
        self.start = lines[0]
        self.headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                self.headers[name.strip().lower()] = value.strip()

    @property
    def raw(self) -> bytes:
        return self.head + self.body

    def wants_close(self) -> bool:
        connection = self.headers.get("connection", "").lower()
        return "close" in connection or (self.start.endswith("HTTP/1.0") and "keep-alive" not in connection)

    def close_delimited(self) -> bool:
        """An answer whose body ends with the connection (no length, not chunked)."""
        chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        return bool(self.body) and not chunked and "content-length" not in self.headers


class _Closed(Exception):
    """The other side closed the connection (cleanly, or in the middle of a message)."""


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        raise _Closed from exc
    except asyncio.LimitOverrunError as exc:
        raise _Closed from exc


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    try:
        while True:
            size_line = await reader.readuntil(b"\r\n")
            parts.append(size_line)
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                while True:  # trailers, up to the empty line
                    line = await reader.readuntil(b"\r\n")
                    parts.append(line)
                    if line == b"\r\n":
                        return b"".join(parts)
            parts.append(await reader.readexactly(size + 2))
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        raise _Closed from exc


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str], *, until_eof: bool) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader)
    if "content-length" in headers:
        try:
            return await reader.readexactly(int(headers["content-length"]))
        except (asyncio.IncompleteReadError, ValueError) as exc:
            raise _Closed from exc
    return await reader.read() if until_eof else b""


async def _read_request(reader: asyncio.StreamReader) -> _Message:
    head = await _read_head(reader)
    message = _Message(head, b"")
    message.body = await _read_body(reader, message.headers, until_eof=False)
    return message


async def _read_response(reader: asyncio.StreamReader, method: str) -> _Message:
    while True:
        head = await _read_head(reader)
        message = _Message(head, b"")
        parts = message.start.split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if 100 <= status < 200:
            continue  # interim answers are not forwarded (the device never sends Expect)
        no_body = method == "HEAD" or status in (204, 304)
        message.body = b"" if no_body else await _read_body(reader, message.headers, until_eof=True)
        return message


def _status(message: _Message) -> int:
    parts = message.start.split(" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def _response_503(retry_after: int) -> bytes:
    body = json.dumps(
        {"detail": "Service unavailable (fault proxy); retry later.", "code": "unavailable", "field": None}
    ).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Retry-After: {retry_after}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


class _Upstream:
    """One connection to a hub, opened lazily and reopened after a close."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def ensure(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.writer.is_closing() or self.reader.at_eof():
            self.close()
            self.reader, self.writer = await asyncio.open_connection(*self.target)
        return self.reader, self.writer

    def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()


class FaultProxy:
    """The proxy. ``with FaultProxy(("127.0.0.1", hub_port)) as proxy: ... proxy.url ...``.

    Several upstreams are used in turn, one request each (devices alternating between two hub processes).
    """

    def __init__(
        self,
        upstream: tuple[str, int] | Sequence[tuple[str, int]],
        *,
        shaping: Shaping | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._upstreams: list[tuple[str, int]] = (
            [cast(tuple[str, int], upstream)]
            if isinstance(upstream[0], str)
            else list(cast(Sequence[tuple[str, int]], upstream))
        )
        self.shaping = shaping or Shaping()
        self.host = host
        self._requested_port = port
        self.port = 0
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._stats = Stats()
        self._log: list[Exchange] = []
        self._turn = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- life cycle -------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FaultProxy:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._serve, self.host, self._requested_port, limit=MAX_HEAD)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # reported to the starting thread
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self._shutdown())
                loop.close()

        self._thread = threading.Thread(target=run, name="fault-proxy", daemon=True)
        self._thread.start()
        ready.wait()
        if errors:
            raise errors[0]
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._loop = self._thread = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- schedule, counters -----------------------------------------------------------------------------------

    def add(self, *faults: Fault) -> None:
        """Append faults to the schedule; each is used once, by the first request it matches."""
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        """Forget every fault not used yet: from now on requests pass untouched (shaping stays)."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def set_upstreams(self, upstreams: Iterable[tuple[str, int]]) -> None:
        with self._lock:
            self._upstreams = list(upstreams)

    @property
    def stats(self) -> Stats:
        with self._lock:
            return dataclasses.replace(self._stats)

    def idle(self) -> bool:
        """No request in flight (e.g. a delayed one still on its way to the hub)."""
        with self._lock:
            return len(self._log) >= self._stats.requests

    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._log)

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = Stats()
            self._log.clear()

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.matches(method, path):
                    return self._faults.pop(index)
        return None

    def _next_upstream(self) -> tuple[str, int]:
        with self._lock:
            target = self._upstreams[self._turn % len(self._upstreams)]
            self._turn += 1
            return target

    def _count(self, **deltas: int) -> None:
        with self._lock:
            for name, delta in deltas.items():
                setattr(self._stats, name, getattr(self._stats, name) + delta)

    # --- the link ---------------------------------------------------------------------------------------------

    async def _send(self, writer: asyncio.StreamWriter, data: bytes, *, latency: bool = True) -> None:
        """Write ``data`` as the shaped link would deliver it: half a round trip, then at the link's bit rate."""
        shaping = self.shaping
        if latency and shaping.rtt_s:
            await asyncio.sleep(shaping.rtt_s / 2)
        if not shaping.bandwidth_bps:
            writer.write(data)
            await writer.drain()
            return
        for start in range(0, len(data), CHUNK):
            piece = data[start : start + CHUNK]
            await asyncio.sleep(len(piece) * 8 / shaping.bandwidth_bps)
            writer.write(piece)
            await writer.drain()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._count(connections=1)
        upstreams: dict[tuple[str, int], _Upstream] = {}
        try:
            if self.shaping.rtt_s:
                await asyncio.sleep(self.shaping.rtt_s)  # the TCP handshake's round trip
            while True:
                try:
                    request = await _read_request(reader)
                except _Closed:
                    return
                self._count(requests=1, bytes_up=len(request.raw))
                # The request's way to the hub: its serialisation time on the slow link, then half a round trip.
                if self.shaping.bandwidth_bps:
                    await asyncio.sleep(len(request.raw) * 8 / self.shaping.bandwidth_bps)
                if self.shaping.rtt_s:
                    await asyncio.sleep(self.shaping.rtt_s / 2)
                keep_open = await self._exchange(request, writer, upstreams)
                if not keep_open:
                    return
        except (ConnectionError, OSError, _Closed, asyncio.CancelledError):
            return  # the device or the hub went away, or the proxy is stopping: the connection ends
        finally:
            for upstream in upstreams.values():
                upstream.close()
            writer.close()
            self._tasks.discard(task)

    async def _exchange(
        self, request: _Message, writer: asyncio.StreamWriter, upstreams: dict[tuple[str, int], _Upstream]
    ) -> bool:
        """Handle one request; returns whether the device's connection stays open."""
        parts = request.start.split(" ")
        method, path = (parts[0], parts[1]) if len(parts) >= 2 else ("", "")
        fault = self._take_fault(method, path)
        kind = fault.kind if fault else None

        def log(
            statuses: Sequence[int], client_status: int | None, target: tuple[str, int] | None, down: int = 0
        ) -> None:
            exchange = Exchange(method, path, kind, tuple(statuses), client_status, target, len(request.raw), down)
            with self._lock:
                self._log.append(exchange)

        if fault is not None and fault.kind == "drop_before":
            log((), None, None)
            return False
        if fault is not None and fault.kind == "respond_503":
            answer = _response_503(fault.retry_after)
            log((), 503, None, len(answer))
            self._count(answered=1, bytes_down=len(answer))
            await self._send(writer, answer, latency=True)
            return not request.wants_close()
        target = self._next_upstream()
        upstream = upstreams.setdefault(target, _Upstream(target))
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
        if fault is not None and fault.kind == "drop_mid_request":
            if request.body:
                cut = request.head + request.body[: int(len(request.body) * fault.fraction)]
            else:
                cut = request.head[: max(1, int(len(request.head) * fault.fraction))]
            _, up_writer = await upstream.ensure()
            up_writer.write(cut)
            await up_writer.drain()
            await asyncio.sleep(0.05)  # let the hub read what it got before the close
            upstream.close()
            log((), None, target)
            return False
        try:
            if fault is not None and fault.kind == "duplicate":
                answers = await self._duplicate(request, method, upstream, fault.parallel)
            else:
                answers = [await self._forward(request, method, upstream)]
        except (ConnectionError, OSError, _Closed):
            # The hub went away (restart) or refused: the device sees its connection closed, as on a real link.
            upstream.close()
            log((), None, target)
            return False
        statuses = [_status(a) for a in answers]
        if fault is not None and fault.kind == "drop_after_response":
            log(statuses, None, target)
            return False
        chosen = answers[-1] if fault is not None and fault.answer == "second" else answers[0]
        if fault is not None and fault.kind == "delay_response":
            await asyncio.sleep(fault.seconds)
        log(statuses, _status(chosen), target, len(chosen.raw))
        self._count(answered=1, bytes_down=len(chosen.raw))
        await self._send(writer, chosen.head, latency=True)
        await self._send(writer, chosen.body, latency=False)
        # A close-delimited answer can only end with the connection: the device's must close too.
        return not (request.wants_close() or chosen.wants_close() or chosen.close_delimited())

    async def _forward(self, request: _Message, method: str, upstream: _Upstream) -> _Message:
        up_reader, up_writer = await upstream.ensure()
        up_writer.write(request.raw)
        await up_writer.drain()
        answer = await _read_response(up_reader, method)
        self._count(upstream_requests=1)
        if answer.wants_close():
            upstream.close()
        return answer

    async def _duplicate(self, request: _Message, method: str, upstream: _Upstream, parallel: bool) -> list[_Message]:
        if not parallel:
            first = await self._forward(request, method, upstream)
            second = await self._forward(request, method, upstream)
            return [first, second]
        extra = _Upstream(self._next_upstream())  # with several hubs, the copy goes to another one
        try:
            first, second = await asyncio.gather(
                self._forward(request, method, upstream), self._forward(request, method, extra)
            )
        finally:
            extra.close()
        return [first, second]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for processes that need a fixed port, e.g. a restarted hub)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.05) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` seconds pass; returns whether it became true."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
