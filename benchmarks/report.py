#!/usr/bin/env python3
"""Run benchmarks/bench_core.py and print the ratio table (markdown) with the machine it ran on.

    python3 benchmarks/report.py                 # one run, wall clock
    python3 benchmarks/report.py --runs 3        # three runs: a table each, then the spread
    python3 benchmarks/report.py --timer cpu     # single-thread groups timed in CPU time
    python3 benchmarks/report.py --from out.json # only format an existing --benchmark-json file

Every ratio in a table comes from one pytest run, where each comparison is one benchmark
group whose peers take turns slice by slice. A ratio is the median, over the slices, of the
ratio of the two peers' medians in that slice (measured back to back), so a burst of load
from another program that lands on one slice does not move it; the times shown are each
peer's median over all its slices. The targets are the ones of issue 2; missing one is reported as
"not met", never as a failure (the exit status is non-zero only when pytest itself fails).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_FILE = HERE / "bench_core.py"
X = "\u00d7"  # the multiplication sign, for the table


# -- reading a pytest-benchmark JSON file ------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    """One peer of one group, its slices pooled: every round of every slice."""

    name: str  # "group/peer"
    group: str
    peer: str
    median: float  # seconds
    iqr: float
    rounds: int
    slices: int
    extra: dict[str, Any]
    by_slice: dict[int, float]  # slice index -> that slice's median (seconds)


def _quantile(sorted_data: list[float], q: float) -> float:
    pos = (len(sorted_data) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(sorted_data) - 1)
    return sorted_data[lo] + (sorted_data[hi] - sorted_data[lo]) * (pos - lo)


def load(path: Path) -> dict[str, Timing]:
    """Pool each (group, peer)'s slices: their rounds, in seconds per call, into one sample."""
    data = json.loads(path.read_text(encoding="utf-8"))
    pooled: dict[tuple[str, str], list[float]] = {}
    extras: dict[tuple[str, str], dict[str, Any]] = {}
    slices: dict[tuple[str, str], int] = {}
    by_slice: dict[tuple[str, str], dict[int, float]] = {}
    for b in data["benchmarks"]:
        extra = b.get("extra_info", {})
        peer = extra.get("peer") or (b.get("params") or {}).get("peer") or b["name"]
        key = (b["group"], peer)
        pooled.setdefault(key, []).extend(b["stats"]["data"])
        extras.setdefault(key, extra)
        slices[key] = slices.get(key, 0) + 1
        if "slice" in extra:
            by_slice.setdefault(key, {})[int(extra["slice"])] = b["stats"]["median"]
    out = {}
    for (group, peer), samples in pooled.items():
        samples.sort()
        out[f"{group}/{peer}"] = Timing(
            f"{group}/{peer}",
            group,
            peer,
            _quantile(samples, 0.5),
            _quantile(samples, 0.75) - _quantile(samples, 0.25),
            len(samples),
            slices[(group, peer)],
            extras[(group, peer)],
            by_slice.get((group, peer), {}),
        )
    return out


# -- the table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    case: str
    ours: str  # benchmark name of the hoody_claims side
    peer_label: str
    peer: str  # benchmark name of the peer
    kind: str  # "time": ours/peer, lower is better; "speedup": peer/ours, higher is better
    target: float | None
    unit: str = "time"  # "time" per call, or "batch" (report throughput too)


ROWS = [
    Row("Full check, new claim", "full-check/hoody_claims",
        "PyNaCl raw verify (same bytes)", "full-check/pynacl", "time", 1.10),
    Row("Full check, new claim, remembering off (`cache_size=0`)",
        "full-check/hoody_claims-nocache",
        "PyNaCl raw verify (same bytes)", "full-check/pynacl", "time", None),
    Row("Full check, new claim", "full-check/hoody_claims",
        "`cryptography` Ed25519 verify (same bytes)", "full-check/cryptography", "time", None),
    Row("Full check, new claim", "full-check/hoody_claims",
        "PyJWT `jwt.decode`, EdDSA, aud+exp checked", "full-check/pyjwt", "speedup", 2.0),
    Row("Full check, new claim", "full-check/hoody_claims",
        "pyseto `v4.public` decode, aud+exp checked", "full-check/pyseto", "speedup", None),
    Row("Same claim repeated (remembered)", "repeated/hoody_claims",
        "PyNaCl raw verify (same bytes)", "repeated/pynacl", "speedup", 20.0),
    Row("`verify_many`, 256 new claims, all cores", "verify-many/hoody_claims",
        f"PyNaCl raw verify {X}256, one thread", "verify-many/pynacl-1-thread",
        "speedup", 1.6, unit="batch"),
    Row("`verify_many`, 256 new claims, all cores", "verify-many/bare-batch-all-cores",
        f"(host check) bare native verify_batch {X}256, all cores, vs one-thread PyNaCl",
        "verify-many/pynacl-1-thread", "speedup", None, unit="batch"),
    Row("`verify_response`, 1 KiB body", "response-1KiB/hoody_claims",
        "PyNaCl raw verify (prefix+body)", "response-1KiB/pynacl", "time", None),
    Row("`verify_response`, 64 KiB body", "response-64KiB/hoody_claims",
        "PyNaCl raw verify (prefix+body)", "response-64KiB/pynacl", "time", 1.10),
]  # fmt: skip


def fmt_time(seconds: float) -> str:
    us = seconds * 1e6
    if us < 10:
        return f"{us:.2f} µs"
    if us < 1000:
        return f"{us:.1f} µs"
    return f"{us / 1000:.2f} ms"


def fmt_median(t: Timing, unit: str) -> str:
    if unit == "batch":
        batch = int(t.extra.get("batch", 1))
        return f"{fmt_time(t.median)} / {batch} ({batch / t.median:,.0f} claims/s)"
    return fmt_time(t.median)


def ratio(row: Row, timings: dict[str, Timing]) -> float:
    """The median over slices of the ratio within each slice (both peers' slice k ran back
    to back, so a burst of load from another program skews one pair, not the median); the
    ratio of pooled medians when the file has no slice numbers."""
    ours_t, peer_t = timings[row.ours], timings[row.peer]
    pairs = sorted(set(ours_t.by_slice) & set(peer_t.by_slice))
    if pairs:
        values = sorted(ours_t.by_slice[k] / peer_t.by_slice[k] for k in pairs)
        value = _quantile(values, 0.5)
        return value if row.kind == "time" else 1 / value
    ours, peer = ours_t.median, peer_t.median
    return ours / peer if row.kind == "time" else peer / ours


def fmt_ratio(row: Row, value: float) -> str:
    if row.kind == "time":
        return f"{value:.2f}{X} its time"
    if row.unit == "batch":
        return f"{value:.2f}{X} its throughput"
    return f"{value:.1f}{X} faster" if value >= 10 else f"{value:.2f}{X} faster"


def fmt_target(row: Row) -> str:
    if row.target is None:
        return "—"
    if row.kind == "time":
        return f"≤ {row.target:.2f}{X}"
    if row.unit == "batch":
        return f"≥ {row.target:g}{X} throughput"
    return f"≥ {row.target:g}{X} faster"


def met(row: Row, value: float) -> str:
    if row.target is None:
        return "(info)"
    ok = value <= row.target if row.kind == "time" else value >= row.target
    return "met" if ok else "**not met**"


def table(timings: dict[str, Timing]) -> str:
    lines = [
        "| Case | hoody_claims (median) | Peer | Peer (median) | Ratio | Target | |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        if row.ours not in timings or row.peer not in timings:
            lines.append(f"| {row.case} | — | {row.peer_label} | — | not run | "
                         f"{fmt_target(row)} | |")  # fmt: skip
            continue
        value = ratio(row, timings)
        lines.append(
            f"| {row.case} | {fmt_median(timings[row.ours], row.unit)} | {row.peer_label} | "
            f"{fmt_median(timings[row.peer], row.unit)} | {fmt_ratio(row, value)} | "
            f"{fmt_target(row)} | {met(row, value)} |"
        )
    return "\n".join(lines)


def detail(timings: dict[str, Timing]) -> str:
    lines = [
        "| Group | Peer | Median | IQR | Rounds (slices) | Timer |",
        "|---|---|---|---|---|---|",
    ]
    for t in sorted(timings.values(), key=lambda t: (t.group, t.peer)):
        lines.append(
            f"| {t.group} | {t.peer} | {fmt_time(t.median)} | {fmt_time(t.iqr)} | "
            f"{t.rounds} ({t.slices}) | {t.extra.get('timer', '?')} |"
        )
    return "\n".join(lines)


# -- the machine ----------------------------------------------------------------------------


def cpu_model() -> str:
    """The first CPU's model name from /proc/cpuinfo, with its family/model numbers.

    Virtual machines often show only a vendor line ("AMD EPYC"); the family and model
    numbers still tell the generation apart.
    """
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    break  # the first processor's block is enough
                key, _, value = line.partition(":")
                fields.setdefault(key.strip().lower(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or fields.get("hardware") or fields.get("cpu model")
    if not name:
        return platform.processor() or platform.machine() or "unknown CPU"
    if "cpu family" in fields and "model" in fields:
        name += f" (family {fields['cpu family']}, model {fields['model']})"
    return name


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def machine_line(timings: dict[str, Timing]) -> str:
    backends = sorted({str(t.extra["backend"]) for t in timings.values() if "backend" in t.extra})
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = f"{os.cpu_count()} cores" + (
        f" ({usable} usable)" if usable is not None and usable != os.cpu_count() else ""
    )
    return (
        f"Machine: {cpu_model()}, {cores}, {platform.system()} {platform.machine()}; "
        f"{platform.python_implementation()} {platform.python_version()}; "
        f"hoody_claims backend: {', '.join(backends) or 'unknown'}; "
        f"PyNaCl {_version('pynacl')}, cryptography {_version('cryptography')}, "
        f"PyJWT {_version('pyjwt')}, pyseto {_version('pyseto')}, "
        f"pytest-benchmark {_version('pytest-benchmark')}."
    )


def code_state() -> str:
    """The commit measured, and whether hoody_claims/ or csrc/ had uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "hoody_claims", "csrc"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "hoody_claims at an unknown commit"
    if not head:
        return "hoody_claims outside git"
    state = f"hoody_claims at {head}" + (" + uncommitted changes" if dirty else "")
    return state + _stale_core_warning()


def _stale_core_warning() -> str:
    """The editable install only rebuilds the C core on ``pip install -e``: say if it is old."""
    built = sorted((ROOT / "hoody_claims").glob("_hoody_core*.so"))
    sources = list((ROOT / "csrc").glob("hoody_core.[ch]"))
    if not built or not sources:
        return ""
    if max(p.stat().st_mtime for p in sources) > min(p.stat().st_mtime for p in built):
        return " (WARNING: csrc/ is newer than the built core; rerun pip install -e .)"
    return ""


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# -- running --------------------------------------------------------------------------------


def run_once(json_path: Path, args: argparse.Namespace) -> int:
    cmd = [
        sys.executable, "-m", "pytest", str(BENCH_FILE),
        "-q", "-p", "no:cacheprovider",
        f"--benchmark-json={json_path}",
        f"--benchmark-max-time={args.max_time / args.slices}",
        f"--benchmark-min-rounds={args.min_rounds}",
        f"--benchmark-warmup={'on' if args.warmup else 'off'}",
        # process_time is a system call (~0.5 µs): with rounds of >= 0.5 ms it is amortised
        # over many calls, else it would inflate the microsecond-scale cases.
        *(["--benchmark-min-time=0.0005"] if args.timer == "cpu" else []),
        "--benchmark-sort=name",
        "--benchmark-columns=min,median,iqr,rounds",
        *args.pytest_args,
    ]  # fmt: skip
    env = dict(os.environ, HOODY_BENCH_TIMER=args.timer, HOODY_BENCH_SLICES=str(args.slices))
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    if args.verbose or proc.returncode != 0:
        print(proc.stdout, file=sys.stderr)
    return proc.returncode


def report(timings: dict[str, Timing], heading: str, extra: str = "") -> None:
    print(f"### {heading}\n")
    print(table(timings))
    print()
    print(machine_line(timings) + extra)
    print()
    print("<details><summary>All timings</summary>\n")
    print(detail(timings))
    print("\n</details>\n")


def spread(runs: list[dict[str, Timing]]) -> str:
    lines = [
        "| Case | Peer | Ratio in each run | Target |",
        "|---|---|---|---|",
    ]
    for row in ROWS:
        values = [ratio(row, t) for t in runs if row.ours in t and row.peer in t]
        shown = ", ".join(f"{v:.2f}" for v in values)
        lines.append(f"| {row.case} | {row.peer_label} | {shown} | {fmt_target(row)} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="independent pytest runs (default 1)")
    parser.add_argument(
        "--timer",
        choices=("wall", "cpu"),
        default="wall",
        help="timer for the single-thread groups (verify-many is always wall clock)",
    )
    parser.add_argument(
        "--max-time", type=float, default=3.0, help="seconds of rounds per peer and group"
    )
    parser.add_argument(
        "--slices",
        type=int,
        default=10,
        help="the peers of a group take turns this many times (default 10)",
    )
    parser.add_argument("--min-rounds", type=int, default=5, help="per slice")
    parser.add_argument(
        "--warmup", action="store_true", help="pytest-benchmark warm-up before each slice"
    )
    parser.add_argument("--json-dir", type=Path, help="keep each run's JSON here")
    parser.add_argument(
        "--from",
        dest="from_json",
        type=Path,
        nargs="+",
        help="format existing --benchmark-json files instead of running",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show pytest's output")
    parser.add_argument("pytest_args", nargs="*", help="passed to pytest (after --)")
    args = parser.parse_args(argv)

    runs: list[dict[str, Timing]] = []
    if args.from_json:
        for i, path in enumerate(args.from_json, 1):
            runs.append(load(path))
            report(runs[-1], f"Run {i} ({path.name})")
    else:
        out_dir = args.json_dir or Path(tempfile.mkdtemp(prefix="hoody-bench-"))
        out_dir.mkdir(parents=True, exist_ok=True)
        for i in range(1, args.runs + 1):
            path = out_dir / f"bench_core-{i}.json"
            before, state = loadavg(), code_state()
            print(f"running benchmarks ({i}/{args.runs}) ...", file=sys.stderr, flush=True)
            rc = run_once(path, args)
            if rc != 0:
                print(f"pytest failed (exit {rc})", file=sys.stderr)
                return rc
            runs.append(load(path))
            timer = (
                "wall clock (time.perf_counter)"
                if args.timer == "wall"
                else "CPU time (time.process_time), verify_many on the wall clock"
            )
            note = (
                f" Measured {state}; {args.slices} slices per peer; timer: {timer}; "
                f"load average before/after: {before} / {loadavg()}."
            )
            report(runs[-1], f"Run {i} of {args.runs}", note)
    if len(runs) > 1:
        print("### Spread across runs (each ratio from one run)\n")
        print(spread(runs))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
