"""Claims and signatures minted here with PyNaCl directly, not with hoody_claims.testing.Issuer,
so that a bug shared by the Issuer and the verifier cannot hide."""

from __future__ import annotations

import base64
import json

import pytest
from nacl.signing import SigningKey

import hoody_claims as hc
from hoody_claims.backends import Backend

SEED = bytes(range(32))
KEY = SigningKey(SEED)
PK = bytes(KEY.verify_key)
CONTAINER = "65a1b2c3d4e5f60718293a4b"
PROJECT = "65a1b2c3d4e5f60718293a00"
NOW = 1_750_000_000

DOCUMENT = json.dumps({
    "statusCode": 200,
    "message": "ok",
    "data": {
        "keys": [{"kid": "v1", "algorithm": "ed25519", "public_key_hex": PK.hex(),
                  "public_key_b64": base64.b64encode(PK).decode(),
                  "public_key_b64url": base64.urlsafe_b64encode(PK).decode().rstrip("=")}],
        "active_kid": "v1",
        "usage": ["response_signature", "identity_claim", "container_claim"],
        "signing_format": {"replay_tolerance_seconds": 300},
    },
})


def hoody_claim(payload_json: str) -> dict[str, str]:
    payload_b64 = base64.b64encode(payload_json.encode()).decode()
    sig = KEY.sign(payload_b64.encode()).signature.hex()
    return {"kid": "v1", "payload_b64": payload_b64, "signature_hex": sig}


CONTAINER_PAYLOAD = (
    '{"claim_type":"container","sub":"usr_7","type":"admin","containerId":"' + CONTAINER + '",'
    '"projectId":"' + PROJECT + '","iat":' + str(NOW) + ',"exp":' + str(NOW + 3600) + ',"jti":"abc"}'
)
IDENTITY_PAYLOAD = (
    '{"claim_type":"identity","sub":"usr_7","type":"user","aud":["other","billing"],'
    '"iat":' + str(NOW) + ',"exp":' + str(NOW + 300) + "}"
)


def test_public_key_is_what_pynacl_derives() -> None:
    assert hc.KeySet.from_document(DOCUMENT).get("v1") == PK


def test_container_claim_as_hoody_sends_it(backend: Backend) -> None:
    keys = hc.KeySet.from_document(DOCUMENT)
    claim = hoody_claim(CONTAINER_PAYLOAD)
    header_value = json.dumps(claim)  # X-Hoody-Container-Claim carries the JSON text
    v = hc.ClaimVerifier(keys, container_id=CONTAINER, project_id=PROJECT, backend=backend)
    got = v.verify(header_value, now=NOW + 10)
    assert (got.sub, got.type, got.container_id, got.project_id, got.iat, got.exp) == (
        "usr_7", "admin", CONTAINER, PROJECT, NOW, NOW + 3600)
    assert got.payload["jti"] == "abc"
    compact = base64.urlsafe_b64encode(header_value.encode()).decode().rstrip("=")
    assert v.verify(compact, now=NOW + 10).sub == "usr_7"


def test_raw_signed_claim(backend: Backend) -> None:
    keys = hc.KeySet.from_document(DOCUMENT)
    payload_b64 = base64.urlsafe_b64encode(CONTAINER_PAYLOAD.encode()).decode().rstrip("=")
    claim = {"kid": "v1", "payload_b64": payload_b64,
             "signature_hex": KEY.sign(CONTAINER_PAYLOAD.encode()).signature.hex().upper()}
    for mode, ok in (("raw", True), ("auto", True), ("b64", False)):
        v = hc.ClaimVerifier(keys, container_id=CONTAINER, signed_data=mode, backend=backend)  # type: ignore[arg-type]
        if ok:
            assert v.verify(claim, now=NOW).sub == "usr_7"
        else:
            with pytest.raises(hc.InvalidSignature):
                v.verify(claim, now=NOW)


def test_identity_claim_with_audience_list(backend: Backend) -> None:
    keys = hc.KeySet.from_document(DOCUMENT)
    claim = hoody_claim(IDENTITY_PAYLOAD)
    got = hc.IdentityVerifier(keys, audience="billing", backend=backend).verify(claim, now=NOW + 1)
    assert got.aud == ("other", "billing")
    with pytest.raises(hc.WrongAudience):
        hc.IdentityVerifier(keys, audience="bill", backend=backend).verify(claim, now=NOW + 1)


def test_response_signature_current_and_legacy(backend: Backend) -> None:
    keys = hc.KeySet.from_document(DOCUMENT)
    body = b'{"statusCode":200,"message":"ok","data":[]}'
    path = "/api/v1/containers?limit=5"
    sig = KEY.sign(f"{NOW}\nGET\n200\n{path}\n".encode() + body).signature.hex()
    header = f"t={NOW}, kid=v1, m=GET, s=200, path={path}, sig={sig}"
    got = hc.verify_response(keys, header, method="GET", status=200, path=path, body=body, now=NOW + 5, backend=backend)
    assert got.bound
    legacy_sig = KEY.sign(f"{NOW}.".encode() + body).signature.hex()
    legacy = f"t={NOW},kid=v1,path={path},sig={legacy_sig}"
    assert not hc.verify_response(keys, legacy, method="GET", status=200, path=path, body=body, now=NOW, backend=backend).bound
