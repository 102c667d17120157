"""The fault proxy itself, against a tiny real HTTP/1.1 server (http.server in a thread): each fault does what it says.

The server records every request it read whole (and every body it got only part of), so each test can say what
reached the "hub" and what the client saw.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from bench.faultproxy import Fault, FaultProxy, Shaping, wait_for


@dataclass
class Received:
    """What the server read: whole requests, and bodies cut short."""

    whole: list[tuple[str, str, bytes]] = field(default_factory=list)
    partial: list[tuple[str, int, int]] = field(default_factory=list)  # path, bytes got, bytes announced
    lock: threading.Lock = field(default_factory=threading.Lock)

    def paths(self) -> list[str]:
        with self.lock:
            return [path for _, path, _ in self.whole]


class Server(ThreadingHTTPServer):
    daemon_threads = True
    received: Received


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _answer(self, body: bytes) -> None:
        if self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (body[:5], body[5:]):
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/close":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self) -> None:
        received = self.server.received
        with received.lock:
            received.whole.append(("GET", self.path, b""))
            count = len(received.whole)
        self._answer(json.dumps({"n": count, "path": self.path}).encode())

    def do_POST(self) -> None:
        received = self.server.received
        announced = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(announced)
        if len(body) < announced:
            with received.lock:
                received.partial.append((self.path, len(body), announced))
            self.close_connection = True
            return
        with received.lock:
            received.whole.append(("POST", self.path, body))
            count = len(received.whole)
        self._answer(json.dumps({"n": count, "length": len(body)}).encode())


def start_server() -> Server:
    server = Server(("127.0.0.1", 0), Handler)
    server.received = Received()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return server


@pytest.fixture
def server() -> Iterator[Server]:
    server = start_server()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(server: Server) -> Iterator[FaultProxy]:
    with FaultProxy(("127.0.0.1", server.server_address[1])) as proxy:
        yield proxy


@pytest.fixture
def client(proxy: FaultProxy) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=proxy.url, timeout=5) as client:
        yield client


BODY = b"x" * 10_000


def test_passes_requests_on_one_keep_alive_connection(server: Server, proxy: FaultProxy, client: httpx.Client) -> None:
    assert client.get("/info").json() == {"n": 1, "path": "/info"}
    assert client.post("/push", content=BODY).json() == {"n": 2, "length": len(BODY)}
    assert client.get("/chunked").json() == {"n": 3, "path": "/chunked"}
    assert client.get("/info").json()["n"] == 4
    stats = proxy.stats
    assert (stats.requests, stats.answered, stats.connections, stats.upstream_requests) == (4, 4, 1, 4)
    assert stats.bytes_up > len(BODY)
    assert [e.fault for e in proxy.exchanges()] == [None] * 4
    assert server.received.whole[1] == ("POST", "/push", BODY)


def test_close_delimited_answer_closes_the_device_connection(
    server: Server, proxy: FaultProxy, client: httpx.Client
) -> None:
    assert client.get("/close").json() == {"n": 1, "path": "/close"}
    assert client.get("/info").json()["n"] == 2
    assert proxy.stats.connections == 2


def test_drop_before_never_reaches_the_server(server: Server, proxy: FaultProxy, client: httpx.Client) -> None:
    proxy.add(Fault("drop_before"))
    with pytest.raises(httpx.TransportError):
        client.post("/push", content=BODY)
    assert server.received.whole == [] and server.received.partial == []
    assert client.post("/push", content=BODY).json()["n"] == 1  # the next request passes
    assert proxy.pending() == []


def test_drop_mid_request_delivers_part_of_the_body(server: Server, proxy: FaultProxy, client: httpx.Client) -> None:
    proxy.add(Fault("drop_mid_request", fraction=0.3))
    with pytest.raises(httpx.TransportError):
        client.post("/push", content=BODY)
    assert wait_for(lambda: server.received.partial)
    assert server.received.partial == [("/push", 3_000, len(BODY))]
    assert server.received.whole == []


def test_drop_after_response_the_server_answered_the_client_got_nothing(
    server: Server, proxy: FaultProxy, client: httpx.Client
) -> None:
    proxy.add(Fault("drop_after_response"))
    with pytest.raises(httpx.TransportError):
        client.post("/push", content=BODY)
    assert server.received.paths() == ["/push"]
    (exchange,) = proxy.exchanges()
    assert exchange.upstream_statuses == (200,) and exchange.client_status is None


@pytest.mark.parametrize("parallel", [False, True])
@pytest.mark.parametrize("answer", ["first", "second"])
def test_duplicate_delivers_twice_answers_once(
    server: Server, proxy: FaultProxy, client: httpx.Client, parallel: bool, answer: str
) -> None:
    proxy.add(Fault("duplicate", parallel=parallel, answer="first" if answer == "first" else "second"))
    got = client.post("/push", content=BODY).json()
    assert server.received.paths() == ["/push", "/push"]
    assert [body for _, _, body in server.received.whole] == [BODY, BODY]
    if not parallel:  # in order: the first copy was number 1
        assert got["n"] == (1 if answer == "first" else 2)
    assert client.get("/info").json()["n"] == 3  # the connection still works after
    assert proxy.stats.answered == 2 and proxy.stats.upstream_requests == 3


def test_delay_holds_the_request(server: Server, proxy: FaultProxy, client: httpx.Client) -> None:
    proxy.add(Fault("delay", seconds=0.5))
    start = time.monotonic()
    client.get("/info")
    assert time.monotonic() - start >= 0.5


def test_delayed_request_still_arrives_after_the_client_gave_up(server: Server, proxy: FaultProxy) -> None:
    proxy.add(Fault("delay", seconds=0.8))
    with httpx.Client(base_url=proxy.url, timeout=0.2) as impatient, pytest.raises(httpx.TimeoutException):
        impatient.post("/push", content=BODY)
    assert server.received.whole == []
    assert wait_for(lambda: server.received.whole, timeout=5)  # a late delivery, racing any retry


def test_delay_response_holds_the_answer(server: Server, proxy: FaultProxy) -> None:
    proxy.add(Fault("delay_response", seconds=0.8))
    with httpx.Client(base_url=proxy.url, timeout=0.3) as impatient, pytest.raises(httpx.TimeoutException):
        impatient.post("/push", content=BODY)
    assert server.received.paths() == ["/push"]  # the server got it at once; the answer was late


def test_respond_503_answers_with_retry_after(server: Server, proxy: FaultProxy, client: httpx.Client) -> None:
    proxy.add(Fault("respond_503", retry_after=7))
    response = client.post("/push", content=BODY)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.json()["code"] == "unavailable"
    assert server.received.whole == []
    assert client.post("/push", content=BODY).status_code == 200  # same connection, framing kept


def test_faults_match_by_method_and_path_in_order(server: Server, proxy: FaultProxy, client: httpx.Client) -> None:
    proxy.add(Fault("respond_503", path="/push"), Fault("respond_503", method="GET", path="/pull"))
    assert client.get("/info").status_code == 200
    assert client.get("/push").status_code == 503  # any method on /push
    assert client.post("/pull", content=b"{}").status_code == 200  # not GET
    assert client.get("/pull?cursor=3").status_code == 503
    assert proxy.pending() == []
    assert [e.fault for e in proxy.exchanges()] == [None, "respond_503", None, "respond_503"]


def test_clear_forgets_unused_faults(server: Server, proxy: FaultProxy, client: httpx.Client) -> None:
    proxy.add(Fault("drop_before"), Fault("drop_before"))
    proxy.clear()
    assert client.get("/info").status_code == 200


def test_shaping_adds_round_trips_and_serialisation_time(server: Server) -> None:
    shaping = Shaping(bandwidth_bps=800_000, rtt_s=0.2)  # 100 kB/s
    with (
        FaultProxy(("127.0.0.1", server.server_address[1]), shaping=shaping) as proxy,
        httpx.Client(base_url=proxy.url, timeout=10) as client,
    ):
        start = time.monotonic()
        client.post("/push", content=b"y" * 30_000)  # handshake 0.2 + upload 0.3 + two half trips 0.2
        first = time.monotonic() - start
        start = time.monotonic()
        client.get("/info")  # same connection: one round trip
        second = time.monotonic() - start
    assert 0.7 <= first < 3
    assert 0.2 <= second < 2


def test_upstreams_are_used_in_turn() -> None:
    servers = [start_server(), start_server()]
    try:
        with (
            FaultProxy([("127.0.0.1", s.server_address[1]) for s in servers]) as proxy,
            httpx.Client(base_url=proxy.url, timeout=5) as client,
        ):
            for _ in range(4):
                client.get("/info")
        assert [len(s.received.whole) for s in servers] == [2, 2]
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


def test_upstream_gone_closes_the_device_connection() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    with FaultProxy(("127.0.0.1", dead)) as proxy, httpx.Client(base_url=proxy.url, timeout=5) as client:
        with pytest.raises(httpx.TransportError):
            client.get("/info")
        (exchange,) = proxy.exchanges()
        assert exchange.client_status is None and exchange.upstream_statuses == ()
