"""Child processes for the gate tests: the gate itself and the test upstream, each a real
process on 127.0.0.1 whose stderr is collected (JSON lines parsed) on a thread."""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CONTAINER = "0123456789abcdef01234567"
OTHER_CONTAINER = "89abcdef0123456789abcdef"


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("HOODY_CONTAINER_ID", None)
    env.pop("HOODY_CLAIMS_KEYS", None)
    for key in [k for k in env if k.startswith("HOODY_GATE_")]:
        env.pop(key)
    env.update(extra)
    return env


class Proc:
    """A child process whose stderr lines are collected (JSON lines parsed) on a thread."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None,
                 cwd: str | None = None) -> None:
        self.argv = argv
        self.popen = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or child_env(),
            cwd=cwd, text=True, bufsize=1,
        )
        self.lines: list[str] = []
        self.stdout_lines: queue.Queue[str] = queue.Queue()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._read, args=(self.popen.stderr, False), daemon=True),
            threading.Thread(target=self._read, args=(self.popen.stdout, True), daemon=True),
        ]
        for t in self._threads:
            t.start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _read(self, stream: Any, is_stdout: bool) -> None:
        for line in stream:
            if is_stdout:
                self.stdout_lines.put(line)
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def records(self) -> list[dict[str, Any]]:
        out = []
        with self._lock:
            lines = list(self.lines)
        for line in lines:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                out.append(obj)
        return out

    def requests(self) -> list[dict[str, Any]]:
        return [r for r in self.records() if "status" in r and "event" not in r]

    def wait_record(self, pred: Any, timeout: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for rec in self.records():
                if pred(rec):
                    return rec
            if self.popen.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"no matching line from {self.argv[:4]}; output:\n"
                             + "\n".join(self.lines[-40:]))

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def stop(self, timeout: float = 15.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        for t in self._threads:
            t.join(2)
        return self.popen.returncode

    def peak_rss_mb(self) -> float:
        """VmHWM (peak resident set) of the live process, in MiB."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        raise AssertionError("no VmHWM")


class Gate(Proc):
    """``python -m hoody_claims.gate ...`` listening on a free port."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        super().__init__([sys.executable, "-m", "hoody_claims.gate",
                          "--listen", "127.0.0.1:0", *args], env=env)
        rec = self.wait_record(lambda r: r.get("event") == "listening", timeout=20)
        self.port = int(rec["port"])
        self.url = f"http://127.0.0.1:{self.port}"


class Upstream(Proc):
    """A test program (``upstream_app.py`` by default) that prints ``{"port": N}`` when ready."""

    def __init__(self, script: str = "upstream_app.py") -> None:
        super().__init__([sys.executable, str(HERE / script)])
        try:
            line = self.stdout_lines.get(timeout=20)
        except queue.Empty:
            self.stop()
            raise AssertionError("upstream did not start:\n" + self.text()) from None
        self.port = int(json.loads(line)["port"])
        self.url = f"http://127.0.0.1:{self.port}"


def start_gate(keys_file: str, *args: str, env: dict[str, str] | None = None) -> Gate:
    return Gate(["--keys", keys_file, "--container-id", CONTAINER, *args], env=env)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def find_nginx() -> str | None:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


NGINX_MISSING = (
    "nginx is not installed, and the forward-auth test runs Debian's real nginx: "
    "apt-get update && apt-get install -y nginx   (.ci/run does this when it is missing)"
)


class Nginx(Proc):
    """Debian's nginx running ``site`` (a server block file) in a private prefix directory."""

    def __init__(self, site: str, tmp: Path, port: int) -> None:
        binary = find_nginx()
        if binary is None:
            raise AssertionError(NGINX_MISSING)
        for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (tmp / d).mkdir(exist_ok=True)
        (tmp / "site.conf").write_text(site)
        user = "user root;\n" if os.geteuid() == 0 else ""
        (tmp / "nginx.conf").write_text(
            f"""{user}daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {tmp}/site.conf;
}}
"""
        )
        self.tmp = tmp
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        super().__init__([binary, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", "stderr"])
        deadline = time.monotonic() + 10
        while True:
            if self.popen.poll() is not None:
                raise AssertionError(f"nginx exited: {self.text()}\n{self.error_log()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError("nginx did not start listening") from None
                time.sleep(0.05)

    def error_log(self) -> str:
        path = self.tmp / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self, timeout: float = 10.0) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGQUIT)  # graceful: let workers finish
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)
        return self.popen.returncode
