"""Throughput and latency of the web gate: a minimal app with and without the claim middleware.

    apt-get install -y wrk                       # the load generator (Debian package)
    python3 -m pip install -e '.[test]'          # starlette, uvicorn, flask, gunicorn
    python3 benchmarks/bench_web.py [--duration 10] [--connections 32] [--rounds 3] [--json F]

Two peers, each in both configurations, all in this one run on 127.0.0.1:

  starlette   a one-route Starlette app under uvicorn (1 worker), bare, and behind
              ``hoody_claims.web.starlette.HoodyClaimsMiddleware``
  flask       a one-route Flask app under gunicorn (1 sync worker), bare, and with the
              ``hoody_claims.web.flask.HoodyClaims`` extension guarding every request

Every request carries the same valid claim (``X-Hoody-Container-Claim``, compact form), as a
client does on every call: after the first request the verifier answers from its remembered
claims, so this measures the gate's per-request cost (extraction, lookup, time and binding
checks). The guarded run fails loudly if any response is not 2xx. Bare and guarded runs
alternate (``--rounds`` times, after a warm-up) and the table shows the medians, with
guarded/bare ratios. Target: guarded >= 90% of bare throughput. Beside req/s the table shows
the server's CPU time per request (from /proc): on a machine shared with other work, req/s
moves with the neighbours' load, CPU per request much less.

Not part of the test suite (``testpaths = ["tests"]``): run it as a script. On a small or shared
machine quote the numbers of one run only, with the machine they came from.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

CONTAINER = "0123456789abcdef01234567"
TARGET = 0.90


@dataclass
class Run:
    peer: str
    config: str
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    cpu_us_per_request: float


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start listening")


def server_command(peer: str, config: str, port: int) -> list[str]:
    app = f"bench_web_apps:{peer}_{config}"
    if peer == "starlette":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "--no-access-log",
            "--app-dir",
            str(HERE),
        ]
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--chdir",
        str(HERE),
        app,
    ]


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not m:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(m.group(1)) * _UNITS[m.group(2)]


_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and its direct children (gunicorn's worker)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry.name) == pid or int(fields[1]) == pid:  # fields[1] is the parent pid
            total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def wrk(
    port: int, header: str | None, duration: float, connections: int
) -> tuple[float, float, float, int, int]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency"]
    if header:
        cmd += ["-H", header]
    out = subprocess.run(
        [*cmd, f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    done = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    return rps, p50, p99, int(bad.group(1)) if bad else 0, done


def measure(
    peer: str,
    config: str,
    env: dict[str, str],
    header: str,
    args: argparse.Namespace,
    warmup: float,
) -> Run:
    port = free_port()
    proc = subprocess.Popen(
        server_command(peer, config, port),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_listening(port, proc)
        # Same bytes on the wire in both configurations: the bare app just ignores the claim.
        wrk(port, header, warmup, args.connections)
        cpu_before = server_cpu_seconds(proc.pid)
        rps, p50, p99, bad, done = wrk(port, header, args.duration, args.connections)
        cpu_us = (server_cpu_seconds(proc.pid) - cpu_before) / max(done, 1) * 1e6
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
    if bad:
        raise SystemExit(f"{peer} {config}: {bad} non-2xx responses\n{err}")
    return Run(peer, config, rps, p50, p99, bad, cpu_us)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peers", default="starlette,flask")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    from hoody_claims.testing import Issuer

    issuer = Issuer(kid="bench")
    token = issuer.container_claim(container_id=CONTAINER, ttl=24 * 3600)
    header = f"X-Hoody-Container-Claim: {token}"
    runs: list[Run] = []
    with tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp) / "keys.json"
        keys.write_text(json.dumps(issuer.key_document()))
        env = {
            **os.environ,
            "HOODY_CONTAINER_ID": CONTAINER,
            "HOODY_CLAIMS_KEYS": str(keys),
            "HOME": tmp,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)]),
        }
        for peer in args.peers.split(","):
            for r in range(args.rounds):
                for config in ("plain", "guarded"):
                    run = measure(peer, config, env, header, args, args.warmup)
                    runs.append(run)
                    print(
                        f"  round {r + 1}: {peer:9} {config:7} {run.rps:9.0f} req/s  "
                        f"p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  "
                        f"server CPU {run.cpu_us_per_request:5.0f} µs/req",
                        file=sys.stderr,
                    )

    report(runs, args)


def report(runs: list[Run], args: argparse.Namespace) -> None:
    print(
        f"\nweb gate benchmark — {platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, "
        f"wrk -t1 -c{args.connections} -d{args.duration:g}s, median of {args.rounds} rounds\n"
    )
    print(
        "| peer | config | req/s | p50 ms | p99 ms | server CPU µs/req "
        "| guarded/bare req/s | guarded/bare at equal CPU | target (>= 90%) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    summary = []
    for peer in args.peers.split(","):
        med: dict[str, tuple[float, float, float, float]] = {}
        for config in ("plain", "guarded"):
            mine = [x for x in runs if x.peer == peer and x.config == config]
            med[config] = (
                statistics.median(x.rps for x in mine),
                statistics.median(x.p50_ms for x in mine),
                statistics.median(x.p99_ms for x in mine),
                statistics.median(x.cpu_us_per_request for x in mine),
            )
        ratio = med["guarded"][0] / med["plain"][0]
        cpu_ratio = med["plain"][3] / med["guarded"][3] if med["guarded"][3] else float("nan")
        for config in ("plain", "guarded"):
            rps, p50, p99, cpu = med[config]
            cells = (
                (f"{ratio:.1%}", f"{cpu_ratio:.1%}", "met" if ratio >= TARGET else "not met")
                if config == "guarded"
                else ("", "", "")
            )
            row = (peer, config, f"{rps:.0f}", f"{p50:.2f}", f"{p99:.2f}", f"{cpu:.0f}", *cells)
            print("| " + " | ".join(row) + " |")
        summary.append(
            {
                "peer": peer,
                "ratio": ratio,
                "cpu_ratio": cpu_ratio,
                "plain": med["plain"],
                "guarded": med["guarded"],
            }
        )
    print(
        "\n'at equal CPU' = bare server CPU per request / guarded server CPU per request: the "
        "throughput ratio when the server is CPU-bound, and far less sensitive than req/s to "
        "other load on the machine."
    )
    if args.json:
        args.json.write_text(
            json.dumps({"runs": [asdict(r) for r in runs], "summary": summary}, indent=2)
        )


if __name__ == "__main__":
    main()
