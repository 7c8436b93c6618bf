"""A real HTTP feed for tests: serves a folder on 127.0.0.1, with faults injected on demand.

    with FeedServer(folder) as server:
        server.fail("tool/1.0/tool.tar.gz", "500", "truncate")   # the next two GETs of that path misbehave
        ... server.url ...                                         # http://127.0.0.1:PORT/
        server.gets("tool/1.0/tool.tar.gz")                       # requests seen for that path

Faults, consumed one per request: `500`, `404`, `503`; `delay:S` (sleep S seconds, then answer); `truncate`
(send half the body, then close); `reset` (close the connection without an answer); `shortlen` (announce 10
bytes fewer than the body has); `longlen` (announce 10 bytes more, send the body, close); `stall:S` (send half
the body, sleep S seconds, send the rest); `norange` (ignore a Range header); `redirect:URL` (to an authorized
request, answer 302 with `Location: URL`, as a feed that sends its downloads to a file host does).
Range requests (`bytes=N-`) are answered with 206 unless told otherwise. Optional
basic auth or a bearer token; the log records whether a request was authorized, never the credentials
themselves.
"""

from __future__ import annotations

import base64
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit


@dataclass(frozen=True)
class Seen:
    path: str
    range: str | None
    authorized: bool
    sent_credentials: bool


class FeedServer:
    def __init__(self, root: Path, *, basic: tuple[str, str] | None = None, token: str | None = None) -> None:
        self.root = root
        self.basic = basic
        self.token = token
        self.faults: dict[str, list[str]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, path: str, *faults: str) -> None:
        with self._lock:
            self.faults.setdefault(path, []).extend(faults)

    def next_fault(self, path: str) -> str | None:
        with self._lock:
            queue = self.faults.get(path)
            return queue.pop(0) if queue else None

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def gets(self, path: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.path == path]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away (killed by a test) is expected; anything else is still reported."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            del format, args

        def _authorized(self) -> tuple[bool, bool]:
            header = self.headers.get("Authorization")
            if server.basic is None and server.token is None:
                return True, header is not None
            if server.token is not None and header == f"Bearer {server.token}":
                return True, True
            if server.basic is not None:
                expected = base64.b64encode(":".join(server.basic).encode()).decode()
                if header == f"Basic {expected}":
                    return True, True
            return False, header is not None

        def do_GET(self) -> None:
            try:
                self._get()
            except (BrokenPipeError, ConnectionResetError):  # the client went away (a test killed it)
                self.close_connection = True

        def _get(self) -> None:
            path = unquote(urlsplit(self.path).path).lstrip("/")
            authorized, sent = self._authorized()
            server.record(Seen(path, self.headers.get("Range"), authorized, sent))
            fault = server.next_fault(path)
            if fault and fault.startswith("delay:"):
                time.sleep(float(fault.split(":")[1]))
                fault = None
            if fault == "reset":
                self._reset()
                return
            if fault in ("500", "503", "404"):
                self._status(int(fault))
                return
            if not authorized:
                self._status(401, {"WWW-Authenticate": 'Basic realm="feed"'})
                return
            if fault and fault.startswith("redirect:"):
                self._status(302, {"Location": fault.split(":", 1)[1]})
                return
            self._serve(path, fault)

        def _status(self, code: int, headers: dict[str, str] | None = None) -> None:
            body = f"{code}\n".encode()
            self.send_response(code)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _reset(self) -> None:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

        def _serve(self, path: str, fault: str | None) -> None:
            file = (server.root / path).resolve()
            if server.root.resolve() not in file.parents or not file.is_file():
                self._status(404)
                return
            data = file.read_bytes()
            start = 0
            header = self.headers.get("Range", "")
            if header.startswith("bytes=") and header.endswith("-") and fault != "norange":
                start = int(header[len("bytes=") : -1])
                if start >= len(data):
                    self._status(416)
                    return
            body = data[start:]
            self.send_response(206 if start else 200)
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            length = len(body) + {"shortlen": -10, "longlen": 10}.get(fault or "", 0)
            self.send_header("Content-Length", str(length))
            self.send_header(
                "Content-Type", "text/html" if path.endswith("/") else "application/octet-stream"
            )
            self.end_headers()
            if fault in ("truncate", "longlen"):
                self.wfile.write(body if fault == "longlen" else body[: len(body) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault and fault.startswith("stall:"):
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                time.sleep(float(fault.split(":")[1]))
                body = body[len(body) // 2 :]
            self.wfile.write(body[:length] if fault == "shortlen" else body)

    return Handler
