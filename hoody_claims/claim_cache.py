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
        with self._lock:
            if fingerprint != self._fingerprint:
                self._entries.clear()
                self._fingerprint = fingerprint
            self._entries[key] = claim
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
