"""The README's Python snippets run as pasted, and .ci/run runs the README's set-up commands."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SNIPPETS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def test_readme_has_snippets() -> None:
    assert len(SNIPPETS) >= 3


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_snippet_runs_as_pasted(index: int, tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", SNIPPETS[index]], capture_output=True, text=True,
                         timeout=120, cwd=tmp_path, check=False)
    assert out.returncode == 0, out.stderr


def test_ci_runs_the_readme_setup_commands() -> None:
    setup = re.search(r"## Set up.*?```sh\n(.*?)```", README, flags=re.S)
    assert setup is not None
    commands = [line.strip() for line in setup.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    for command in commands:
        assert command in ci, f".ci/run does not run the README's {command!r}"
