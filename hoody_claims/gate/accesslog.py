"""One JSON line per request: method, path (never the query), status, user, latency, code.

The claim never reaches this module: callers pass the path without its query string and the
verified claim's ``sub``, nothing else from the request.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import IO

__all__ = ["AccessLog", "Entry"]

# json.dumps' own C escaper, ASCII output: a path with odd characters (even lone surrogates)
# still makes a valid line that any file encoding can hold.
_escape = json.encoder.encode_basestring_ascii


def _str(value: str | None) -> str:
    return "null" if value is None else _escape(value)


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
    """Writes entries as JSON lines to stderr, a file, or nowhere (``"off"``).

    Inside a running event loop, lines are collected and written together at most
    ``flush_interval`` seconds later (one write call for many requests, instead of one each);
    :meth:`close` writes what is left. Outside a loop each line is written at once.
    """

    def __init__(
        self, target: str = "-", *, stream: IO[str] | None = None, flush_interval: float = 0.1
    ) -> None:
        self._pending: list[str] = []
        self._flush_handle: asyncio.Handle | None = None
        self._flush_interval = flush_interval
        self._owned = False
        self._stream: IO[str] | None
        if stream is not None:
            self._stream = stream
        elif target == "off":
            self._stream = None
        elif target == "-":
            self._stream = sys.stderr
        else:
            self._stream = open(target, "a", encoding="utf-8")  # noqa: SIM115
            self._owned = True

    @property
    def enabled(self) -> bool:
        return self._stream is not None

    def write(self, entry: Entry, now: float) -> None:
        """Log ``entry``; ``now`` is the ``time.perf_counter()`` the request finished at."""
        if self._stream is None:
            return
        # Built by hand (strings through json's own escaper): a third of json.dumps' cost on
        # the per-request path, and the same JSON.
        line = (
            f'{{"ts":{time.time():.3f},"method":{_str(entry.method)},"path":{_str(entry.path)},'
            f'"status":{int(entry.status)},"user":{_str(entry.user)},'
            f'"latency_ms":{(now - entry.start) * 1000.0:.3f},"code":{_str(entry.code)},'
            f'"client":{_str(entry.client)}'
        )
        if entry.ws_close is not None:
            line += f',"ws_close":{int(entry.ws_close)}'
        self._add(line + "}")

    def _add(self, line: str) -> None:
        self._pending.append(line)
        if self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._flush_handle = loop.call_later(self._flush_interval, self.flush)

    def flush(self) -> None:
        """Write the collected lines now."""
        self._flush_handle = None
        if not self._pending or self._stream is None:
            self._pending.clear()
            return
        text = "\n".join(self._pending) + "\n"
        self._pending.clear()
        try:
            self._stream.write(text)
            self._stream.flush()
        except (OSError, ValueError):  # a closed or full log must not take requests down
            pass

    def close(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        self.flush()
        if self._owned and self._stream is not None:
            self._stream.close()
        self._stream = None
