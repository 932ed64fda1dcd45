"""A throwaway Hoody issuer for tests: keys, key documents, claims, response signatures.

    iss = Issuer()
    verifier = ClaimVerifier(iss.key_set(), container_id=CID)
    verifier.verify(iss.container_claim(container_id=CID))

``Issuer.serve()`` publishes the key document on a loopback port, for code that fetches it.
Never use an Issuer's keys for anything real.
"""

from __future__ import annotations

import base64
import contextlib
import json
import threading
import time
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

from nacl.signing import SigningKey

from .key_document import KeySet
from .keystore import KEY_PATH

__all__ = ["ClaimForm", "Issuer"]

ClaimForm = Literal["compact", "json", "dict"]


class Issuer:
    """An Ed25519 key pair that mints what Hoody would: claims and signed responses."""

    def __init__(self, kid: str = "test-key", seed: bytes | None = None) -> None:
        self.kid = kid
        self._signing_key = SigningKey(seed) if seed is not None else SigningKey.generate()
        self.public_key: bytes = bytes(self._signing_key.verify_key)

    # -- keys ------------------------------------------------------------------------------

    def key_entry(self) -> dict[str, str]:
        """This issuer's entry in a key document, with all three encodings."""
        pk = self.public_key
        return {
            "kid": self.kid,
            "algorithm": "ed25519",
            "public_key_hex": pk.hex(),
            "public_key_b64": base64.b64encode(pk).decode(),
            "public_key_b64url": base64.urlsafe_b64encode(pk).rstrip(b"=").decode(),
        }

    def key_document(
        self,
        *,
        wrapped: bool = True,
        extra_keys: tuple[Issuer, ...] = (),
        replay_tolerance_seconds: int = 300,
    ) -> dict[str, Any]:
        """A SPEC §1 key document listing this issuer's key (and ``extra_keys``)."""
        data = {
            "keys": [self.key_entry()] + [other.key_entry() for other in extra_keys],
            "active_kid": self.kid,
            "usage": ["response_signature", "identity_claim", "container_claim"],
            "signing_format": {
                "response_header": "X-Hoody-Signature",
                "response_signed_data": "{t}\\n{METHOD}\\n{status}\\n{path}\\n{body}",
                "identity_claim_signed_data": "payload_b64",
                "container_claim_signed_data": "payload_b64",
                "replay_tolerance_seconds": replay_tolerance_seconds,
            },
        }
        if not wrapped:
            return data
        return {"statusCode": 200, "message": "Public key retrieved", "data": data}

    def key_set(self) -> KeySet:
        """This issuer's key as a KeySet."""
        return KeySet.from_document(self.key_document())

    # -- claims ----------------------------------------------------------------------------

    def sign_payload(
        self,
        payload: Mapping[str, Any] | bytes,
        *,
        signed_data: Literal["b64", "raw"] = "b64",
        form: ClaimForm = "compact",
        kid: str | None = None,
        urlsafe: bool = False,
    ) -> Any:
        """Sign any payload (a dict, or exact JSON bytes) into a claim of the given form."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        encode = base64.urlsafe_b64encode if urlsafe else base64.b64encode
        payload_b64 = encode(data).decode("ascii")
        return self.sign_encoded(
            payload_b64, message=data if signed_data == "raw" else None, form=form, kid=kid
        )

    def sign_encoded(
        self,
        payload_b64: str,
        *,
        message: bytes | None = None,
        form: ClaimForm = "compact",
        kid: str | None = None,
    ) -> Any:
        """Sign ``payload_b64`` exactly as given, even if it is not valid base64.

        The signature covers ``message`` when given, else the ASCII of ``payload_b64``.
        """
        signed = payload_b64.encode("utf-8") if message is None else message
        signature = self._signing_key.sign(signed).signature
        claim = {
            "kid": self.kid if kid is None else kid,
            "payload_b64": payload_b64,
            "signature_hex": signature.hex(),
        }
        return _shape(claim, form)

    def container_claim(
        self,
        *,
        container_id: str,
        project_id: str | None = None,
        sub: str = "user-1",
        type: str = "user",
        ttl: int = 3600,
        now: int | None = None,
        iat: int | None = None,
        exp: int | None = None,
        nbf: int | None = None,
        extra: Mapping[str, Any] | None = None,
        signed_data: Literal["b64", "raw"] = "b64",
        form: ClaimForm = "compact",
    ) -> Any:
        """A container claim: ``sub`` (of user type ``type``) may use ``container_id``."""
        payload: dict[str, Any] = {
            "claim_type": "container",
            "sub": sub,
            "type": type,
            "container_id": container_id,
        }
        if project_id is not None:
            payload["project_id"] = project_id
        return self._claim(payload, ttl, now, iat, exp, nbf, extra, signed_data, form)

    def identity_claim(
        self,
        *,
        audience: str | list[str],
        sub: str = "user-1",
        type: str = "user",
        ttl: int = 3600,
        now: int | None = None,
        iat: int | None = None,
        exp: int | None = None,
        nbf: int | None = None,
        extra: Mapping[str, Any] | None = None,
        signed_data: Literal["b64", "raw"] = "b64",
        form: ClaimForm = "compact",
    ) -> Any:
        """An identity claim: Hoody authenticated ``sub``, for ``audience``."""
        payload: dict[str, Any] = {
            "claim_type": "identity",
            "sub": sub,
            "type": type,
            "aud": audience,
        }
        return self._claim(payload, ttl, now, iat, exp, nbf, extra, signed_data, form)

    def _claim(
        self,
        payload: dict[str, Any],
        ttl: int,
        now: int | None,
        iat: int | None,
        exp: int | None,
        nbf: int | None,
        extra: Mapping[str, Any] | None,
        signed_data: Literal["b64", "raw"],
        form: ClaimForm,
    ) -> Any:
        t = int(time.time()) if now is None else now
        payload["iat"] = t if iat is None else iat
        payload["exp"] = payload["iat"] + ttl if exp is None else exp
        if nbf is not None:
            payload["nbf"] = nbf
        payload.update(extra or {})
        return self.sign_payload(payload, signed_data=signed_data, form=form)

    # -- response signatures ---------------------------------------------------------------

    def sign_response(
        self,
        body: bytes,
        *,
        method: str = "GET",
        status: int = 200,
        path: str = "/",
        t: int | None = None,
        legacy: bool = False,
        kid: str | None = None,
    ) -> str:
        """The ``X-Hoody-Signature`` value Hoody would send with this response."""
        t = int(time.time()) if t is None else t
        kid = self.kid if kid is None else kid
        if legacy:
            sig = self._signing_key.sign(f"{t}.".encode() + body).signature.hex()
            return f"t={t},kid={kid},path={_quote(path)},sig={sig}"
        prefix = f"{t}\n{method.upper()}\n{status:03d}\n{path}\n".encode()
        sig = self._signing_key.sign(prefix + body).signature.hex()
        return f"t={t},kid={kid},m={method.upper()},s={status:03d},path={_quote(path)},sig={sig}"

    # -- serving the key document ----------------------------------------------------------

    @contextlib.contextmanager
    def serve(self, document: Mapping[str, Any] | bytes | None = None) -> Iterator[str]:
        """Serve the key document at ``{api_base}/api/v1/meta/public-key`` on 127.0.0.1.

        Yields ``api_base``. ``document`` overrides what is served (exact bytes allowed).
        """
        body = (
            document
            if isinstance(document, bytes)
            else json.dumps(document if document is not None else self.key_document()).encode()
        )
        server = serve_bytes(body)
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def serve_bytes(body: bytes, path: str = KEY_PATH) -> ThreadingHTTPServer:
    """Start a loopback HTTP server answering ``GET path`` with ``body`` (a daemon thread)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != path:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _quote(path: str) -> str:
    if "," in path or '"' in path or "\\" in path or path != path.strip():
        return '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return path


def _shape(claim: dict[str, str], form: ClaimForm) -> Any:
    if form == "dict":
        return claim
    text = json.dumps(claim, separators=(",", ":"))
    if form == "json":
        return text
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode("ascii")
