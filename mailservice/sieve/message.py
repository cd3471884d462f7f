"""Suggest a sorting rule from a received e-mail (.eml upload or pasted headers).

Tolerant by design: any input, however broken, gives a dict (possibly with empty
values and `warnings`); nothing here raises.
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr
from typing import Any

from .rules import folder_errors, has_control_characters

MAX_HEADER_BYTES = 256 * 1024
MAX_FOLDER_CHARS = 60
_LIST_ID_RE = re.compile(r"^(?P<name>.*?)\s*<(?P<id>[^<>]+)>\s*$", re.DOTALL)
_BARE_ADDRESS_RE = re.compile(r"[^\s<>\"(),;:@]+@[^\s<>\"(),;:@]+")


def _clean(text: str, limit: int = 1000) -> str:
    text = "".join(" " if has_control_characters(ch) else ch for ch in text)
    return " ".join(text.split())[:limit]


def _raw_header(message: Message, name: str) -> str:
    try:
        for key, value in message.raw_items():
            if key.lower() == name.lower():
                return _clean(str(value))
    except Exception:
        pass
    return ""


def _header(message: Message, name: str) -> str:
    """The decoded header (RFC 2047), or its raw text when the email package fails on it."""
    try:
        value = message.get(name)
        return _clean(str(value)) if value is not None else ""
    except Exception:
        return _raw_header(message, name)


def _has_defects(message: Message, name: str) -> bool:
    try:
        return bool(getattr(message.get(name), "defects", ()))
    except Exception:
        return True


def _first_address(value: str) -> tuple[str, str]:
    """(display name, address) of the first mailbox of a header value."""
    try:
        pairs = [(n, a) for n, a in getaddresses([value]) if "@" in a]
    except Exception:
        pairs = []
    if pairs:
        return _clean(pairs[0][0]), pairs[0][1].strip().lower()
    bare = _BARE_ADDRESS_RE.search(value)
    if bare:
        return "", bare.group(0).lower()
    name, _ = parseaddr(value)
    return _clean(name), ""


def _addresses(value: str) -> list[str]:
    """Every mailbox address of a header value (lower case), in order."""
    try:
        found = [a.strip().lower() for _, a in getaddresses([value]) if "@" in a]
    except Exception:
        found = []
    return found or [a.lower() for a in _BARE_ADDRESS_RE.findall(value)]


def _recipients(message: Message) -> tuple[list[str], list[str]]:
    """(To addresses, Cc addresses not already in To), each deduplicated."""
    seen: set[str] = set()
    lists: tuple[list[str], list[str]] = ([], [])
    for index, name in enumerate(("To", "Cc")):
        values = []
        try:
            values = [str(v) for v in message.get_all(name) or ()]
        except Exception:
            values = [_raw_header(message, name)]
        for value in values:
            for address in _addresses(_clean(value, 100_000)):
                if address not in seen and not has_control_characters(address):
                    seen.add(address)
                    lists[index].append(address)
    return lists


def _folder_name(text: str) -> str:
    folder = _clean(text).replace("/", "-").strip(" .~-")[:MAX_FOLDER_CHARS].strip()
    return folder if folder and not folder_errors(folder) else ""


def _list_name(list_id: str) -> tuple[str, str]:
    """(name, id) of a List-Id header: `Boutique news <news.shop.example>`."""
    found = _LIST_ID_RE.match(list_id)
    if found:
        name = found.group("name").strip().strip('"').strip()
        return name, found.group("id").strip()
    return "", list_id.strip("<> ")


def _parse(raw: bytes) -> Message:
    data = raw[:MAX_HEADER_BYTES].lstrip(b"\r\n\t ")
    if data.startswith(b"From ") and b"\n" in data:  # mbox "From " separator line
        data = data.split(b"\n", 1)[1]
    return BytesParser(policy=policy.default).parsebytes(data, headersonly=True)


def prefill_from_message(raw: bytes | str) -> dict[str, Any]:
    """Facts from a message and a suggested rule (plain data, see rules.rule_from_dict).

    Keys: sender, sender_name, subject, list_id, list_name, list_unsubscribe (bool),
    recipients (To and Cc addresses, deduplicated), folder (suggested), rule {name,
    enabled, match, conditions, actions}, suggestions (extra conditions the user may
    add: "To contains …" / "Cc contains …" per recipient), warnings.
    """
    result: dict[str, Any] = {
        "sender": "",
        "sender_name": "",
        "subject": "",
        "list_id": "",
        "list_name": "",
        "list_unsubscribe": False,
        "recipients": [],
        "folder": "",
        "rule": None,
        "suggestions": [],
        "warnings": [],
    }
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "replace")
    try:
        message = _parse(raw or b"")
    except Exception:
        result["warnings"].append("The message could not be read.")
        return result

    result["sender_name"], result["sender"] = _first_address(_header(message, "From"))
    if not result["sender"]:  # the email package may drop what it cannot parse
        result["sender"] = _first_address(_raw_header(message, "From"))[1]
    result["subject"] = _header(message, "Subject")
    list_id = _header(message, "List-Id")
    result["list_name"], result["list_id"] = _list_name(list_id) if list_id else ("", "")
    result["list_unsubscribe"] = bool(_header(message, "List-Unsubscribe"))
    to, cc = _recipients(message)
    result["recipients"] = to + cc
    result["suggestions"] = [
        {"field": field_name, "operator": "contains", "value": address}
        for field_name, addresses in (("to", to), ("cc", cc))
        for address in addresses
    ]
    if getattr(message, "defects", None) or _has_defects(message, "From"):
        result["warnings"].append("The message headers are malformed; check the suggestion.")
    if not result["sender"]:
        result["warnings"].append("No sender address was found.")

    domain = result["sender"].rpartition("@")[2].removeprefix("www.")
    list_label = result["list_name"] or result["list_id"].split(".")[0]
    result["folder"] = _folder_name(list_label) or _folder_name(domain)
    if not result["sender"]:
        return result
    name = result["list_name"] or result["sender_name"] or result["sender"]
    result["rule"] = {
        "name": _clean(name, 100),
        "enabled": True,
        "match": "all",
        "conditions": [{"field": "from", "operator": "is", "value": result["sender"]}],
        "actions": (
            [{"kind": "move", "argument": result["folder"], "keep_copy": False}]
            if result["folder"]
            else []
        ),
    }
    return result
