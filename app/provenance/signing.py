"""Ed25519 signatures over provenance chain hashes; the only module that imports `cryptography`.

What is signed, for each entry: the ASCII bytes ``diadem-provenance/v1 `` followed by the
entry's chain hash as 64 lower-case hex digits (85 bytes in all). The chain hash already covers
the passport code, the sequence number, the previous entry's hash and every stored column (see
``services.entry_body`` and ``app.domain.ledger``), so one signature seals the entry and,
through ``prev_hash``, everything before it. The prefix keeps these signatures from meaning
anything in another protocol that might one day share the key. Signatures are stored base64.

The private key never goes into the database. It is a PKCS#8 PEM file, found in this order:
``app.config["PROVENANCE_KEY_PATH"]`` (tests set it), the path in the environment variable
``DIADEM_PROVENANCE_SIGNING_KEY`` (production: it must exist, or signing fails loudly rather
than starting a second key), else ``instance/provenance_ed25519.pem``. The first and the last
are created (mode 0600) on first use, as ``development_secret`` does for SECRET_KEY.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from flask import current_app

KEY_ENV = "DIADEM_PROVENANCE_SIGNING_KEY"
DEFAULT_KEY_FILE = "provenance_ed25519.pem"
MESSAGE_PREFIX = b"diadem-provenance/v1 "
SIGNATURE_LENGTH = 88  # base64 of Ed25519's 64 bytes
PublicKey = Ed25519PublicKey


class SigningKeyError(RuntimeError):
    """The signing key is missing, unreadable or not an Ed25519 private key."""


class KeyExists(SigningKeyError):
    pass


def message(chain_hash: str) -> bytes:
    """The exact bytes signed for an entry whose chain hash is ``chain_hash``."""
    return MESSAGE_PREFIX + chain_hash.encode("ascii")


@dataclass(frozen=True)
class Signer:
    private_key: Ed25519PrivateKey
    path: Path

    def sign(self, chain_hash: str) -> str:
        return base64.b64encode(self.private_key.sign(message(chain_hash))).decode("ascii")

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def public_pem(self) -> str:
        return public_pem(self.public_key)


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def load_public_pem(pem: str | bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError("not an Ed25519 public key")
    return key


def verify(public_key: Ed25519PublicKey, chain_hash: str, signature: str) -> bool:
    """Whether ``signature`` (base64) is ``public_key``'s signature of this chain hash."""
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
        public_key.verify(raw, message(chain_hash))
    except (InvalidSignature, binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return True


def new_private_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def write_key(path: Path, *, force: bool = False) -> Signer:
    """Write a new private key to ``path`` (0600); refuse to replace one unless ``force``."""
    if path.exists() and not force:
        raise KeyExists(f"{path} already exists; pass --force to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    # Created 0600 from the start, so the key is never readable by others even for a moment.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(new_private_pem())
        if force:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)  # atomic and never replaces: two first uses keep one key
            except FileExistsError as exc:
                raise KeyExists(f"{path} already exists; pass --force to replace it.") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return read_key(path)


def read_key(path: Path) -> Signer:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(f"cannot read the provenance signing key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"{path} is not an Ed25519 private key")
    return Signer(private_key=key, path=path)


def key_path() -> tuple[Path, bool]:
    """Where this app's key lives, and whether it may be created there when missing."""
    configured = current_app.config.get("PROVENANCE_KEY_PATH")
    if configured:
        return Path(configured), True
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV]), False
    return Path(current_app.instance_path) / DEFAULT_KEY_FILE, True


def current_signer() -> Signer:
    """This app's signer, read once per key file (and created where that is allowed)."""
    path, may_create = key_path()
    cache: dict[Path, Signer] = current_app.extensions.setdefault("provenance_signers", {})
    if path in cache:
        return cache[path]
    if not path.exists():
        if not may_create:
            raise SigningKeyError(f"{KEY_ENV} names {path}, which does not exist.")
        try:
            signer = write_key(path)
        except KeyExists:  # another process made it first
            signer = read_key(path)
    else:
        signer = read_key(path)
    cache[path] = signer
    return signer
