"""Parse the ``X-Hoody-Signature`` header (SPEC §3) into a :class:`SignatureHeader`.

``t=<secs>,kid=<id>,m=<METHOD>,s=<status>,path=<path>,sig=<128 hex>``: comma-separated
``key=value`` items split at the first ``=``, keys case-insensitive, spaces around items
allowed, values optionally double-quoted (then holding commas and backslash escapes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .errors import MalformedSignatureHeader

__all__ = ["MAX_HEADER_LENGTH", "SignatureHeader", "parse_signature_header"]

MAX_HEADER_LENGTH = 8192
_KEY = re.compile(r"[A-Za-z0-9_-]+")
_DIGITS = re.compile(r"[0-9]+")
_HEX128 = re.compile(r"[0-9a-fA-F]{128}")
_METHOD = re.compile(r"[A-Za-z]+")
_STATUS = re.compile(r"[0-9]{3}")
_SPACE = " \t"
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_KNOWN_KEYS = frozenset(("t", "kid", "m", "s", "path", "sig"))
# The form Hoody sends, items in its order, no spaces, quotes or unknown items: one match
# instead of the general split. Everything it accepts the general parser accepts with the
# same result (tested); anything else goes to the general parser.
_CANONICAL = re.compile(
    r"t=([0-9]{1,15}),kid=([^,\"\x00-\x20\x7f]+)(?:,m=([A-Za-z]+),s=([0-9]{3}))?"
    r",path=(/[^,\"\x00-\x20\x7f]*),sig=([0-9a-fA-F]{128})"
)


@dataclass(frozen=True, slots=True)
class SignatureHeader:
    """A parsed ``X-Hoody-Signature``. ``method``/``status`` are None in the legacy form."""

    t: int
    kid: str
    path: str
    sig: bytes
    method: str | None
    status: int | None
    #: Every item as sent (keys lower-cased, values unquoted), unknown ones included.
    fields: Mapping[str, str]

    @property
    def bound(self) -> bool:
        """True for the current form, which signs the method and status too."""
        return self.method is not None


def parse_signature_header(value: str | bytes) -> SignatureHeader:
    """Parse a header value; raise ``MalformedSignatureHeader`` saying what is wrong."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedSignatureHeader("the signature header is not ASCII") from None
    if not isinstance(value, str):
        raise MalformedSignatureHeader("the signature header is not text")
    if len(value) > MAX_HEADER_LENGTH:
        raise MalformedSignatureHeader("the signature header is longer than 8 KiB")
    if not value.isascii():
        try:  # the signed message is the UTF-8 of the path: a lone surrogate has none
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedSignatureHeader("the signature header is not valid text") from None
    canonical = _CANONICAL.fullmatch(value)
    if canonical is not None:
        return _from_canonical(canonical)
    if _CONTROL.search(value):
        raise MalformedSignatureHeader("the signature header holds control characters")
    fields = _split_items(value) if '"' in value else _split_plain(value)

    for name in ("t", "kid", "path", "sig"):
        if name not in fields:
            raise MalformedSignatureHeader(f"the signature header has no {name}=")
    t, sig = fields["t"], fields["sig"]
    if not _DIGITS.fullmatch(t) or len(t) > 15:
        raise MalformedSignatureHeader("t= is not a plain number of seconds")
    if not _HEX128.fullmatch(sig):
        raise MalformedSignatureHeader("sig= is not 128 hex digits")
    if not fields["kid"]:
        raise MalformedSignatureHeader("kid= is empty")
    if not fields["path"].startswith("/"):
        raise MalformedSignatureHeader("path= is not an absolute path")
    method = fields.get("m")
    status = fields.get("s")
    if (method is None) != (status is None):
        raise MalformedSignatureHeader("m= and s= come together or not at all")
    if method is not None and not _METHOD.fullmatch(method):
        raise MalformedSignatureHeader("m= is not an HTTP method")
    if status is not None and not _STATUS.fullmatch(status):
        raise MalformedSignatureHeader("s= is not a three-digit status")
    return SignatureHeader(
        t=int(t),
        kid=fields["kid"],
        path=fields["path"],
        sig=bytes.fromhex(sig),
        method=method.upper() if method is not None else None,
        status=int(status) if status is not None else None,
        fields=MappingProxyType(fields),
    )


def _from_canonical(match: re.Match[str]) -> SignatureHeader:
    t, kid, method, status, path, sig = match.groups()
    if method is None:
        fields = {"t": t, "kid": kid, "path": path, "sig": sig}
    else:
        fields = {"t": t, "kid": kid, "m": method, "s": status, "path": path, "sig": sig}
    header: SignatureHeader = object.__new__(SignatureHeader)
    _set_t(header, int(t))
    _set_kid(header, kid)
    _set_path(header, path)
    _set_sig(header, bytes.fromhex(sig))
    _set_method(header, None if method is None else method.upper())
    _set_status(header, None if status is None else int(status))
    _set_fields(header, MappingProxyType(fields))
    return header


# The frozen dataclass's __init__ sets each field through object.__setattr__; the slot
# descriptors set them directly, at a fraction of the cost (the result is the same object).
_set_t, _set_kid, _set_path, _set_sig, _set_method, _set_status, _set_fields = (
    SignatureHeader.__dict__[name].__set__ for name in SignatureHeader.__slots__
)


def _split_plain(value: str) -> dict[str, str]:
    """The common case, no quoted values: the same rules as _split_items, at a third the cost."""
    fields: dict[str, str] = {}
    for item in value.split(","):
        key, eq, item_value = item.partition("=")
        if not eq:
            raise MalformedSignatureHeader("an item of the signature header is not key=value")
        key = key.strip(_SPACE)
        # ASCII before lower(): the Kelvin sign lower-cases to "k", so "\u212aid" is not kid.
        key = key.lower() if key.isascii() else ""
        if key not in _KNOWN_KEYS and not _KEY.fullmatch(key):
            raise MalformedSignatureHeader("an item of the signature header has a bad key")
        if key in fields:
            raise MalformedSignatureHeader(f"{key}= appears twice in the signature header")
        fields[key] = item_value.strip(_SPACE)
    return fields


def _split_items(value: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    i, n = 0, len(value)
    while True:
        while i < n and value[i] in _SPACE:
            i += 1
        eq = value.find("=", i)
        comma = value.find(",", i)
        if eq < 0 or (0 <= comma < eq):
            raise MalformedSignatureHeader("an item of the signature header is not key=value")
        key = value[i:eq].rstrip(_SPACE)
        key = key.lower() if key.isascii() else ""
        if not _KEY.fullmatch(key):
            raise MalformedSignatureHeader("an item of the signature header has a bad key")
        i = eq + 1
        while i < n and value[i] in _SPACE:
            i += 1
        if i < n and value[i] == '"':
            item, i = _quoted(value, i + 1)
            while i < n and value[i] in _SPACE:
                i += 1
            if i < n and value[i] != ",":
                raise MalformedSignatureHeader("text after a quoted value in the signature header")
        else:
            end = value.find(",", i)
            end = n if end < 0 else end
            item = value[i:end].rstrip(_SPACE)
            if '"' in item:
                raise MalformedSignatureHeader("a stray quote in the signature header")
            i = end
        if key in fields:
            raise MalformedSignatureHeader(f"{key}= appears twice in the signature header")
        fields[key] = item
        if i >= n:
            return fields
        i += 1  # the comma


def _quoted(value: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    n = len(value)
    while i < n:
        c = value[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\\":
            i += 1
            if i >= n:
                break
            c = value[i]
        out.append(c)
        i += 1
    raise MalformedSignatureHeader("an unterminated quoted value in the signature header")
