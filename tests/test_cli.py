"""SPEC §6: the hoody-claims command, run as a real subprocess."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hoody_claims.testing import Issuer

from .conftest import CID, OTHER_CID


def run(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HOODY_")}
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "hoody_claims", *args], input=stdin, capture_output=True,
                          timeout=120, env=full_env, check=False)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


@pytest.fixture
def keyfile(issuer: Issuer, tmp_path: Path) -> str:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(issuer.key_document()))
    return str(path)


def test_console_script_is_installed() -> None:
    exe = shutil.which("hoody-claims")
    assert exe, "pip install should put hoody-claims on PATH"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0 and "verify" in out.stdout and "demo" in out.stdout


def test_demo_runs_offline_and_ends_with_the_refusal() -> None:
    started = time.monotonic()
    out = run("demo")
    assert out.returncode == 0, out.stderr
    last = out.stdout.strip().splitlines()[-1]
    assert "tampered claim refused: INVALID_SIGNATURE" in last
    assert "verified with the fetched key" in out.stdout
    assert time.monotonic() - started < 60


def test_verify_every_input_form(issuer: Issuer, keyfile: str, tmp_path: Path) -> None:
    compact = issuer.container_claim(container_id=CID, sub="alice")
    as_json = issuer.container_claim(container_id=CID, sub="alice", form="json")
    response = {"statusCode": 200, "message": "ok", "data": {"container_claim": json.loads(as_json)}}
    claim_file = tmp_path / "claim.txt"
    claim_file.write_text(as_json + "\n")
    for arg, stdin in ((compact, None), (as_json, None), (str(claim_file), None), ("-", compact.encode()),
                       (json.dumps(response), None), (json.dumps(response["data"]), None),
                       (json.dumps({"data": {"container_claim": as_json}}), None)):
        out = run("verify", arg, "--keys", keyfile, "--container-id", CID, stdin=stdin)
        assert out.returncode == 0, (arg[:60], out.stdout, out.stderr)
        assert "VALID container claim: alice" in out.stdout


def test_verify_json_output_and_refusal(issuer: Issuer, keyfile: str) -> None:
    good = issuer.container_claim(container_id=CID, sub="bob", type="admin")
    out = run("verify", good, "--keys", keyfile, "--container-id", CID, "--json")
    assert out.returncode == 0 and json.loads(out.stdout)["claim"]["type"] == "admin"
    wrong = issuer.container_claim(container_id=OTHER_CID)
    out = run("verify", wrong, "--keys", keyfile, "--container-id", CID, "--json")
    assert out.returncode == 1 and json.loads(out.stdout)["code"] == "WRONG_CONTAINER"
    out = run("verify", "garbage", "--keys", keyfile, "--container-id", CID)
    assert out.returncode == 1 and "REFUSED MALFORMED_CLAIM" in out.stdout


def test_verify_now_leeway_and_environment(issuer: Issuer, keyfile: str) -> None:
    claim = issuer.container_claim(container_id=CID, iat=1000, exp=2000)
    assert run("verify", claim, "--keys", keyfile, "--container-id", CID, "--now", "1500").returncode == 0
    out = run("verify", claim, "--keys", keyfile, "--container-id", CID, "--now", "2000", "--leeway", "0")
    assert out.returncode == 1 and "CLAIM_EXPIRED" in out.stdout
    out = run("verify", claim, "--keys", keyfile, "--now", "1500", env={"HOODY_CONTAINER_ID": CID})
    assert out.returncode == 0
    out = run("verify", claim, "--keys", keyfile, "--now", "1500", "--any-container")
    assert out.returncode == 0


def test_identity_claims(issuer: Issuer, keyfile: str) -> None:
    claim = issuer.identity_claim(audience="my-app")
    assert run("verify", claim, "--keys", keyfile, "--audience", "my-app").returncode == 0
    out = run("verify", claim, "--keys", keyfile, "--audience", "my-ap")
    assert out.returncode == 1 and "WRONG_AUDIENCE" in out.stdout


def test_usage_and_key_set_errors_exit_2(issuer: Issuer, keyfile: str, tmp_path: Path) -> None:
    claim = issuer.container_claim(container_id=CID)
    out = run("verify", claim, "--keys", keyfile)
    assert out.returncode == 2 and "--container-id" in out.stderr
    assert run("verify", claim, "--keys", str(tmp_path / "nope.json"), "--container-id", CID).returncode == 2
    (tmp_path / "bad.json").write_text('{"keys": []}')
    out = run("verify", claim, "--keys", str(tmp_path / "bad.json"), "--container-id", CID)
    assert out.returncode == 2 and "INVALID_KEY_DOCUMENT" in out.stderr
    out = run("verify", claim, "--keys", "http://127.0.0.1:9", "--cache-dir", str(tmp_path), "--container-id", CID)
    assert out.returncode == 2 and "KEY_FETCH_FAILED" in out.stderr
    assert run("verify", claim, "--keys", keyfile, "--container-id", "NOT-AN-ID").returncode == 2
    assert run("verify").returncode == 2
    assert run().returncode == 2
    big = run("verify", "-", "--keys", keyfile, "--container-id", CID, stdin=b"x" * (2 << 20))
    assert big.returncode == 2 and "larger than 1 MiB" in big.stderr


def test_keys_from_url_fetch_and_show(issuer: Issuer, tmp_path: Path) -> None:
    claim = issuer.container_claim(container_id=CID)
    with issuer.serve() as api_base:
        out = run("verify", claim, "--keys", api_base, "--cache-dir", str(tmp_path), "--container-id", CID)
        assert out.returncode == 0, out.stderr
        out = run("keys", "fetch", "--keys", api_base + "/api/v1/meta/public-key", "--cache-dir", str(tmp_path))
        assert out.returncode == 0 and "k1 (active)" in out.stdout and issuer.public_key.hex() in out.stdout
    out = run("keys", "show", "--keys", api_base, "--cache-dir", str(tmp_path))
    assert out.returncode == 0 and "k1" in out.stdout and "from disk" in out.stdout and "fetched" in out.stdout


def test_verify_response(issuer: Issuer, keyfile: str, tmp_path: Path) -> None:
    body = b'{"statusCode":200,"data":{}}'
    (tmp_path / "body").write_bytes(body)
    header = issuer.sign_response(body, method="GET", status=200, path="/api/v1/x")
    args = ["verify-response", "--header", header, "--method", "GET", "--status", "200", "--path", "/api/v1/x",
            "--keys", keyfile]
    out = run(*args, "--body", str(tmp_path / "body"))
    assert out.returncode == 0 and "VALID response signature" in out.stdout
    assert run(*args, "--body", "-", stdin=body).returncode == 0
    out = run(*args, "--body", "-", stdin=body + b"!")
    assert out.returncode == 1 and "INVALID_SIGNATURE" in out.stdout
    legacy = issuer.sign_response(body, path="/api/v1/x", legacy=True)
    out = run("verify-response", "--header", legacy, "--method", "GET", "--status", "200", "--path", "/api/v1/x",
              "--keys", keyfile, "--body", "-", "--require-bound", stdin=body)
    assert out.returncode == 1 and "SIGNATURE_MISMATCH" in out.stdout
    assert run(*args, "--body", str(tmp_path / "missing")).returncode == 2


def test_bad_seconds_directories_and_backends_are_usage_errors(issuer: Issuer, keyfile: str,
                                                              tmp_path: Path) -> None:
    body = b"{}"
    (tmp_path / "body").write_bytes(body)
    now = int(time.time())
    header = issuer.sign_response(body, method="GET", status=200, path="/x", t=now + 400)
    args = ["verify-response", "--header", header, "--method", "GET", "--status", "200", "--path", "/x",
            "--keys", keyfile]
    out = run(*args, "--body", str(tmp_path / "body"), "--max-skew", "-1")
    assert out.returncode == 2 and "--max-skew: must not be negative" in out.stderr, out.stderr
    out = run(*args, "--body", str(tmp_path / "body"), "--max-skew", "soon")
    assert out.returncode == 2 and "not a whole number of seconds" in out.stderr
    out = run(*args, "--body", str(tmp_path))
    assert out.returncode == 2 and "is not a regular file" in out.stderr
    out = run(*args, "--body", str(tmp_path / "body"), "--now", str(now))
    assert out.returncode == 1 and "STALE_SIGNATURE" in out.stdout
    assert "dated 400 s in the future" in out.stdout
    claim = issuer.container_claim(container_id=CID)
    out = run("verify", claim, "--keys", keyfile, "--container-id", CID, "--leeway", "-5")
    assert out.returncode == 2 and "--leeway: must not be negative" in out.stderr
    for odd in ("\u0665", "1_000", " 5", "+5", "5.0", "9" * 13):  # int() takes the first four
        out = run("verify", claim, "--keys", keyfile, "--container-id", CID, "--leeway", odd)
        assert out.returncode == 2 and "not a whole number of seconds" in out.stderr, (odd, out)
        out = run("verify", claim, "--keys", keyfile, "--container-id", CID, "--now", odd)
        assert out.returncode == 2 and "not a Unix time in whole seconds" in out.stderr, (odd, out)
    for cmd in (["demo"], ["verify", claim, "--keys", keyfile, "--container-id", CID]):
        out = run(*cmd, env={"HOODY_CLAIMS_BACKEND": "bogus"})
        assert out.returncode == 2 and "unknown backend 'bogus'" in out.stderr, out.stderr
        assert "Traceback" not in out.stderr


def test_unusable_key_urls_and_unreadable_files_are_messages(issuer: Issuer, keyfile: str) -> None:
    out = run("keys", "show", env={"HOODY_API_BASE": "ftp://x"})
    assert out.returncode == 2 and "api_base must be an http(s) URL" in out.stderr, out.stderr
    out = run("keys", "show", "--keys", "http://[::1")
    assert out.returncode == 2 and "KEY_FETCH_FAILED" in out.stderr, out.stderr
    out = run("verify", "/proc/self/mem", "--any-container", "--keys", keyfile)
    assert out.returncode == 2 and "cannot read the claim from /proc/self/mem" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_decode_is_labelled_unverified(issuer: Issuer) -> None:
    forged = Issuer(kid="k1").container_claim(container_id=CID, sub="mallory")
    out = run("decode", forged)
    assert out.returncode == 0 and "UNVERIFIED" in out.stdout and '"sub": "mallory"' in out.stdout
    out = run("decode", "%%%")
    assert out.returncode == 1 and "MALFORMED_CLAIM" in out.stdout
    # A response whose claim is a JSON string escaping a lone surrogate: malformed, no traceback.
    out = run("decode", '{"container_claim":"\\ud800"}')
    assert out.returncode == 1 and "MALFORMED_CLAIM" in out.stdout, out
    assert "Traceback" not in out.stderr


def test_keys_without_an_action_is_a_usage_error() -> None:
    out = run("keys")
    assert out.returncode == 2 and "required" in out.stderr and "Traceback" not in out.stderr
