"""Throughput and latency of ``hoody-claims gate`` next to nginx, all in one run, all on loopback.

    python benchmarks/bench_gate.py [--duration 8] [--connections 50] [--json out.json]

Needs ``wrk`` and ``nginx`` (Debian: ``apt-get install -y nginx wrk``). Every configuration is
measured in the same run against the same fast upstream — an nginx worker answering
``return 200`` — with the same wrk settings:

  direct              wrk -> upstream
  nginx proxy         wrk -> nginx (plain reverse proxy, keepalive to upstream) -> upstream
  gate                wrk -> hoody-claims gate (1 worker, then 2) -> upstream
  nginx + fwd-auth    wrk -> nginx (auth_request to hoody-claims gate --forward-auth, the
                      config shipped in docs/gate/) -> upstream

Each request carries a valid claim (``Authorization: HoodyClaim ...``); the gate writes its
access log to a file, as a deployment would. Each configuration runs at ``--connections``
(default 50) and, to show per-request overhead without queueing, at 1 connection. Ratios are
against nginx proxy (throughput) and direct (added median latency). The CPU per request of
the proxy under test is read from /proc: it stays meaningful when other work shares the
machine. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTAINER = "0123456789abcdef01234567"
sys.path.insert(0, str(ROOT))


@dataclass
class Result:
    name: str
    connections: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    requests: int = 0
    cpu_us_per_req: float | None = None  # CPU of the proxy under test (user+sys), per request


def _family(pids: list[int]) -> list[int]:
    """``pids`` and their direct children (nginx workers, gate workers)."""
    out = list(pids)
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid in pids:
                out.append(int(entry))
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in _family(pids):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, ValueError, IndexError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 15
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start listening on {port}") from None
            time.sleep(0.05)


def need(tool: str) -> str:
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if os.path.exists(f"/usr/sbin/{tool}")
                                  else None)
    if path is None:
        raise SystemExit(f"{tool} is not installed: apt-get install -y nginx wrk")
    return path


class Procs:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], **kw: object) -> subprocess.Popen[bytes]:
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]
        self.procs.append(p)
        return p

    def stop(self, p: subprocess.Popen[bytes]) -> None:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def stop_all(self) -> None:
        for p in reversed(self.procs):
            self.stop(p)


def nginx_conf(tmp: Path, name: str, body: str, workers: int) -> Path:
    d = tmp / name
    d.mkdir()
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (d / sub).mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = d / "nginx.conf"
    conf.write_text(f"""{user}daemon off;
worker_processes {workers};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{body}
}}
""")
    return conf


_LAT = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk(url: str, header: str, connections: int, duration: float, name: str) -> Result:
    threads = 1 if connections < 2 else 2
    argv = [need("wrk"), f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", "--latency",
            "-H", header, url]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {int(m.group(1)): float(m.group(2)) * _UNIT[m.group(3)] for m in _LAT.finditer(out)}
    errors = 0
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        errors += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"(\d+) requests in", out)
    return Result(name, connections, rps, lat[50], lat[99], errors, int(m.group(1)) if m else 0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=8.0, help="seconds per measurement")
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--no-single", action="store_true", help="skip the 1-connection runs")
    ap.add_argument("--loop", default="auto", help="the gate's --loop (auto, asyncio, uvloop)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    from hoody_claims.testing import Issuer

    need("wrk")
    nginx = need("nginx")
    issuer = Issuer(kid="bench")
    claim = issuer.container_claim(container_id=CONTAINER, sub="bench-user", ttl=86400)
    header = f"Authorization: HoodyClaim {claim}"
    procs = Procs()
    results: list[Result] = []
    tmp = Path(tempfile.mkdtemp(prefix="bench-gate-"))
    keys = tmp / "keys.json"
    keys.write_text(json.dumps(issuer.key_document()))
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

    def nginx_start(name: str, body: str, workers: int, port: int) -> subprocess.Popen[bytes]:
        conf = nginx_conf(tmp, name, body, workers)
        p = procs.start([nginx, "-p", str(conf.parent), "-c", str(conf), "-e", "stderr"])
        wait_port(port, p, f"nginx ({name})")
        return p

    def gate_start(port: int, *extra: str) -> subprocess.Popen[bytes]:
        p = procs.start([sys.executable, "-m", "hoody_claims.gate", "--listen",
                         f"127.0.0.1:{port}", "--keys", str(keys), "--container-id", CONTAINER,
                         "--access-log", str(tmp / f"gate-{port}.log"), "--loop", args.loop,
                         *extra], env=env, stderr=subprocess.DEVNULL)
        wait_port(port, p, "gate")
        return p

    def measure(name: str, url: str, watch: list[subprocess.Popen[bytes]]) -> None:
        wrk(url, header, args.connections, 2, name)  # warm-up: connections, caches
        levels = [args.connections] if args.no_single else [args.connections, 1]
        pids = [p.pid for p in watch]
        for c in levels:
            before = cpu_seconds(pids)
            r = wrk(url, header, c, args.duration, name)
            if pids and r.requests:
                r.cpu_us_per_req = (cpu_seconds(pids) - before) / r.requests * 1e6
            results.append(r)
            cpu = f"{r.cpu_us_per_req:6.0f} us CPU/req" if r.cpu_us_per_req else ""
            print(f"  {name:<28} c={c:<3} {r.rps:>9.0f} req/s  p50 {r.p50_ms:7.3f} ms  "
                  f"p99 {r.p99_ms:7.3f} ms  errors {r.errors}  {cpu}", flush=True)

    try:
        up = free_port()
        upstream = nginx_start("upstream", f"""    server {{ listen 127.0.0.1:{up};
        location / {{ default_type text/plain; return 200 "ok\\n"; }} }}""", 1, up)
        measure("direct", f"http://127.0.0.1:{up}/", [upstream])

        px = free_port()
        p = nginx_start("proxy", f"""    upstream app {{ server 127.0.0.1:{up}; keepalive 64; }}
    server {{ listen 127.0.0.1:{px};
        location / {{ proxy_pass http://app; proxy_http_version 1.1;
                     proxy_set_header Connection ""; }} }}""", 2, px)
        measure("nginx proxy (2 workers)", f"http://127.0.0.1:{px}/", [p])
        procs.stop(p)

        for workers in (1, 2):
            gp = free_port()
            p = gate_start(gp, "--upstream", f"http://127.0.0.1:{up}", "--workers", str(workers))
            measure(f"gate ({workers} worker{'s' * (workers > 1)})", f"http://127.0.0.1:{gp}/",
                    [p])
            procs.stop(p)

        site = (ROOT / "docs" / "gate" / "nginx-forward-auth.conf").read_text()
        for workers in (1, 2):
            fa, fx = free_port(), free_port()
            g = gate_start(fa, "--forward-auth", "--workers", str(workers))
            body = (site.replace("127.0.0.1:9090", f"127.0.0.1:{fa}")
                    .replace("127.0.0.1:7681", f"127.0.0.1:{up}")
                    .replace("listen 127.0.0.1:8080", f"listen 127.0.0.1:{fx}"))
            n = nginx_start(f"fwd{workers}", body, 2, fx)
            measure(f"nginx + fwd-auth ({workers}w gate)", f"http://127.0.0.1:{fx}/", [n, g])
            procs.stop(n)
            procs.stop(g)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)

    report(results, args.connections)
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


def report(results: list[Result], conns: int) -> None:
    def pick(name: str, c: int) -> Result | None:
        return next((r for r in results if r.name == name and r.connections == c), None)

    for c in sorted({r.connections for r in results}, reverse=True):
        ref = pick("nginx proxy (2 workers)", c)
        direct = pick("direct", c)
        print(f"\n{c} connection{'s' * (c > 1)}:")
        print(f"{'configuration':<30}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}"
              f"{'vs nginx proxy':>16}{'p50 added ms':>14}{'CPU us/req':>12}{'errors':>8}")
        for r in (r for r in results if r.connections == c):
            ratio = f"{r.rps / ref.rps * 100:.0f}%" if ref else "-"
            added = f"{r.p50_ms - direct.p50_ms:+.3f}" if direct else "-"
            cpu = f"{r.cpu_us_per_req:.0f}" if r.cpu_us_per_req else "-"
            print(f"{r.name:<30}{r.rps:>10.0f}{r.p50_ms:>9.3f}{r.p99_ms:>9.3f}{ratio:>16}"
                  f"{added:>14}{cpu:>12}{r.errors:>8}")
    print("\nCPU us/req: user+sys CPU of the process(es) under test (for direct: the upstream; "
          "for nginx + fwd-auth: nginx and the gate together) per request, from /proc.")


if __name__ == "__main__":
    sys.exit(main())
