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
    """A thread-safe LRU of signature-checked claims, tied to one key-set fingerprint."""

    def __init__(self, maxsize: int = 4096) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, Claim] = OrderedDict()
        self._fingerprint = ""
        self._lock = threading.Lock()

    def get(self, key: Hashable, fingerprint: str, now: int) -> Claim | None:
        """The remembered claim for ``key``, if the keys are unchanged and it has not expired."""
        # A miss (most calls on a busy server) takes no lock: one dict lookup is atomic, and
        # a hit is re-checked under the lock, so a racing clear or eviction still wins.
        if fingerprint == self._fingerprint and key not in self._entries:
            return None
        with self._lock:
            if fingerprint != self._fingerprint:
                self._entries.clear()
                self._fingerprint = fingerprint
                return None
            claim = self._entries.get(key)
            if claim is None:
                return None
            if now >= claim.exp:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return claim

    def put(self, key: Hashable, fingerprint: str, claim: Claim) -> None:
        """Remember a claim whose signature verified under the key set ``fingerprint``."""
        if self.maxsize == 0:
            return
        entries = self._entries
        with self._lock:
            if fingerprint != self._fingerprint:
                entries.clear()
                self._fingerprint = fingerprint
            if key in entries:
                entries.move_to_end(key)
            entries[key] = claim
            while len(entries) > self.maxsize:
                entries.popitem(last=False)

    def put_many(self, items: list[tuple[Hashable, Claim]], fingerprint: str) -> None:
        """:meth:`put` for many claims at once (verify_many), taking the lock once."""
        if self.maxsize == 0 or not items:
            return
        entries = self._entries
        with self._lock:
            if fingerprint != self._fingerprint:
                entries.clear()
                self._fingerprint = fingerprint
            for key, claim in items:
                if key in entries:
                    entries.move_to_end(key)
                entries[key] = claim
            while len(entries) > self.maxsize:
                entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
