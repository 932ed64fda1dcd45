"""Fetch, cache and refresh the key document (SPEC §1).

A :class:`KeyStore` keeps the current :class:`KeySet` in memory and on disk, refreshes it when
it is older than ``ttl``, keeps serving the old set while a refresh fails, and fetches at most
once per ``min_refresh_interval`` when a credential names a kid it does not know. Fetches are
single-flight: many threads (or asyncio tasks, via a worker thread) asking at once cause one
request.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import stat
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import HoodyClaimsError, InvalidKeyDocument, KeyFetchFailed
from .key_document import MAX_DOCUMENT_BYTES, KeySet

__all__ = ["DEFAULT_API_BASE", "KEYS_ENV", "KeySource", "KeyStore", "WouldBlock", "as_key_source"]

DEFAULT_API_BASE = "https://api.hoody.com"
KEY_PATH = "/api/v1/meta/public-key"
#: A path to a key document, or the document itself: verify fully offline.
KEYS_ENV = "HOODY_CLAIMS_KEYS"
#: The API base to fetch from when none is given (default DEFAULT_API_BASE).
API_BASE_ENV = "HOODY_API_BASE"
#: With nothing usable cached, a failed fetch is retried after this many seconds at most.
_EMPTY_RETRY_SECONDS = 5.0


class WouldBlock(Exception):
    """Raised instead of fetching when the caller asked not to block (the asyncio fast path)."""


class KeySource(Protocol):
    """What a verifier needs from its keys: the current set, and a key by kid."""

    def key_set(self, *, block: bool = True) -> KeySet: ...

    def key_for(self, kid: str, *, block: bool = True) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class _StaticSource:
    keys: KeySet

    def key_set(self, *, block: bool = True) -> KeySet:
        return self.keys

    def key_for(self, kid: str, *, block: bool = True) -> bytes | None:
        return self.keys.keys.get(kid)


def key_for_is_key_set_lookup(source: KeySource) -> bool:
    """Whether ``source.key_for(kid)`` is ``source.key_set().get(kid)`` whenever the latter
    finds the kid (true of the sources defined here, unless a subclass changes key_for)."""
    return type(source) is _StaticSource or type(source).key_for is KeyStore.key_for


def as_key_source(keys_or_store: KeySet | KeySource) -> KeySource:
    """Accept a fixed KeySet or anything that serves keys (a KeyStore)."""
    if isinstance(keys_or_store, KeySet):
        return _StaticSource(keys_or_store)
    if callable(getattr(keys_or_store, "key_for", None)):
        return keys_or_store
    raise TypeError("expected a hoody_claims.KeySet or hoody_claims.KeyStore")


@dataclass(frozen=True, slots=True)
class _Loaded:
    keys: KeySet
    fetched_at: float
    origin: str  # "network", "disk" or "pinned"


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hoody_claims"


_DEFAULT = object()


class KeyStore:
    """Keys from ``{api_base}/api/v1/meta/public-key``, cached in memory and on disk.

    ``cache_dir=None`` keeps the cache in memory only. ``pinned`` (a KeySet, a path, or the
    document text) serves a fixed document with no network at all. Given neither ``api_base``
    nor ``pinned``, the ``HOODY_CLAIMS_KEYS`` environment variable pins the keys, else they are
    fetched from ``HOODY_API_BASE`` (default https://api.hoody.com); an explicit argument
    always wins over the environment. ``timeout`` bounds a whole fetch, not each socket read.
    ``clock`` returns Unix seconds (injectable for tests).
    """

    def __init__(
        self,
        api_base: str | None = None,
        *,
        cache_dir: str | os.PathLike[str] | object | None = _DEFAULT,
        ttl: float = 86400,
        min_refresh_interval: float = 60,
        timeout: float = 5,
        pinned: KeySet | str | bytes | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if ttl <= 0 or min_refresh_interval < 0 or timeout <= 0:
            raise ValueError("ttl and timeout must be positive, min_refresh_interval not negative")
        if api_base is None and pinned is None and os.environ.get(KEYS_ENV):
            pinned = os.environ[KEYS_ENV]
        self.api_base = (api_base or os.environ.get(API_BASE_ENV) or DEFAULT_API_BASE).rstrip("/")
        if not self.api_base.startswith(("https://", "http://")):
            raise ValueError("api_base must be an http(s) URL")
        self.url = self.api_base + KEY_PATH
        self.ttl = ttl
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self._clock = clock
        if cache_dir is _DEFAULT:
            cache_dir = _default_cache_dir()
        self._cache_file = (
            Path(cache_dir) / f"keys-{hashlib.sha256(self.url.encode()).hexdigest()[:20]}.json"  # type: ignore[arg-type]
            if cache_dir is not None
            else None
        )
        self._lock = threading.Lock()
        self._last_attempt = float("-inf")
        self._last_error: HoodyClaimsError | None = None
        self._loaded: _Loaded | None = None
        if pinned is not None:
            self._loaded = _Loaded(_load_pinned(pinned), self._clock(), "pinned")

    # -- what verifiers call -------------------------------------------------------------

    def key_set(self, *, block: bool = True) -> KeySet:
        """The current key set, fetching or refreshing it when needed.

        Raises ``KeyFetchFailed`` / ``InvalidKeyDocument`` when nothing usable can be had.
        """
        loaded = self._loaded
        if loaded is not None and (
            loaded.origin == "pinned" or self._clock() - loaded.fetched_at < self.ttl
        ):
            return loaded.keys
        if loaded is not None and self._clock() - self._last_attempt < self.min_refresh_interval:
            # A fetch ran (and failed, or the ttl is under the interval) less than
            # min_refresh_interval ago: the store fetches at most that often, so the set in
            # hand is the answer, without the lock or a worker thread (as _refresh answers).
            return loaded.keys
        if not block:
            raise WouldBlock
        return self._refresh(stale_only=True)

    def key_for(self, kid: str, *, block: bool = True) -> bytes | None:
        """The key named ``kid``; one rate-limited refresh when it is unknown."""
        key = self.key_set(block=block).keys.get(kid)
        if key is not None or self._loaded is None or self._loaded.origin == "pinned":
            return key
        if self._clock() - self._last_attempt < self.min_refresh_interval:
            return None
        if not block:
            raise WouldBlock
        return self._refresh(stale_only=False, want_kid=kid).keys.get(kid)

    # -- inspection ----------------------------------------------------------------------

    @property
    def fetched_at(self) -> float | None:
        """Unix time the current key set was fetched (None before first use)."""
        return self._loaded.fetched_at if self._loaded else None

    @property
    def origin(self) -> str | None:
        """Where the current key set came from: "network", "disk" or "pinned"."""
        return self._loaded.origin if self._loaded else None

    def refresh(self) -> KeySet:
        """Fetch now, ignoring freshness and rate limits (the CLI's ``keys fetch``)."""
        with self._lock:
            return self._fetch_locked(self._clock())

    # -- internals -----------------------------------------------------------------------

    def _refresh(self, *, stale_only: bool, want_kid: str | None = None) -> KeySet:
        with self._lock:
            now = self._clock()
            loaded = self._loaded
            # Another thread may have refreshed while we waited for the lock.
            if (
                loaded is not None
                and now - loaded.fetched_at < self.ttl
                and (stale_only or want_kid in loaded.keys)
            ):
                return loaded.keys
            if loaded is None:
                loaded = self._load_disk(now)
                if loaded is not None and now - loaded.fetched_at < self.ttl:
                    return loaded.keys
            wait = self.min_refresh_interval if loaded is not None else _EMPTY_RETRY_SECONDS
            if now - self._last_attempt < min(wait, self.min_refresh_interval):
                if loaded is not None:
                    return loaded.keys
                raise self._last_error or KeyFetchFailed("no key set could be fetched yet")
            try:
                return self._fetch_locked(now)
            except HoodyClaimsError:
                if loaded is not None:
                    return loaded.keys  # serve stale while the refresh fails
                raise

    def _fetch_locked(self, now: float) -> KeySet:
        self._last_attempt = now
        try:
            body = self._download()
            keys = KeySet.from_document(body)
        except HoodyClaimsError as exc:
            self._last_error = exc
            raise
        self._last_error = None
        self._loaded = _Loaded(keys, now, "network")
        self._save_disk(body, now)
        return keys

    def _download(self) -> bytes:
        try:  # a URL urllib cannot take (e.g. "http://[::1") is a failed fetch too
            request = urllib.request.Request(
                self.url, headers={"Accept": "application/json", "User-Agent": "hoody_claims"}
            )
            with _deadline(self.timeout) as expired:
                try:
                    with _OPENER.open(request, timeout=self.timeout) as response:
                        status = response.status
                        body: bytes = response.read(MAX_DOCUMENT_BYTES + 1)
                        # read(n) returns what came before a close; Content-Length says more
                        missing = getattr(response, "length", None)
                finally:
                    if expired():
                        raise TimeoutError(f"no whole answer within {self.timeout:g} s")
        except urllib.error.HTTPError as exc:
            raise KeyFetchFailed(f"{self.url} answered HTTP {exc.code}") from None
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
            # HTTPException: a reply that is not HTTP (bad status line, truncated chunks...).
            reason = getattr(exc, "reason", None) or str(exc)
            what = exc.__class__.__name__
            raise KeyFetchFailed(
                f"could not fetch {self.url}: {what}" + (f": {reason}" if reason else "")
            ) from None
        if status != 200:
            raise KeyFetchFailed(f"{self.url} answered HTTP {status}")
        if len(body) > MAX_DOCUMENT_BYTES:
            raise InvalidKeyDocument("the key document is larger than 1 MiB")
        if missing:
            raise KeyFetchFailed(f"{self.url} closed the connection {missing} bytes short")
        return body

    def _load_disk(self, now: float) -> _Loaded | None:
        if self._cache_file is None:
            return None
        try:
            fd = os.open(self._cache_file, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            # A file someone else could have written is not trusted with our keys.
            if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return None
            if not stat.S_ISREG(st.st_mode) or st.st_size > 2 * MAX_DOCUMENT_BYTES:
                return None
            with os.fdopen(fd, "rb", closefd=False) as fh:
                record = json.loads(fh.read())
            fetched_at = float(record["fetched_at"])
            keys = KeySet.from_document(record["document"])
        except (OSError, ValueError, KeyError, TypeError, HoodyClaimsError):
            return None
        finally:
            os.close(fd)
        if fetched_at > now + 60:  # a clock that went backwards: treat as stale
            fetched_at = float("-inf")
        self._loaded = _Loaded(keys, fetched_at, "disk")
        return self._loaded

    def _save_disk(self, body: bytes, now: float) -> None:
        if self._cache_file is None:
            return
        record = json.dumps({"fetched_at": now, "url": self.url, "document": body.decode("utf-8")})
        directory = self._cache_file.parent
        try:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".keys-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(record)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self._cache_file)  # atomic: readers see old or new, never half
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            pass  # the disk cache is an optimisation; memory still has the keys


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # The key document must come from api_base itself, never from wherever a redirect points.
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


# The connections a fetch in this thread opened, so its deadline can cut them: a socket
# timeout bounds each read, and a server sending a byte at a time would never trip it.
_fetching = threading.local()


def _watched(http_class: type[http.client.HTTPConnection]) -> type[http.client.HTTPConnection]:
    class Watched(http_class):  # type: ignore[misc, valid-type]
        # Registered once connected: Python already bounds a TLS handshake as a whole by the
        # socket timeout; what follows it (status line, headers, body) needs the deadline.
        def connect(self) -> None:
            super().connect()
            register = getattr(_fetching, "register", None)
            if register is not None:
                register(self.sock)

    return Watched


_WATCHED = {
    http.client.HTTPConnection: _watched(http.client.HTTPConnection),
    http.client.HTTPSConnection: _watched(http.client.HTTPSConnection),
}


class _BoundedHTTP(urllib.request.HTTPHandler):
    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        return super().do_open(_WATCHED.get(http_class, http_class), req, **kwargs)


class _BoundedHTTPS(urllib.request.HTTPSHandler):
    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        return super().do_open(_WATCHED.get(http_class, http_class), req, **kwargs)


@contextmanager
def _deadline(seconds: float) -> Iterator[Callable[[], bool]]:
    """Shut down every connection this thread opens inside the block once ``seconds`` pass;
    yields a function telling whether that happened."""
    lock = threading.Lock()
    sockets: list[socket.socket] = []
    fired = False

    def cut(sock: socket.socket) -> None:
        with suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)

    def register(sock: socket.socket) -> None:
        with lock:
            sockets.append(sock)
            if fired:
                cut(sock)

    def fire() -> None:
        nonlocal fired
        with lock:
            fired = True
            for sock in sockets:
                cut(sock)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    _fetching.register = register
    timer.start()
    try:
        yield lambda: fired
    finally:
        timer.cancel()
        _fetching.register = None


_OPENER = urllib.request.build_opener(_NoRedirect, _BoundedHTTP, _BoundedHTTPS)


def _load_pinned(pinned: KeySet | str | bytes | os.PathLike[str]) -> KeySet:
    if isinstance(pinned, KeySet):
        return pinned
    if isinstance(pinned, (bytes, bytearray)):  # the document's bytes, as read from a file
        return KeySet.from_document(bytes(pinned))
    text = os.fspath(pinned)
    if not text.strip():
        raise InvalidKeyDocument(f"{KEYS_ENV} / pinned keys: empty (a path or a key document)")
    if text.lstrip().startswith("{"):
        return KeySet.from_document(text)
    try:
        return KeySet.from_file(text)
    except InvalidKeyDocument as exc:
        raise InvalidKeyDocument(f"{KEYS_ENV} / pinned keys: {exc.message}") from None
