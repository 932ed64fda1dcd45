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

    The entries live in one dict per key-set fingerprint, swapped for a fresh one when a
    lookup brings another fingerprint, and a caller only ever reads or writes the dict of the
    fingerprint it holds. So no ordering of threads can hand out a claim checked with keys
    that have since changed (a late put lands in a dict nobody reads any more), and the hot
    path needs no lock: each OrderedDict operation is atomic on its own, and a race between
    two of them at worst forgets an entry or evicts one too many. The lock only serialises
    the swap. Only lookups swap: a put under another fingerprint than the current one is a
    check finished under keys that have been replaced since (or that replaced them while it
    ran), and dropping it is cheaper than emptying what the new keys have checked.
    """

    def __init__(self, maxsize: int = 4096) -> None:
        if maxsize < 0:
            raise ValueError("maxsize must be >= 0")
        self.maxsize = maxsize
        self._state: tuple[str, OrderedDict[Hashable, Claim]] = ("", OrderedDict())
        self._lock = threading.Lock()

    def get(self, key: Hashable, fingerprint: str, now: int) -> Claim | None:
        """The remembered claim for ``key``, if the keys are unchanged and it has not expired."""
        verified_under, entries = self._state
        if verified_under != fingerprint:
            self._entries_for(fingerprint)
            return None
        claim = entries.get(key)
        if claim is None:
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
        """Remember a claim whose signature verified under the key set ``fingerprint`` (unless
        a lookup has brought other keys since)."""
        verified_under, entries = self._state
        if verified_under != fingerprint or self.maxsize == 0:
            return
        entries[key] = claim
        # One put adds at most one entry, so one eviction keeps the bound, however puts from
        # several threads interleave (a full cache evicts on every new claim: no loop here).
        if len(entries) > self.maxsize:
            try:  # noqa: SIM105  (suppress() would cost more than the eviction)
                entries.popitem(last=False)
            except KeyError:  # emptied by another thread
                pass

    def put_many(self, items: list[tuple[Hashable, Claim]], fingerprint: str) -> None:
        """:meth:`put` for many claims at once (verify_many)."""
        verified_under, entries = self._state
        if verified_under != fingerprint or self.maxsize == 0:
            return
        for key, claim in items:
            entries[key] = claim
        self._evict(entries)

    def _evict(self, entries: OrderedDict[Hashable, Claim]) -> None:
        while len(entries) > self.maxsize:
            try:
                entries.popitem(last=False)
            except KeyError:  # emptied by another thread
                return

    def _entries_for(self, fingerprint: str) -> OrderedDict[Hashable, Claim]:
        """The keys changed: start an empty dict for the new fingerprint."""
        with self._lock:
            verified_under, entries = self._state
            if verified_under != fingerprint:
                entries = OrderedDict()
                self._state = (fingerprint, entries)
            return entries

    def __len__(self) -> int:
        return len(self._state[1])

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._state = (self._state[0], OrderedDict())
