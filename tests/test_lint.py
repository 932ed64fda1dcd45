"""The package stays `mypy --strict` and `ruff` clean (pyproject.toml holds their settings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)


def test_mypy_strict() -> None:
    out = run("mypy", "--strict", "--no-incremental", "hoody_claims")
    assert out.returncode == 0, out.stdout + out.stderr


def test_ruff() -> None:
    out = run("ruff", "check", "hoody_claims")
    assert out.returncode == 0, out.stdout + out.stderr
