"""The three outcomes of the gate. Adapters only translate these into their framework's types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from hoody_claims import Claim

__all__ = ["Admit", "Decision", "Redirect", "Refuse"]


@dataclass(frozen=True, slots=True)
class Admit:
    """The request carries a valid claim; ``source`` says where it was found."""

    claim: Claim
    source: str


@dataclass(frozen=True, slots=True)
class Refuse:
    """Answer with this response; the application never sees the request.

    ``headers`` never include ``Content-Length``: servers and frameworks add it.
    """

    status: int
    code: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


@dataclass(frozen=True, slots=True)
class Redirect:
    """The claim came in the query string and was valid: set the cookie, 303 to the clean URL."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def location(self) -> str:
        return next(v for k, v in self.headers if k.lower() == "location")

    @property
    def set_cookie(self) -> str:
        return next(v for k, v in self.headers if k.lower() == "set-cookie")


Decision: TypeAlias = "Admit | Refuse | Redirect"
