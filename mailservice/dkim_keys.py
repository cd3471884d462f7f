"""DKIM key pairs: generated here (RSA 2048, the size RFC 8301 asks signers to use and every
verifier accepts), the private key kept encrypted at rest in the database and decrypted
only to build a backend host's desired state."""
from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048


@dataclass(frozen=True)
class KeyPair:
    private_pem: str  # PKCS#8, unencrypted: what the signer reads
    public_key: str  # base64 SubjectPublicKeyInfo (DER): the `p=` of the selector record


def generate() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode("ascii")
    public_der = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair(private_pem=private_pem, public_key=base64.b64encode(public_der).decode("ascii"))


def new_selector(moment) -> str:
    """`mm` + the date + a random tag: readable in a DKIM-Signature header, never reused
    (an old selector stays in caches for its TTL, a new key must not hide behind it)."""
    return f"mm{moment:%Y%m%d}{secrets.token_hex(3)}"


def _fernet() -> Fernet:
    """MAIL_DKIM_KEY_SECRET when set, else one derived from SECRET_KEY: a copy of the
    database alone does not give the keys away."""
    from django.conf import settings

    secret = settings.MAIL_DKIM_KEY_SECRET or f"dkim-keys:{settings.SECRET_KEY}"
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret.encode()).digest()))


def encrypt(private_pem: str) -> str:
    return _fernet().encrypt(private_pem.encode("ascii")).decode("ascii")


class KeyUnreadable(Exception):
    """The stored key was encrypted with another secret (MAIL_DKIM_KEY_SECRET changed)."""


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("ascii")
    except InvalidToken as exc:
        raise KeyUnreadable("the DKIM key cannot be decrypted with MAIL_DKIM_KEY_SECRET") from exc
