"""The ``hoody-claims`` command line (SPEC §6).

Exit codes: 0 valid, 1 refused (code and reason printed), 2 usage or key-set errors.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .backends import BackendUnavailable
from .claim import Claim
from .claim_parse import MAX_CLAIM_TEXT
from .claim_rules import ANY_CONTAINER
from .encoding import CodecError, decode_b64
from .errors import HoodyClaimsError, InvalidKeyDocument, KeyFetchFailed
from .key_document import KeySet
from .keystore import KEY_PATH, KeyStore
from .response import verify_response
from .strict_json import loads_strict, split_claim
from .verifier import ClaimVerifier, IdentityVerifier

__all__ = ["main"]

_INPUT_LIMIT = 1 << 20


class UsageError(Exception):
    """A bad argument: exit 2 with the message."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a lone surrogate in a claim must not crash the output
        reconfigure(errors="backslashreplace")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args))
    except UsageError as exc:
        print(f"hoody-claims: {exc}", file=sys.stderr)
        return 2
    except (KeyFetchFailed, InvalidKeyDocument) as exc:
        print(f"hoody-claims: cannot get the key set: {exc}", file=sys.stderr)
        return 2
    except BackendUnavailable as exc:
        print(f"hoody-claims: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _seconds(text: str) -> int:
    """A non-negative whole number of seconds, in ASCII digits (argparse type).

    int() alone would also take "1_000", " 5", "+5" and other scripts' digits (U+0665)."""
    if text.startswith("-") and text[1:].isascii() and text[1:].isdigit():
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise argparse.ArgumentTypeError(f"not a whole number of seconds: {text!r}")
    return int(text)


def _unix_time(text: str) -> int:
    """A Unix time in whole seconds, in ASCII digits (argparse type)."""
    if not (text.isascii() and text.isdigit()) or len(text) > 12:
        raise argparse.ArgumentTypeError(f"not a Unix time in whole seconds: {text!r}")
    return int(text)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="hoody-claims", description="Verify Hoody's signed claims and responses offline."
    )
    sub = p.add_subparsers(title="commands", metavar="COMMAND")

    v = sub.add_parser("verify", help="verify a container or identity claim")
    v.add_argument(
        "claim", metavar="CLAIM|FILE|-", help="the claim, a file holding it, or - for stdin"
    )
    _key_options(v)
    v.add_argument("--container-id", help="this container's id (default $HOODY_CONTAINER_ID)")
    v.add_argument("--any-container", action="store_true", help="accept a claim for any container")
    v.add_argument("--project-id", help="also require this project id")
    v.add_argument("--audience", help="verify an identity claim for this audience instead")
    v.add_argument(
        "--leeway", type=_seconds, default=30, help="clock leeway in seconds (default 30)"
    )
    v.add_argument("--signed-data", choices=("b64", "raw", "auto"), default="b64")
    v.add_argument("--now", type=_unix_time, help="check as of this Unix time")
    v.add_argument("--json", action="store_true", help="print the result as JSON")
    v.set_defaults(handler=_cmd_verify)

    r = sub.add_parser("verify-response", help="verify an X-Hoody-Signature header")
    r.add_argument("--header", required=True, help="the X-Hoody-Signature value")
    r.add_argument("--method", required=True)
    r.add_argument("--status", required=True, type=int)
    r.add_argument("--path", required=True, help="request path with query string, as sent")
    r.add_argument("--body", required=True, metavar="FILE|-", help="the response body")
    r.add_argument(
        "--max-skew", type=_seconds, help="seconds (default from the key document, else 300)"
    )
    r.add_argument("--require-bound", action="store_true", help="refuse legacy headers")
    r.add_argument("--now", type=_unix_time)
    r.add_argument("--json", action="store_true")
    _key_options(r)
    r.set_defaults(handler=_cmd_verify_response)

    d = sub.add_parser("decode", help="show a claim's payload WITHOUT verifying it")
    d.add_argument("claim", metavar="CLAIM|FILE|-")
    d.set_defaults(handler=_cmd_decode)

    k = sub.add_parser("keys", help="fetch or show the key set")
    ksub = k.add_subparsers(title="keys commands", metavar="ACTION")
    ksub.required = True  # "hoody-claims keys" alone: name the missing action, exit 2
    for name, helptext in (
        ("fetch", "fetch and cache the key set now"),
        ("show", "list kids and their age"),
    ):
        a = ksub.add_parser(name, help=helptext)
        _key_options(a)
        a.set_defaults(handler=_cmd_keys, action=name)

    demo = sub.add_parser(
        "demo", help="an offline end-to-end run: mint, serve, fetch, verify, tamper"
    )
    demo.set_defaults(handler=_cmd_demo)

    try:
        from .gate.cli import add_gate_command
    except ImportError:  # the gate is an optional part
        pass
    else:
        add_gate_command(sub)
    return p


def _key_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--keys", metavar="FILE|URL", help="a key document file, or the API base / key URL"
    )
    p.add_argument(
        "--cache-dir", help="where fetched keys are cached (default ~/.cache/hoody_claims)"
    )


def _key_source(args: argparse.Namespace) -> KeySet | KeyStore:
    try:
        return _key_source_from(args)
    except ValueError as exc:  # e.g. HOODY_API_BASE that is not an http(s) URL
        raise UsageError(str(exc)) from None


def _key_source_from(args: argparse.Namespace) -> KeySet | KeyStore:
    spec = args.keys
    cache = {"cache_dir": args.cache_dir} if args.cache_dir else {}
    if spec is None:
        return KeyStore(**cache)  # HOODY_CLAIMS_KEYS, else HOODY_API_BASE, else Hoody's
    if spec.startswith(("http://", "https://")):
        base = spec[: -len(KEY_PATH)] if spec.rstrip("/").endswith(KEY_PATH) else spec
        return KeyStore(base, **cache)
    if not os.path.exists(spec):
        raise UsageError(f"--keys: no such file: {spec}")
    return KeySet.from_file(spec)


def _read_arg(value: str, what: str) -> bytes:
    if value == "-":
        data = sys.stdin.buffer.read(_INPUT_LIMIT + 1)
    elif len(value) < 4096 and os.path.isfile(value):
        try:
            with open(value, "rb") as fh:
                data = fh.read(_INPUT_LIMIT + 1)
        except OSError as exc:
            raise UsageError(f"cannot read {what} from {value}: {exc.strerror or exc}") from None
    else:
        return value.encode("utf-8", "surrogateescape")
    if len(data) > _INPUT_LIMIT:
        raise UsageError(f"{what} is larger than 1 MiB")
    return data


def _claim_from_input(data: bytes) -> Any:
    """The claim inside a CLI argument: a claim, or a whole authorize/identity response."""
    text = data.strip()
    if not text.startswith(b"{") or len(text) > _INPUT_LIMIT:
        return text.decode("ascii", "replace")  # compact form (or junk the verifier will name)
    try:
        obj = loads_strict(text)
    except CodecError:
        return text  # let the verifier report it precisely
    if isinstance(obj, Mapping) and isinstance(obj.get("data"), Mapping):
        obj = obj["data"]
    if isinstance(obj, Mapping):
        for name in ("container_claim", "identity_claim"):
            inner = obj.get(name)
            if isinstance(inner, (Mapping, str)):
                return inner
    return text if len(text) <= MAX_CLAIM_TEXT else obj


def _cmd_verify(args: argparse.Namespace) -> int:
    claim_in = _claim_from_input(_read_arg(args.claim, "the claim"))
    options: dict[str, Any] = {"leeway": args.leeway, "signed_data": args.signed_data}
    try:
        if args.audience:
            verifier: ClaimVerifier | IdentityVerifier = IdentityVerifier(
                _key_source(args), audience=args.audience, **options
            )
        else:
            container: Any = (
                ANY_CONTAINER
                if args.any_container
                else args.container_id or os.environ.get("HOODY_CONTAINER_ID")
            )
            if container is None:
                raise UsageError(
                    "say which container: --container-id ID or --any-container "
                    "(or --audience AUD to verify an identity claim)"
                )
            if args.any_container and args.container_id:
                raise UsageError("--container-id and --any-container contradict each other")
            verifier = ClaimVerifier(
                _key_source(args),
                container_id=container,
                project_id=args.project_id,
                **options,
            )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        claim = verifier.verify(claim_in, now=args.now)
    except (KeyFetchFailed, InvalidKeyDocument):
        raise
    except HoodyClaimsError as exc:
        _report_refusal(exc, args.json)
        return 1
    now = args.now if args.now is not None else int(time.time())
    if args.json:
        print(json.dumps({"valid": True, "claim": _claim_json(claim)}, indent=2))
    else:
        where = (
            f"container {claim.container_id}"
            if claim.claim_type == "container"
            else f"audience {claim.aud}"
        )
        print(
            f"VALID {_shown(claim.claim_type)} claim: {_shown(claim.sub)} "
            f"(type {_shown(claim.type)}) for {_shown(where)}"
        )
        print(
            f"  project {_shown(claim.project_id)}, issued {now - claim.iat} s ago, "
            f"expires in {claim.exp - now} s, key {_shown(claim.kid)}"
        )
    return 0


def _cmd_verify_response(args: argparse.Namespace) -> int:
    body = (
        _read_arg(args.body, "the body") if args.body == "-" or os.path.isfile(args.body) else None
    )
    if body is None:
        what = "is not a regular file" if os.path.exists(args.body) else "no such file"
        raise UsageError(f"--body: {what}: {args.body}")
    try:
        header = verify_response(
            _key_source(args),
            args.header,
            method=args.method,
            status=args.status,
            path=args.path,
            body=body,
            now=args.now,
            max_skew=args.max_skew,
            require_bound=args.require_bound,
        )
    except (KeyFetchFailed, InvalidKeyDocument):
        raise
    except HoodyClaimsError as exc:
        _report_refusal(exc, args.json)
        return 1
    form = (
        "bound to method and status"
        if header.bound
        else "LEGACY form: method and status not signed"
    )
    if args.json:
        print(json.dumps({"valid": True, "kid": header.kid, "t": header.t, "bound": header.bound}))
    else:
        print(f"VALID response signature: key {header.kid}, signed at {header.t}, {form}")
    return 0


def _cmd_decode(args: argparse.Namespace) -> int:
    claim_in = _claim_from_input(_read_arg(args.claim, "the claim"))
    try:
        if isinstance(claim_in, Mapping):
            kid, payload_b64 = str(claim_in.get("kid")), str(claim_in.get("payload_b64"))
        else:
            data = claim_in.encode() if isinstance(claim_in, str) else claim_in
            if not data.startswith(b"{"):
                data = decode_b64(data)
            kid, payload_b64, _ = split_claim(data)
        payload = loads_strict(decode_b64(payload_b64))
    except CodecError as exc:
        print(f"MALFORMED_CLAIM: cannot decode: {exc.reason}")
        return 1
    except UnicodeEncodeError:  # a lone surrogate, from a JSON string escaping \ud800
        print("MALFORMED_CLAIM: cannot decode: the claim text is not valid UTF-8")
        return 1
    print("UNVERIFIED — the signature was NOT checked; do not trust what follows.")
    # Escaped to ASCII: an unverified claim must not be able to drive the terminal.
    print(f"kid: {json.dumps(kid)}")
    print(json.dumps(payload, indent=2))
    return 0


def _shown(value: object) -> str:
    """A claim value for a terminal line: as is when printable, else escaped to ASCII."""
    text = str(value)
    return text if text.isprintable() else json.dumps(text)


def _cmd_keys(args: argparse.Namespace) -> int:
    source = _key_source(args)
    if isinstance(source, KeySet):
        keys, age, origin = source, None, "file"
    else:
        keys = source.refresh() if args.action == "fetch" else source.key_set()
        fetched = source.fetched_at
        age = None if fetched is None else int(time.time() - fetched)
        origin = source.origin or "network"
    for kid in sorted(keys):
        active = " (active)" if kid == keys.active_kid else ""
        print(f"{kid}{active}  ed25519  {keys.keys[kid].hex()}")
    print(f"{len(keys)} key(s) from {origin}" + ("" if age is None else f", fetched {age} s ago"))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo()


def _report_refusal(exc: HoodyClaimsError, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {"valid": False, "code": exc.code, "status": exc.status, "message": exc.message}
            )
        )
    else:
        print(f"REFUSED {exc.code} (HTTP {exc.status}): {exc.message}")


def _claim_json(claim: Claim) -> dict[str, Any]:
    return {
        "claim_type": claim.claim_type,
        "sub": claim.sub,
        "type": claim.type,
        "container_id": claim.container_id,
        "project_id": claim.project_id,
        "aud": claim.aud,
        "iat": claim.iat,
        "exp": claim.exp,
        "nbf": claim.nbf,
        "kid": claim.kid,
        "payload": json.loads(json.dumps(claim.payload, default=_unfreeze)),
    }


def _unfreeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(type(value).__name__)
