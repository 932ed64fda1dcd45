"""The refusal response and the query→cookie redirect, written once for every adapter.

Refusal: the error's ``.status``, Hoody's JSON envelope
``{"statusCode": 401, "error": "Unauthorized", "message": "…", "code": "CLAIM_EXPIRED"}``,
``Cache-Control: no-store`` and, on 401, ``WWW-Authenticate: HoodyClaim error="<code>"``.

Redirect: ``303`` to the same path with the claim parameter removed (other parameters kept, in
order), built from the request path only — a relative URL, never a host or a URL the client
chose — with the claim moved into an ``HttpOnly`` cookie.
"""

from __future__ import annotations

import base64
import json
import re
import time
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import quote

from .decisions import Redirect, Refuse
from .extract import DEFAULT_COOKIE, DEFAULT_QUERY_PARAM
from .request_view import RequestView, is_loopback_host
from .strip import strip_query_param

if TYPE_CHECKING:
    from hoody_claims import Claim, HoodyClaimsError

__all__ = [
    "CLAIM_REQUIRED",
    "claim_cookie",
    "claim_required",
    "compact_token",
    "location_without_param",
    "redirect_without_claim",
    "refusal",
    "refuse",
]

CLAIM_REQUIRED = "CLAIM_REQUIRED"
_CLAIM_REQUIRED_MESSAGE = (
    "This resource needs a Hoody claim: send it in the X-Hoody-Container-Claim header, as "
    "'Authorization: HoodyClaim <token>', in the hoody_claim cookie or the hoody_claim query "
    "parameter."
)
# RFC 3986 pchar plus "/" and an existing "%XX"; everything else (backslash, controls, spaces,
# non-ASCII) is percent-encoded so the Location is a plain relative reference.
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"
_QUERY_SAFE = _PATH_SAFE + "?"
_COMPACT = re.compile(r"[A-Za-z0-9_-]+={0,2}")
_COMPACT_STANDARD = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_TO_URLSAFE = str.maketrans("+/", "-_")
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def refuse(status: int, code: str, message: str) -> Refuse:
    """A refusal in Hoody's envelope with the given status, code and (safe) message."""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    body = json.dumps(
        {"statusCode": status, "error": phrase, "message": message, "code": code},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    headers: list[tuple[str, str]] = [
        ("Content-Type", "application/json"),
        ("Cache-Control", "no-store"),
    ]
    if status == 401:
        headers.append(("WWW-Authenticate", f'HoodyClaim error="{code}"'))
    return Refuse(status=status, code=code, headers=tuple(headers), body=body)


def refusal(err: HoodyClaimsError) -> Refuse:
    """The response for a claim the verifier refused."""
    return refuse(int(err.status), str(err.code), str(err.message))


def claim_required() -> Refuse:
    """The response for a request that carries no claim at all: 401 ``CLAIM_REQUIRED``."""
    return refuse(401, CLAIM_REQUIRED, _CLAIM_REQUIRED_MESSAGE)


def compact_token(token: str) -> str:
    """The compact form of a verified claim: unchanged if compact, else base64url of its text."""
    token = token.strip()
    if _COMPACT.fullmatch(token):
        return token
    if _COMPACT_STANDARD.fullmatch(token):  # the same bytes in the standard alphabet
        return token.rstrip("=").translate(_TO_URLSAFE)
    return base64.urlsafe_b64encode(token.encode("utf-8")).rstrip(b"=").decode("ascii")


def location_without_param(req: RequestView, query_param: str = DEFAULT_QUERY_PARAM) -> str:
    """Relative URL: the request's own path and query, minus ``query_param``.

    A path that starts with ``//`` would read as another host; it gets a ``/.`` prefix, which
    every URL parser removes again, so the target is the same path on the same origin.
    """
    path = quote(req.path or "/", safe=_PATH_SAFE)
    if not path.startswith("/"):
        path = "/" + path
    if path.startswith("//"):
        path = "/." + path
    query = strip_query_param(req.query_string, query_param)
    return f"{path}?{quote(query, safe=_QUERY_SAFE)}" if query else path


def claim_cookie(
    req: RequestView, value: str, max_age: int, cookie_name: str = DEFAULT_COOKIE
) -> str:
    """``Set-Cookie`` value: HttpOnly; Secure unless plain HTTP to a loopback host; Lax; Path=/."""
    if not _COOKIE_NAME.fullmatch(cookie_name):
        raise ValueError(f"invalid cookie name {cookie_name!r}")
    plain_loopback = req.scheme in ("http", "ws") and is_loopback_host(req.host)
    secure = "" if plain_loopback else " Secure;"
    return (
        f"{cookie_name}={value}; HttpOnly;{secure} SameSite=Lax; Path=/; "
        f"Max-Age={max(0, int(max_age))}"
    )


def redirect_without_claim(
    req: RequestView,
    claim: Claim,
    *,
    token: str,
    cookie_name: str = DEFAULT_COOKIE,
    query_param: str = DEFAULT_QUERY_PARAM,
    now: float | None = None,
) -> Redirect:
    """303 to the same URL without the claim parameter, setting the claim cookie.

    ``token`` is the claim text exactly as verified; a JSON-text claim is stored in compact form.
    The cookie lives until the claim's ``exp`` (``Max-Age`` = seconds left, never negative).
    """
    current = int(time.time() if now is None else now)
    cookie = claim_cookie(req, compact_token(token), int(claim.exp) - current, cookie_name)
    headers = (
        ("Location", location_without_param(req, query_param)),
        ("Set-Cookie", cookie),
        ("Cache-Control", "no-store"),
        ("Referrer-Policy", "no-referrer"),
    )
    return Redirect(status=303, headers=headers, body=b"")
