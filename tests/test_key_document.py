"""SPEC §1 key documents: what is used, what refuses the whole document (naming the kid)."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest

import hoody_claims as hc
from hoody_claims.testing import Issuer

SMALL_ORDER_HEX = [
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
]


def doc_with(issuer: Issuer, **entry: Any) -> dict[str, Any]:
    doc = issuer.key_document(wrapped=False)
    doc["keys"][0].update(entry)
    doc["keys"][0] = {k: v for k, v in doc["keys"][0].items() if v is not None}
    return doc


def refused(doc: Any) -> str:
    with pytest.raises(hc.InvalidKeyDocument) as info:
        hc.KeySet.from_document(doc)
    assert info.value.code == "INVALID_KEY_DOCUMENT" and info.value.status == 503
    return info.value.message


def test_wrapped_bare_text_and_bytes(issuer: Issuer) -> None:
    for doc in (issuer.key_document(), issuer.key_document(wrapped=False)):
        for form in (doc, json.dumps(doc), json.dumps(doc).encode()):
            keys = hc.KeySet.from_document(form)
            assert keys.get("k1") == issuer.public_key and keys.active_kid == "k1"
            assert keys.replay_tolerance_seconds == 300


def test_from_file(issuer: Issuer, tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(issuer.key_document()))
    assert hc.KeySet.from_file(path).get("k1") == issuer.public_key
    assert "cannot read" in refused_file(tmp_path / "missing.json")


def refused_file(path: Path) -> str:
    with pytest.raises(hc.InvalidKeyDocument) as info:
        hc.KeySet.from_file(path)
    return info.value.message


def test_any_single_encoding_is_enough(issuer: Issuer) -> None:
    for keep in ("public_key_hex", "public_key_b64", "public_key_b64url"):
        entry = {k: v for k, v in issuer.key_entry().items() if k in ("kid", "algorithm", keep)}
        assert hc.KeySet.from_document({"keys": [entry]}).get("k1") == issuer.public_key


def test_rotation_lists_several_keys(issuer: Issuer) -> None:
    other = Issuer(kid="k2")
    keys = hc.KeySet.from_document(issuer.key_document(extra_keys=(other,)))
    assert sorted(keys) == ["k1", "k2"] and keys.get("k2") == other.public_key


def test_other_algorithms_are_skipped_not_refused(issuer: Issuer) -> None:
    doc = issuer.key_document(wrapped=False)
    doc["keys"].append({"kid": "rsa1", "algorithm": "rs256", "public_key_hex": "00"})
    assert sorted(hc.KeySet.from_document(doc)) == ["k1"]


def test_unknown_fields_are_ignored(issuer: Issuer) -> None:
    doc = issuer.key_document()
    doc["data"]["future"] = {"x": [1, 2]}
    doc["data"]["keys"][0]["comment"] = "hello"
    assert "k1" in hc.KeySet.from_document(doc)


def test_encodings_that_disagree(issuer: Issuer) -> None:
    other = Issuer(kid="x").public_key
    msg = refused(doc_with(issuer, public_key_b64=base64.b64encode(other).decode()))
    assert "'k1'" in msg and "disagree" in msg


@pytest.mark.parametrize("field,value", [
    ("public_key_hex", "00" * 31),
    ("public_key_hex", "00" * 33),
    ("public_key_hex", " " + "ab" * 31 + "a"),
    ("public_key_hex", "zz" * 32),
    ("public_key_b64", "AAAA"),
    ("public_key_b64url", "AAAA"),
])
def test_wrong_length_or_stray_characters(issuer: Issuer, field: str, value: str) -> None:
    assert "'k1'" in refused(doc_with(issuer, **{field: value}))


def test_non_canonical_base64(issuer: Issuer) -> None:
    b64 = issuer.key_entry()["public_key_b64"]
    b64url = issuer.key_entry()["public_key_b64url"]
    for bad in (b64.rstrip("="), b64 + "\n", " " + b64, b64 + "=="):
        assert "'k1'" in refused(doc_with(issuer, public_key_b64=bad))
    for bad in (b64url + "=", b64url + "\n", b64):
        assert "'k1'" in refused(doc_with(issuer, public_key_b64url=bad))


@pytest.mark.parametrize("point", SMALL_ORDER_HEX)
def test_small_order_points_are_refused(issuer: Issuer, point: str) -> None:
    entry = {"kid": "weak", "algorithm": "ed25519", "public_key_hex": point}
    assert "'weak'" in refused({"keys": [issuer.key_entry(), entry]})


def test_non_canonical_point_is_refused(issuer: Issuer) -> None:
    # y = p + 2 (>= p): a non-canonical encoding of the point with y = 2, if it exists; either
    # way the document must be refused.
    y = (1 << 255) - 19 + 2
    entry = {"kid": "nc", "algorithm": "ed25519", "public_key_hex": y.to_bytes(32, "little").hex()}
    assert "'nc'" in refused({"keys": [entry]})


def test_point_not_on_curve_is_refused() -> None:
    entry = {"kid": "off", "algorithm": "ed25519", "public_key_hex": (2).to_bytes(32, "little").hex()}
    assert "'off'" in refused({"keys": [entry]})


def test_duplicate_kid(issuer: Issuer) -> None:
    doc = issuer.key_document(wrapped=False)
    doc["keys"].append(copy.deepcopy(doc["keys"][0]))
    assert "'k1'" in refused(doc)


@pytest.mark.parametrize("text", [
    '{"keys": [], "keys": []}',
    '{"data": {"keys": [{"kid": "a", "kid": "b"}]}}',
])
def test_duplicate_member_names_anywhere(text: str) -> None:
    refused(text)


def test_duplicate_member_in_a_real_document(issuer: Issuer) -> None:
    text = json.dumps(issuer.key_document())
    refused(text.replace('"active_kid": "k1"', '"active_kid": "k1", "active_kid": "k1"'))


@pytest.mark.parametrize("doc", [
    {"keys": []}, {}, {"data": {}}, [], "[]", "null", "", b"\xff", "{", {"keys": "k1"},
    {"keys": [{"algorithm": "ed25519"}]}, {"keys": [{"kid": "", "algorithm": "ed25519"}]},
    {"keys": [{"kid": "a", "algorithm": "ed25519"}]},
    {"keys": [{"kid": "a", "algorithm": "ed25519", "public_key_hex": 5}]},
    {"keys": [7]}, {"statusCode": 500, "data": {"keys": []}},
])
def test_unusable_documents(doc: Any) -> None:
    refused(doc)


def test_bad_replay_tolerance(issuer: Issuer) -> None:
    for bad in (True, -1, 1.5, "300", 10**9):
        doc = issuer.key_document()
        doc["data"]["signing_format"]["replay_tolerance_seconds"] = bad
        refused(doc)


def test_huge_document_is_refused() -> None:
    refused(b"{" + b" " * (1 << 20) + b"}")


def test_key_set_is_read_only(issuer: Issuer) -> None:
    keys = issuer.key_set()
    with pytest.raises(TypeError):
        keys.keys["evil"] = b"x" * 32  # type: ignore[index]
    with pytest.raises(AttributeError):
        keys.active_kid = "evil"  # type: ignore[misc]


def test_too_many_keys_is_refused_quickly(issuer: Issuer) -> None:
    import time

    others = tuple(Issuer(kid=f"k{i}") for i in range(2, 66))
    assert len(hc.KeySet.from_document(issuer.key_document(extra_keys=others[:63]))) == 64
    started = time.monotonic()
    assert "more than 64 keys" in refused(issuer.key_document(extra_keys=others))
    assert time.monotonic() - started < 5
