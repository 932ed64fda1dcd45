"""50 MB each way through the gate, and the gate process's peak memory stays under 100 MB."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import aiohttp
import pytest

from .procs import Upstream, start_gate
from .upstream_app import PATTERN

MB = 1024 * 1024
SIZE_MB = 50
LIMIT_MB = 100


@pytest.mark.timeout(90)
async def test_50mb_up_and_down_stream_in_bounded_memory(
    upstream: Upstream, keys_file: str, claim: str
) -> None:
    gate = start_gate(keys_file, "--upstream", upstream.url, "--access-log", "off")
    try:
        base = gate.peak_rss_mb()
        hdr = {"Authorization": f"HoodyClaim {claim}"}
        expected = hashlib.sha256()
        for _ in range(SIZE_MB * 16):
            expected.update(PATTERN)

        async def body() -> AsyncIterator[bytes]:
            for _ in range(SIZE_MB * 16):
                yield PATTERN

        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as s:
            # upload: streamed by the client (chunked), hashed by the upstream
            async with s.post(gate.url + "/upload", headers=hdr, data=body()) as r:
                assert r.status == 200
                echo = await r.json()
            assert echo["length"] == SIZE_MB * MB
            assert echo["sha256"] == expected.hexdigest()

            # upload with a Content-Length: the length is passed on, not re-chunked
            async def sized() -> AsyncIterator[bytes]:
                for _ in range(SIZE_MB * 16):
                    yield PATTERN

            sized_hdr = {**hdr, "Content-Length": str(SIZE_MB * MB)}
            async with s.put(gate.url + "/upload", headers=sized_hdr, data=sized()) as r:
                echo = await r.json()
            assert echo["length"] == SIZE_MB * MB
            assert ["Content-Length", str(SIZE_MB * MB)] in echo["headers"]

            # download: streamed by the upstream, read slowly-ish in pieces here
            got = hashlib.sha256()
            n = 0
            async with s.get(gate.url + f"/download?mb={SIZE_MB}", headers=hdr) as r:
                assert r.status == 200
                async for chunk in r.content.iter_chunked(256 * 1024):
                    got.update(chunk)
                    n += len(chunk)
            assert n == SIZE_MB * MB
            assert got.hexdigest() == expected.hexdigest()

        peak = gate.peak_rss_mb()
        print(f"gate VmHWM: {base:.1f} MiB at start, {peak:.1f} MiB after 3 x {SIZE_MB} MB")
        assert peak < LIMIT_MB, f"gate peak memory {peak:.1f} MiB (started at {base:.1f})"
        assert peak - base < 30, f"gate grew by {peak - base:.1f} MiB while streaming"
    finally:
        gate.stop()
