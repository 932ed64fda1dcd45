"""``hoody-claims gate``: the command-line entry points (wired into the main CLI by the lead)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from hoody_claims.errors import HoodyClaimsError

from .config import ConfigError, add_arguments, load_config

__all__ = ["DESCRIPTION", "add_gate_command", "main", "run_gate"]

DESCRIPTION = """\
Put a program that cannot check claims (a web terminal, a browser view, any HTTP app) behind
a gate that admits only callers with a valid Hoody container claim.

  reverse proxy:  hoody-claims gate --upstream http://127.0.0.1:7681 --listen 0.0.0.0:8080
  forward-auth:   hoody-claims gate --forward-auth --listen 127.0.0.1:9090

Every option can also come from a TOML file (--config) or a HOODY_GATE_<OPTION> variable,
e.g. HOODY_GATE_UPSTREAM. /_hoody/health answers without a claim."""


def add_gate_command(subparsers: Any) -> None:
    """Add the ``gate`` command to the main CLI's subparsers."""
    parser = subparsers.add_parser(
        "gate",
        help="authenticating reverse proxy / forward-auth endpoint",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    parser.set_defaults(handler=run_gate)


def run_gate(args: argparse.Namespace) -> int:
    """Run the gate from parsed arguments; returns the exit code (2 on a bad setting)."""
    try:
        from .server import run
    except ImportError as exc:  # aiohttp is the optional `gate` extra
        print(f"hoody-claims gate: {exc}; install it with: pip install 'hoody_claims[gate]'",
              file=sys.stderr)
        return 2

    try:
        config = load_config(args)
        return run(config)
    except (ConfigError, ValueError, HoodyClaimsError) as exc:
        print(f"hoody-claims gate: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hoody_claims.gate``: the gate without the rest of the CLI."""
    parser = argparse.ArgumentParser(
        prog="hoody-claims gate",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run_gate(parser.parse_args(argv))
