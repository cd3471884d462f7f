"""What the mail stack should stamp on mail an address sends (pure: no Django). The
milter on the submission service reads this state, pushed by the worker, and never the
database: for each address, the signature's HTML and text, whether stamping is on, and
whether replies are stamped too (not only new messages)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Stamp:
    html: str
    text: str
    enabled: bool
    on_replies: bool


@dataclass(frozen=True)
class AddressSignatures:
    """One address as the stamping sees it: its e-mail, its switches, its users' ids, and
    its rendered signatures by user id (None: the generic signature of the address)."""

    email: str
    stamping: bool
    on_replies: bool
    users: tuple[int, ...] = ()
    signatures: Mapping[int | None, tuple[str, str]] = field(default_factory=dict)


def chosen_signature(address: AddressSignatures) -> tuple[str, str] | None:
    """(html, text) stamped on the address's mail. The server sees the address that
    logged in, not which of its users sent: an address with one user stamps that user's
    signature; a shared address (no user, or several) stamps its generic one, and so
    does an address whose one user has no signature of its template yet."""
    if len(address.users) == 1 and address.users[0] in address.signatures:
        return address.signatures[address.users[0]]
    return address.signatures.get(None)


def desired_stamps(addresses: Iterable[AddressSignatures]) -> dict[str, Stamp]:
    """{email: Stamp} for every address that has a signature to stamp (switched off ones
    included, `enabled` False, so a milter can tell "off" from "unknown")."""
    out = {}
    for address in addresses:
        chosen = chosen_signature(address)
        if chosen is None or not (chosen[0] or chosen[1]):
            continue
        out[address.email.lower()] = Stamp(html=chosen[0], text=chosen[1],
                                           enabled=address.stamping,
                                           on_replies=address.on_replies)
    return out
