"""Writes the seed corpora in csrc/fuzz/corpus/<target>/ (deterministic).

Run from anywhere: python csrc/fuzz/make_seeds.py. The seeds are committed;
this script only documents where they came from and can regenerate them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # hoody_claims.testing mints the real claims

JSON_DOCS = [
    b"{}",
    b"[]",
    b'{"a":1}',
    b' {"sub":"u1","iat":1700000000,"exp":1700003600,"aud":["x","y"],"n":null} ',
    b'{"a":{"b":[1,2.5,-0,1e10,-1.5E-3,true,false,null,"s"]}}',
    b'{"a":1,"\\u0061":2}',
    b'{"\\ud83d\\ude00":1,"\xf0\x9f\x98\x80":2}',
    b'{"\\ud800":1,"\\udc00":2}',
    b'"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"',
    b"[" * 33 + b"]" * 33,
    b'{"k":' * 32 + b"0" + b"}" * 32,
    b"NaN",
    b"[-Infinity]",
    b"\xef\xbb\xbf{}",
    b'"\xed\xa0\x80"',
    b'"\xc0\xaf"',
    b'{"a":"\x01"}',
    b"{" + b",".join(b'"k%d":%d' % (i, i) for i in range(40)) + b"}",
    b"{" + b",".join(b'"k\\u00%02x":0' % i for i in range(0x30, 0x50)) + b"}",
    b"01",
    b"[1,]",
    b'{"a" 1}',
]

CLAIM = {"kid": "v1", "payload_b64": "eyJzdWIiOiJ1In0", "signature_hex": "ab" * 64}


def claims() -> list[bytes]:
    base = json.dumps(CLAIM).encode()
    return [
        base,
        json.dumps(CLAIM, separators=(",", ":")).encode(),
        base.replace(b'"kid"', b'"k\\u0069d"'),
        base.replace(b'"v1"', b'"v\\u0031\\n"'),
        base[:-1] + b', "kid": "v2"}',
        base[:-1] + b', "x": [1, {"kid": 2}], "y": ' + b"9" * 40 + b"}",
        json.dumps({"kid": 1, "payload_b64": "a", "signature_hex": "b"}).encode(),
        json.dumps({"payload_b64": "a", "signature_hex": "b"}).encode(),
        json.dumps(["kid", "payload_b64", "signature_hex"]).encode(),
        base[:-1] + b', "d": ' + b"[" * 31 + b"]" * 31 + b"}",
    ]


def pack_ring(keys: dict[str, bytes]) -> bytes:
    """hc_claim_check's key ring: [uint32 kid length, native order][kid][32-byte key]."""
    return b"".join(struct.pack("=I", len(k.encode())) + k.encode() + v for k, v in keys.items())


# Payload texts for the hc_claim_check targets: the known members in every shape the fast
# path builds or leaves to the general path.
PAYLOADS = [
    b'{"claim_type":"container","sub":"u1","type":"user","container_id":"0123456789abcdef01234567",'
    b'"project_id":"aaaaaaaaaaaaaaaaaaaaaaaa","iat":1800000000,"exp":1800003600}',
    b'{"claim_type":"identity","sub":"u1","type":"admin","aud":["a","b"],"iat":1,"exp":2}',
    b'{"claim_type":"identity","aud":"app","iat":1,"exp":2,"nbf":0,"x":{"sub":5,"iat":"no"}}',
    b'{"\\u0073ub":"u","iat":1,"exp":2,"containerId":"c","projectId":"p","aud":null,"nbf":null}',
    b'{"sub":"\\u00e9","type":"\xc3\xa9\xf0\x9f\x98\x80","iat":-9007199254740991,"exp":-0}',
    b'{"iat":9007199254740992,"exp":2}',
    b'{"iat":1.0,"exp":2e0,"sub":true}',
    b'{"iat":1,"exp":2,"container_id":"a","containerId":null}',
    b'{"iat":1,"exp":2,"project_id":null,"projectId":"b"}',
    b'{ "iat" : 1 , "exp" : 2 , "n" : -' + b"7" * 3999 + b" }",
    b'{"iat":1,"exp":2,"n":[' + b"7" * 4001 + b"]}",
    b'{"iat":1,"exp":2,"d":' + b"[" * 31 + b"]" * 31 + b"}",
    b'{"iat":1}',
    b'{"exp":2,"iat":null}',
    b"{}",
    b"[1]",
    b'{"a":1,"\\u0061":2}',
]


def minted_claims() -> tuple[bytes, list[bytes]]:
    """Real claims from a fixed issuer (kid "k1"), and the ring holding its key and another."""
    from hoody_claims.testing import Issuer

    iss = Issuer(kid="k1", seed=hashlib.sha256(b"fuzz issuer").digest())
    other = Issuer(kid="k2", seed=hashlib.sha256(b"fuzz issuer 2").digest())
    ring = pack_ring({"k2": other.public_key, "k1": iss.public_key})
    cid, pid, t = "0123456789abcdef01234567", "aaaaaaaaaaaaaaaaaaaaaaaa", 1_800_000_000

    def raw(text: bytes, form: str = "compact") -> bytes:
        return iss.sign_payload(text, form=form).encode()  # type: ignore[no-any-return]

    base = {"claim_type": "container", "sub": "u1", "type": "user", "container_id": cid}
    texts = [
        iss.container_claim(container_id=cid, now=t).encode(),
        iss.container_claim(container_id=cid, project_id=pid, now=t, form="json").encode(),
        iss.container_claim(container_id=cid, now=t, nbf=t - 5, extra={"x": [1, {"y": None}]})
        .encode(),
        iss.identity_claim(audience="app", now=t, form="json").encode(),
        iss.identity_claim(audience=["a", "b"], now=t).encode(),
        other.container_claim(container_id=cid, now=t, form="json").encode(),
        iss.sign_payload(dict(base, iat=t, exp=t + 60), urlsafe=True, form="json").encode(),
        raw(b'{"\\u0073ub":"u","iat":1,"exp":2,"containerId":"c","aud":null,"nbf":null}'),
        raw(b'{"sub":"\\u00e9' + "\u00e9".encode() + b'","iat":-9007199254740991,"exp":-0}'),
        raw('{"sub":"\u00e9","aud":"\U0001f600","iat":9007199254740991,"exp":0}'.encode()),
        raw(b'{"iat":9007199254740992,"exp":2}', "json"),
        raw(b'{"iat":1.0,"exp":2,"sub":true}', "json"),
        raw(b'{"iat":1,"exp":2,"container_id":"a","containerId":null}', "json"),
        raw(b'{"iat":1,"exp":2,"n":' + b"7" * 4001 + b"}"),
        raw(b'{"iat":1,"exp":2,"n":' + b"7" * 4000 + b"}"),
        raw(b'{"iat":1,"exp":2,"d":' + b"[" * 31 + b"]" * 31 + b"}", "json"),
        raw(b"[1,2]", "json"),
        raw(b'{"a":1,"a":2}', "json"),
        raw(b"not json", "json"),
        iss.sign_encoded("eyJhIjoxfQ\n", form="json").encode(),
        iss.sign_encoded("e30=", kid="unknown", form="json").encode(),
        iss.sign_encoded("e30", form="json").encode().replace(b'"k1"', b'"k\\u0031"'),
        iss.sign_encoded("e30", form="json").encode().replace(b'"e30"', b'"e3\\u0030"'),
        iss.sign_encoded("e30", form="json").encode()[:-3] + b'"}',
        json.dumps(CLAIM).encode(),
    ]
    return ring, texts


def main() -> None:
    corpora: dict[str, list[bytes]] = {
        "fuzz_hex": [b"", b"00", b"00ff", b"aBcD", b"0g", b"0 ", b"ab" * 64, b"abc"],
        "fuzz_b64": [
            b"",
            b"QQ==",
            b"QQ",
            b"QUI=",
            b"QUJD",
            b"QQ=",
            b"QR==",
            b"Q",
            b"a+b_",
            b"QU JD",
            b"-_-_",
            b"+/+/",
            b"====",
            base64.b64encode(bytes(range(256))),
            base64.urlsafe_b64encode(bytes(range(100))).rstrip(b"="),
        ],
        "fuzz_json": [bytes([32]) + d for d in JSON_DOCS] + [bytes([1]) + b"[[1]]"],
        "fuzz_claim": claims() + JSON_DOCS[:6],
        "fuzz_payload": [
            bytes([32]) + enc(d) for d in JSON_DOCS for enc in (base64.b64encode,)
        ]
        + [bytes([32]) + base64.urlsafe_b64encode(d).rstrip(b"=") for d in JSON_DOCS[:6]]
        + [bytes([32]) + b"eyJhIjoxfQ\n", bytes([3]) + base64.b64encode(b'{"a":[[[1]]]}')],
    }
    claim_texts = claims()
    corpora["fuzz_prepare"] = [
        bytes([k]) + form(t)
        for k, t in enumerate(claim_texts[:6])
        for form in (
            lambda t: t,
            lambda t: base64.urlsafe_b64encode(t).rstrip(b"="),
            base64.b64encode,
        )
    ] + [
        bytes([0]) + json.dumps(dict(CLAIM, signature_hex="AB" * 64)).encode(),
        bytes([0]) + json.dumps(dict(CLAIM, signature_hex="ab" * 63)).encode(),
        bytes([0]) + base64.b64encode(json.dumps(dict(CLAIM, signature_hex="g" * 128)).encode()),
        bytes([0]) + json.dumps(CLAIM).encode().replace(b'"abab', b'"\\u0061bab'),
        bytes([2]) + b"e30",
        bytes([0]) + b"",
    ]
    sig0 = hashlib.sha512(b"vp").digest()
    pk0 = hashlib.sha256(b"vp").digest()
    corpora["fuzz_verify_payload"] = [
        sig0 + pk0 + bytes([32]) + base64.b64encode(d) for d in JSON_DOCS[:8]
    ] + [
        sig0 + pk0 + bytes([32]) + b"eyJhIjoxfQ",
        sig0 + pk0 + bytes([32]) + b"eyJhIjoxfQ\n",
        bytes(96) + bytes([3]) + base64.urlsafe_b64encode(b'{"a":[[[1]]]}').rstrip(b"="),
    ]
    items = []
    for i in range(4):
        sig = hashlib.sha512(b"sig%d" % i).digest()
        pk = hashlib.sha256(b"pk%d" % i).digest()
        msg = b"message %d" % i
        items.append(sig + pk + bytes([len(msg)]) + msg)
    corpora["fuzz_verify"] = [
        bytes([0]) + items[0],
        bytes([1]) + b"".join(items),
        bytes([2]) + items[1] + items[2],
        bytes([3]) + hashlib.sha512(b"x").digest() + bytes(32) + b"\x00",
        bytes([4]) + bytes(96) + bytes(4300),
    ]
    ring, minted = minted_claims()
    assert len(ring) < 256
    corpora["fuzz_claim_check"] = (
        # mode 0: the issuers' ring as it is
        [bytes([32, len(ring), 0]) + ring + t for t in minted]
        # mode 1 / 2: a ring derived from the claim's own kid
        + [bytes([72, 0, 1]) + t for t in minted[:8]]
        + [bytes([112, 3, 2]) + b"\x01\x00\x00" + t for t in minted[:4]]
        + [bytes([3, len(ring), 0]) + ring + minted[14], bytes([32, 0, 0])]
    )
    corpora["fuzz_claim_check"] += (
        # synthesized: the payload bytes, wrapped by the target (kid "k1")
        [bytes([152, len(ring), (k % 8) << 5]) + ring + pl for k, pl in enumerate(PAYLOADS)]
        + [bytes([192, 0, (7 - k % 8) << 5 | k]) + pl for k, pl in enumerate(PAYLOADS)]
        + [bytes([232, 0, 4 << 5]) + PAYLOADS[0], bytes([10, 0, 0]) + PAYLOADS[0]]
    )
    corpora["fuzz_claims_start"] = [
        bytes([20, 32, 0, 0, 0]) + b"\n".join(PAYLOADS),
        bytes([14, 32, len(ring), 3, 0]) + ring + b"\n".join(PAYLOADS[:8]),
        bytes([1, 32, len(ring), 0, 0]) + ring + b"\n".join(minted),
        bytes([7 + 6, 32, 0, 5, 0]) + b"\n".join(minted[:12]),
        bytes([3, 32, len(ring), 0, 0b101]) + ring + b"\n".join(minted[:6]),
        bytes([0, 32, 0, 0, 0]),
    ]
    for target, seeds in corpora.items():
        folder = HERE / "corpus" / target
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for seed in seeds:
            name = hashlib.sha1(seed).hexdigest()
            (folder / name).write_bytes(seed)


if __name__ == "__main__":
    main()
