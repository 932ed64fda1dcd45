"""Writes the seed corpora in csrc/fuzz/corpus/<target>/ (deterministic).

Run from anywhere: python csrc/fuzz/make_seeds.py. The seeds are committed;
this script only documents where they came from and can regenerate them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

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
