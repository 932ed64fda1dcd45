"""Remembered claims (SPEC §4): the claim a client sends with every request is checked once.

Exact match on the whole claim, bounded (LRU), never served on or after the claim's ``exp``,
and emptied when the key set changes. The verifier re-runs the cheap rules (type, time,
binding, policy) on every hit; only the parsing and the signature are skipped.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from .claim import Claim

__all__ = ["RememberedClaims"]


class RememberedClaims:
    """A thread-safe LRU of signature-checked claims, tied to one key-set fingerprint.

    Each entry carries the fingerprint it was verified under and is served only under that
    same fingerprint, so no ordering of threads can hand out a claim checked with keys that
    have since changed. That makes locking unnecessary on the hot path: every OrderedDict
    operation below is atomic on its own, and a race between two of them at worst forgets
    an entry (a later miss) or evicts one entry too many. The lock only serialises the
    emptying on a key change, which is about memory, not correctness.
    """

    def __init__(self, maxsize: int = 4096) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, tuple[str, Claim]] = OrderedDict()
        self._fingerprint = ""
        self._lock = threading.Lock()

    def get(self, key: Hashable, fingerprint: str, now: int) -> Claim | None:
        """The remembered claim for ``key``, if the keys are unchanged and it has not expired."""
        entries = self._entries
        entry = entries.get(key)
        if entry is None:
            if fingerprint != self._fingerprint:
                self._forget_all(fingerprint)
            return None
        verified_under, claim = entry
        if verified_under != fingerprint:
            self._forget_all(fingerprint)
            return None
        if now >= claim.exp:
            entries.pop(key, None)
            return None
        # Evicted by another thread since the lookup? Then the answer is still valid; a
        # suppress() context manager would cost more than the whole lookup on this hot path.
        try:  # noqa: SIM105
            entries.move_to_end(key)
        except KeyError:
            pass
        return claim

    def put(self, key: Hashable, fingerprint: str, claim: Claim) -> None:
        """Remember a claim whose signature verified under the key set ``fingerprint``."""
        if self.maxsize == 0:
            return
        if fingerprint != self._fingerprint:
            self._forget_all(fingerprint)
        entries = self._entries
        entries.pop(key, None)  # a key put again (two misses racing) goes to the fresh end
        entries[key] = (fingerprint, claim)
        self._evict()

    def put_many(self, items: list[tuple[Hashable, Claim]], fingerprint: str) -> None:
        """:meth:`put` for many claims at once (verify_many)."""
        if self.maxsize == 0 or not items:
            return
        if fingerprint != self._fingerprint:
            self._forget_all(fingerprint)
        entries = self._entries
        for key, claim in items:
            entries.pop(key, None)
            entries[key] = (fingerprint, claim)
        self._evict()

    def _evict(self) -> None:
        entries = self._entries
        while len(entries) > self.maxsize:
            try:
                entries.popitem(last=False)
            except KeyError:  # emptied by another thread
                return

    def _forget_all(self, fingerprint: str) -> None:
        """The keys changed: drop every entry (none would be served again anyway)."""
        with self._lock:
            if fingerprint != self._fingerprint:
                self._entries.clear()
                self._fingerprint = fingerprint

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
