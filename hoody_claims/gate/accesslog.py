"""One JSON line per request: method, path (never the query), status, user, latency, code.

The claim never reaches this module: callers pass the path without its query string and the
verified claim's ``sub``, nothing else from the request.
"""

from __future__ import annotations

import json
import sys
import time
from typing import IO, Any

__all__ = ["AccessLog", "Entry"]


class Entry:
    """What is known about one request so far; filled in as the request goes through the gate."""

    __slots__ = ("client", "code", "method", "path", "start", "status", "user", "ws_close")

    def __init__(self, method: str, path: str, client: str | None, start: float) -> None:
        self.method = method
        self.path = path
        self.client = client
        self.start = start
        self.status = 0
        self.user: str | None = None
        self.code: str | None = None
        self.ws_close: int | None = None


class AccessLog:
    """Writes entries as JSON lines to stderr, a file, or nowhere (``"off"``)."""

    def __init__(self, target: str = "-", *, stream: IO[str] | None = None) -> None:
        self._owned = False
        self._stream: IO[str] | None
        if stream is not None:
            self._stream = stream
        elif target == "off":
            self._stream = None
        elif target == "-":
            self._stream = sys.stderr
        else:
            self._stream = open(target, "a", encoding="utf-8", buffering=1)  # noqa: SIM115
            self._owned = True

    @property
    def enabled(self) -> bool:
        return self._stream is not None

    def write(self, entry: Entry, now: float) -> None:
        """Log ``entry``; ``now`` is the ``time.perf_counter()`` the request finished at."""
        if self._stream is None:
            return
        record: dict[str, Any] = {
            "ts": round(time.time(), 3),
            "method": entry.method,
            "path": entry.path,
            "status": entry.status,
            "user": entry.user,
            "latency_ms": round((now - entry.start) * 1000.0, 3),
            "code": entry.code,
            "client": entry.client,
        }
        if entry.ws_close is not None:
            record["ws_close"] = entry.ws_close
        self._emit(record)

    def event(self, event: str, **fields: Any) -> None:
        """A line about the gate itself (started, stopping, ...), in the same format."""
        if self._stream is not None:
            self._emit({"ts": round(time.time(), 3), "event": event, **fields})

    def _emit(self, record: dict[str, Any]) -> None:
        assert self._stream is not None
        try:  # noqa: SIM105 - cheaper than contextlib.suppress on every request
            self._stream.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        except (OSError, ValueError):  # a closed or full log must not take requests down
            pass

    def close(self) -> None:
        if self._owned and self._stream is not None:
            self._stream.close()
        self._stream = None
