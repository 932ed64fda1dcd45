"""A real key server on 127.0.0.1 whose answers a test can change between requests."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Behaviour:
    status: int = 200
    body: bytes = b""
    delay: float = 0.0
    location: str | None = None


@dataclass
class KeyServer:
    """Serves ``behaviour`` at the key path; ``hits`` counts requests."""

    behaviour: Behaviour = field(default_factory=Behaviour)
    hits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def serve_document(self, doc: dict[str, Any] | bytes) -> None:
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        self.behaviour = Behaviour(body=body)

    @property
    def api_base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> KeyServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                with owner._lock:
                    owner.hits += 1
                b = owner.behaviour
                if b.delay:
                    time.sleep(b.delay)
                if self.path != "/api/v1/meta/public-key":
                    self.send_error(404)
                    return
                self.send_response(b.status)
                if b.location:
                    self.send_header("Location", b.location)
                self.send_header("Content-Length", str(len(b.body)))
                self.end_headers()
                try:
                    self.wfile.write(b.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
