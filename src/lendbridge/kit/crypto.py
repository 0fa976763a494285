"""Personal data at rest: envelope encryption (AES-256-GCM), keyed blind indexes, key rotation.

Why envelopes: every value gets its own random 256-bit data key; only that small data key is
encrypted ("wrapped") under a master key. Rotating a master key then rewraps 60 bytes per value
and never touches the data, and a stolen database is useless without the master keys.

Token format (ASCII, safe for a ``TEXT`` column, about 110 characters plus 4/3 of the value's
UTF-8 length)::

    v1.<key id>.<wrapped data key>.<nonce>.<ciphertext>

- ``v1``: format version; anything else is refused.
- key id: which master key wrapped the data key (``[A-Za-z0-9_-]{1,32}``).
- wrapped data key: base64url (no padding) of wrap nonce (12 bytes) + AES-256-GCM of the data
  key (32 bytes) + tag (16 bytes), under the master key, with associated data binding the
  format version, the key id and the context.
- nonce: base64url of the 96-bit random nonce of the value's encryption.
- ciphertext: base64url of AES-256-GCM(value as UTF-8) + tag under the data key, with the
  context (e.g. ``"identity_user.phone"``) as associated data, so a ciphertext copied into
  another column fails to decrypt instead of showing one person's data as another's.

Master keys (:class:`Keyring`) come from ``LENDBRIDGE_MASTER_KEYS`` or from a key file; the
embedded default generates the key file under ``./var`` at first start. The blind-index secret
lives next to them but is never rotated with them: an index value has to stay the same for as
long as rows are looked up by it.

Rotation, while the platform runs:

1. give every process the new key without activating it (key file: :meth:`Keyring.add_key`
   with ``activate=False``; environment: append ``k2:<base64>`` after the active key) and
   restart them, so each can read values wrapped under it;
2. activate it (key file: :meth:`Keyring.activate`; environment: move it first) and restart;
3. :func:`rotate` rewraps every stored value under the active key, batch by batch;
4. once a rerun reports nothing rewrapped, retire the old key (:meth:`Keyring.retire`).

Skipping step 1 works too, but a process still holding the old keyring cannot read values
that another process has already written or rewrapped under the new key until it restarts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import (
    Column,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    column,
    event,
    literal,
    select,
    table,
    tuple_,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import ColumnClause

from lendbridge.kit.logging import get_logger

MASTER_KEYS_ENV = "LENDBRIDGE_MASTER_KEYS"
TOKEN_VERSION = "v1"  # noqa: S105 - a format tag, not a secret
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the 96-bit nonce GCM is specified for
INDEX_ENTRY = "index"  # the blind-index secret's name in LENDBRIDGE_MASTER_KEYS
KEY_FILE_VERSION = 1

_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")
_NUMBERED_KEY_ID = re.compile(r"^k(\d{1,9})$")
_PRODUCTION_WARNING = (
    "a master key was generated for the embedded default; production must supply its own "
    f"({MASTER_KEYS_ENV}, or a key file from the secret store), kept apart from the database "
    "and its backups"
)


class CryptoError(Exception):
    """Base of every error raised here. Messages never carry key material or plaintext."""


class KeyringError(CryptoError):
    """The master keys are missing or badly formed (environment value or key file)."""


class KeyringNotConfigured(CryptoError):
    """:func:`current` was called before :func:`configure`."""


class UnknownKeyId(CryptoError):
    """A token names a master key this keyring does not hold (retired too early, or another
    environment's data)."""

    def __init__(self, key_id: str) -> None:
        super().__init__(f"the value is wrapped under master key {key_id!r}, not in the keyring")
        self.key_id = key_id


class DecryptionFailed(CryptoError):
    """Authentication failed: the token was altered, belongs to another context (column), or
    its key id names a different key than the one that wrapped it."""


class MalformedToken(DecryptionFailed):
    """The value is not a token of a supported format."""


# --- tokens ---------------------------------------------------------------------------------


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str, what: str) -> bytes:
    """Strict base64url: the decoded bytes must re-encode to exactly ``text``, so that no two
    spellings of one token exist (the spare bits of the last character are not ignored)."""
    if not _B64URL.fullmatch(text):
        raise MalformedToken(f"the token's {what} is not base64url")
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise MalformedToken(f"the token's {what} is not base64url") from None
    if _b64e(data) != text:
        raise MalformedToken(f"the token's {what} is not canonical base64url")
    return data


@dataclass(frozen=True)
class _Token:
    key_id: str
    wrapped: bytes
    nonce: bytes
    ciphertext: bytes

    @classmethod
    def parse(cls, token: str) -> _Token:
        if not isinstance(token, str):
            raise MalformedToken("a token is a string")
        parts = token.split(".")
        if len(parts) != 5:
            raise MalformedToken("a token has five dot-separated fields")
        version, key_id, wrapped, nonce, ciphertext = parts
        if version != TOKEN_VERSION:
            raise MalformedToken(f"unsupported token version (expected {TOKEN_VERSION})")
        if not _KEY_ID.fullmatch(key_id):
            raise MalformedToken("the token's key id is not valid")
        parsed = cls(
            key_id,
            _b64d(wrapped, "wrapped key"),
            _b64d(nonce, "nonce"),
            _b64d(ciphertext, "ciphertext"),
        )
        if len(parsed.wrapped) != NONCE_BYTES + KEY_BYTES + 16 or len(parsed.nonce) != NONCE_BYTES:
            raise MalformedToken("the token's wrapped key or nonce has the wrong length")
        if len(parsed.ciphertext) < 16:
            raise MalformedToken("the token's ciphertext is shorter than its tag")
        return parsed

    def render(self) -> str:
        return ".".join(
            (
                TOKEN_VERSION,
                self.key_id,
                _b64e(self.wrapped),
                _b64e(self.nonce),
                _b64e(self.ciphertext),
            )
        )


def _data_aad(context: str) -> bytes:
    return f"lendbridge:{TOKEN_VERSION}:data:{context}".encode()


def _wrap_aad(key_id: str, context: str) -> bytes:
    # Binding the context here too means a rewrap checks the token belongs where it was found.
    return f"lendbridge:{TOKEN_VERSION}:wrap:{key_id}:{context}".encode()


def _check_context(context: str) -> None:
    if not context:
        raise ValueError("an encryption context (e.g. 'identity_user.phone') is required")


def key_id(token: str) -> str:
    """The id of the master key that wrapped ``token``'s data key (no key needed)."""
    return _Token.parse(token).key_id


# --- the keyring ----------------------------------------------------------------------------


def _check_key_id(key_id: str) -> None:
    if not _KEY_ID.fullmatch(key_id) or key_id == INDEX_ENTRY:
        raise KeyringError(
            f"invalid master key id {key_id!r}: 1-32 of A-Z a-z 0-9 _ -, and not {INDEX_ENTRY!r}"
        )


def _decode_key(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise KeyringError(f"key {name!r} must be a base64 string")
    try:
        key = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"key {name!r} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyringError(f"key {name!r} must be {KEY_BYTES} bytes, not {len(key)}")
    return key


def _encode_key(key: bytes) -> str:
    return base64.b64encode(key).decode("ascii")


class Keyring:
    """Master keys by id (one active, used for new values; the others only read old ones) and
    the blind-index secret. Immutable: changes return a new keyring, which the caller saves
    and hands to :func:`configure`."""

    __slots__ = ("_aead", "_index_key", "_index_keys", "_keys", "active_key_id")

    def __init__(self, keys: Mapping[str, bytes], *, active: str, index_key: bytes) -> None:
        if not keys:
            raise KeyringError("a keyring needs at least one master key")
        for kid, key in keys.items():
            _check_key_id(kid)
            if len(key) != KEY_BYTES:
                raise KeyringError(f"master key {kid!r} must be {KEY_BYTES} bytes")
        if active not in keys:
            raise KeyringError(f"the active key {active!r} is not among the master keys")
        if len(index_key) != KEY_BYTES:
            raise KeyringError(f"the index key must be {KEY_BYTES} bytes")
        self._keys: dict[str, bytes] = dict(keys)
        self.active_key_id = active
        self._index_key = index_key
        self._aead = {kid: AESGCM(key) for kid, key in self._keys.items()}
        self._index_keys: dict[str, bytes] = {}

    def __repr__(self) -> str:  # key ids only: a keyring must never end up in a log in clear
        return f"Keyring(active={self.active_key_id!r}, key_ids={self.key_ids!r})"

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._keys)

    # construction and persistence

    @classmethod
    def generate(cls, key_id: str = "k1") -> Keyring:
        """A fresh keyring: one random master key and a random index secret."""
        return cls(
            {key_id: secrets.token_bytes(KEY_BYTES)},
            active=key_id,
            index_key=secrets.token_bytes(KEY_BYTES),
        )

    @classmethod
    def from_env(cls, value: str) -> Keyring:
        """Parse ``LENDBRIDGE_MASTER_KEYS``: comma-separated ``<id>:<base64 of 32 bytes>``
        entries, the first master key active, plus one entry named ``index`` for the
        blind-index secret, e.g. ``k2:<base64>,k1:<base64>,index:<base64>``. A key is made
        with ``openssl rand -base64 32``."""
        keys: dict[str, bytes] = {}
        index_key: bytes | None = None
        for raw in value.split(","):
            entry = raw.strip()
            if not entry:
                continue
            name, sep, encoded = entry.partition(":")
            name = name.strip()
            if not sep:
                raise KeyringError(f"{MASTER_KEYS_ENV}: entries are <id>:<base64>")
            if name == INDEX_ENTRY:
                if index_key is not None:
                    raise KeyringError(f"{MASTER_KEYS_ENV}: more than one {INDEX_ENTRY!r} entry")
                index_key = _decode_key(encoded, INDEX_ENTRY)
                continue
            _check_key_id(name)
            if name in keys:
                raise KeyringError(f"{MASTER_KEYS_ENV}: key id {name!r} appears twice")
            keys[name] = _decode_key(encoded, name)
        if not keys:
            raise KeyringError(f"{MASTER_KEYS_ENV} holds no master key")
        if index_key is None:
            raise KeyringError(
                f"{MASTER_KEYS_ENV} holds no {INDEX_ENTRY!r} entry (the blind-index secret)"
            )
        return cls(keys, active=next(iter(keys)), index_key=index_key)

    def to_env(self) -> str:
        """This keyring as a ``LENDBRIDGE_MASTER_KEYS`` value (to move a key file to a secret
        store)."""
        ordered = [self.active_key_id, *(k for k in self._keys if k != self.active_key_id)]
        entries = [f"{kid}:{_encode_key(self._keys[kid])}" for kid in ordered]
        return ",".join([*entries, f"{INDEX_ENTRY}:{_encode_key(self._index_key)}"])

    @classmethod
    def from_file(cls, path: Path) -> Keyring:
        """Read a key file: ``{"version": 1, "active": "k1", "keys": {"k1": "<base64>"},
        "index_key": "<base64>"}``. A file others may read is used, with a warning."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyringError(f"cannot read the key file {path}: {exc.strerror}") from None
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            get_logger(__name__).warning(
                "key_file_permissions",
                key_file=str(path),
                detail="the key file is readable by other users; chmod 600 it",
            )
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise KeyringError(f"the key file {path} is not JSON") from None
        if not isinstance(data, dict) or not isinstance(data.get("keys"), dict):
            raise KeyringError(f"the key file {path} has no 'keys' object")
        if data.get("version", KEY_FILE_VERSION) != KEY_FILE_VERSION:
            raise KeyringError(f"the key file {path} has an unsupported version")
        active = data.get("active")
        if not isinstance(active, str):
            raise KeyringError(f"the key file {path} names no active key")
        keys = {str(kid): _decode_key(value, str(kid)) for kid, value in data["keys"].items()}
        return cls(keys, active=active, index_key=_decode_key(data.get("index_key"), "index_key"))

    def _file_bytes(self) -> bytes:
        document = {
            "version": KEY_FILE_VERSION,
            "active": self.active_key_id,
            "keys": {kid: _encode_key(key) for kid, key in self._keys.items()},
            "index_key": _encode_key(self._index_key),
        }
        return (json.dumps(document, indent=2) + "\n").encode("utf-8")

    def _write_temporary(self, path: Path) -> Path:
        """The key file's content in a new 0600 file next to ``path`` (same file system, so
        it can be renamed or linked into place atomically)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, self._file_bytes())
            os.fsync(fd)
        finally:
            os.close(fd)
        return temporary

    def save(self, path: Path) -> None:
        """Write (or replace) the key file atomically, mode 0600: a crash leaves the old file
        or the new one, never half of one."""
        temporary = self._write_temporary(path)
        try:
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise

    def _create(self, path: Path) -> bool:
        """Write the key file only if none exists; False if another process got there first.
        A hard link appears atomically and never replaces, so two processes starting at once
        cannot end up with different keys."""
        temporary = self._write_temporary(path)
        try:
            os.link(temporary, path)
        except FileExistsError:
            return False
        except OSError:
            # A file system without hard links: create in place, still never replacing.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return False
            try:
                os.write(fd, self._file_bytes())
                os.fsync(fd)
            finally:
                os.close(fd)
        finally:
            temporary.unlink(missing_ok=True)
        return True

    @classmethod
    def load(cls, env_value: str | None, key_file: Path, *, create_if_missing: bool) -> Keyring:
        """The keyring from ``env_value`` (``LENDBRIDGE_MASTER_KEYS``) when set, else from
        ``key_file``; when neither exists and ``create_if_missing``, generate the key file
        (embedded default) and warn that production must supply its own key."""
        if env_value is not None and env_value.strip():
            return cls.from_env(env_value)
        if key_file.exists():
            return cls.from_file(key_file)
        if not create_if_missing:
            raise KeyringError(f"no master keys: set {MASTER_KEYS_ENV} or provide {key_file}")
        keyring = cls.generate()
        if not keyring._create(key_file):
            return cls.from_file(key_file)
        get_logger(__name__).warning(
            "master_key_generated", key_file=str(key_file), detail=_PRODUCTION_WARNING
        )
        return keyring

    # rotation steps

    def _next_key_id(self) -> str:
        numbers = [int(m.group(1)) for k in self._keys if (m := _NUMBERED_KEY_ID.fullmatch(k))]
        return f"k{max(numbers, default=0) + 1}"

    def add_key(self, key_id: str | None = None, *, activate: bool = True) -> Keyring:
        """A keyring with one more random master key (id ``k<n+1>`` unless given), active
        unless ``activate=False`` (to distribute it to every process before using it)."""
        new_id = key_id if key_id is not None else self._next_key_id()
        _check_key_id(new_id)
        if new_id in self._keys:
            raise KeyringError(f"master key {new_id!r} already exists")
        keys = {**self._keys, new_id: secrets.token_bytes(KEY_BYTES)}
        active = new_id if activate else self.active_key_id
        return Keyring(keys, active=active, index_key=self._index_key)

    def activate(self, key_id: str) -> Keyring:
        """A keyring whose active key is ``key_id`` (which it already holds)."""
        if key_id not in self._keys:
            raise UnknownKeyId(key_id)
        return Keyring(self._keys, active=key_id, index_key=self._index_key)

    def retire(self, key_id: str) -> Keyring:
        """A keyring without ``key_id``: only once :func:`rotate` has rewrapped every value
        under another key, or those values become unreadable."""
        if key_id not in self._keys:
            raise UnknownKeyId(key_id)
        if key_id == self.active_key_id:
            raise KeyringError(f"master key {key_id!r} is active; activate another one first")
        keys = {kid: key for kid, key in self._keys.items() if kid != key_id}
        return Keyring(keys, active=self.active_key_id, index_key=self._index_key)

    # envelope encryption

    def _master(self, kid: str) -> AESGCM:
        aead = self._aead.get(kid)
        if aead is None:
            raise UnknownKeyId(kid)
        return aead

    def _wrap(self, data_key: bytes, context: str) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        master = self._aead[self.active_key_id]
        return nonce + master.encrypt(nonce, data_key, _wrap_aad(self.active_key_id, context))

    def _unwrap(self, token: _Token, context: str) -> bytes:
        master = self._master(token.key_id)
        nonce, sealed = token.wrapped[:NONCE_BYTES], token.wrapped[NONCE_BYTES:]
        try:
            return master.decrypt(nonce, sealed, _wrap_aad(token.key_id, context))
        except InvalidTag:
            raise DecryptionFailed(
                f"the data key does not authenticate under {token.key_id!r} for context "
                f"{context!r}: altered token, or a value from another column"
            ) from None

    def encrypt(self, plaintext: str, *, context: str) -> str:
        """A new token for ``plaintext``: fresh data key and nonce every time, so equal values
        give different tokens (compare through :meth:`blind_index`, never through tokens)."""
        _check_context(context)
        data_key = secrets.token_bytes(KEY_BYTES)
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = AESGCM(data_key).encrypt(nonce, plaintext.encode("utf-8"), _data_aad(context))
        wrapped = self._wrap(data_key, context)
        return _Token(self.active_key_id, wrapped, nonce, ciphertext).render()

    def decrypt(self, token: str, *, context: str) -> str:
        """The plaintext of a token made by any key of this keyring, for the same context."""
        _check_context(context)
        parsed = _Token.parse(token)
        data_key = self._unwrap(parsed, context)
        try:
            plaintext = AESGCM(data_key).decrypt(
                parsed.nonce, parsed.ciphertext, _data_aad(context)
            )
        except InvalidTag:
            raise DecryptionFailed(
                f"the value does not authenticate for context {context!r}: altered token"
            ) from None
        return plaintext.decode("utf-8")

    def rewrap(self, token: str, *, context: str) -> str:
        """``token`` with its data key wrapped under the active master key; nonce and
        ciphertext are kept as they are (the data is not re-encrypted). Returns ``token``
        itself when it already is under the active key."""
        _check_context(context)
        parsed = _Token.parse(token)
        if parsed.key_id == self.active_key_id:
            return token
        data_key = self._unwrap(parsed, context)
        wrapped = self._wrap(data_key, context)
        return _Token(self.active_key_id, wrapped, parsed.nonce, parsed.ciphertext).render()

    # blind indexes

    def blind_index(self, value: str, *, purpose: str) -> str:
        """A deterministic keyed digest of ``value`` (64 hex characters) to find rows by an
        encrypted value without decrypting anything: store it in an indexed column next to
        the ciphertext and query ``WHERE phone_bidx = :digest``.

        HMAC-SHA256 under a key derived (HKDF-SHA256) from the index secret and ``purpose``
        (e.g. ``"identity_user.phone"``), so digests of the same value for different purposes
        cannot be joined. The index secret is not rotated with the master keys.

        Callers normalise ``value`` first, the same way when writing and when looking up
        (e.g. a phone as its 11 digits without spaces or ``+86``; a resident ID upper-cased
        with the check character ``X``), or equal values get different digests.
        """
        if not purpose:
            raise ValueError("a blind-index purpose (e.g. 'identity_user.phone') is required")
        key = self._index_keys.get(purpose)
        if key is None:
            key = HKDF(
                algorithm=hashes.SHA256(),
                length=KEY_BYTES,
                salt=None,
                info=f"lendbridge:blind-index:v1:{purpose}".encode(),
            ).derive(self._index_key)
            self._index_keys[purpose] = key
        return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


# --- the process-wide keyring ---------------------------------------------------------------

_current: Keyring | None = None


def configure(keyring: Keyring | None) -> Keyring | None:
    """Install the process-wide keyring (the app and the CLI do it at start-up, from
    settings) and return the previous one, so tests can put it back. ``None`` uninstalls."""
    global _current
    previous, _current = _current, keyring
    return previous


def current() -> Keyring:
    """The process-wide keyring, which :class:`EncryptedString` columns use."""
    if _current is None:
        raise KeyringNotConfigured(
            "no keyring is configured: call lendbridge.kit.crypto.configure(Keyring.load(...)) "
            "at start-up"
        )
    return _current


def encrypt(plaintext: str, *, context: str) -> str:
    return current().encrypt(plaintext, context=context)


def decrypt(token: str, *, context: str) -> str:
    return current().decrypt(token, context=context)


def rewrap(token: str, *, context: str) -> str:
    return current().rewrap(token, context=context)


def blind_index(value: str, *, purpose: str) -> str:
    return current().blind_index(value, purpose=purpose)


# --- the column type ------------------------------------------------------------------------

# A comparison with an encrypted column can never match (every encryption differs), so it is
# refused when the statement is built rather than silently finding nothing.
_REFUSED_OPERATORS = frozenset(
    {
        operators.eq,
        operators.ne,
        operators.lt,
        operators.le,
        operators.gt,
        operators.ge,
        operators.in_op,
        operators.not_in_op,
        operators.like_op,
        operators.not_like_op,
        operators.ilike_op,
        operators.not_ilike_op,
        operators.startswith_op,
        operators.endswith_op,
        operators.contains_op,
        operators.between_op,
    }
)


class EncryptedString(TypeDecorator[str]):
    """A string column stored as a token (:func:`encrypt`) under the process-wide keyring.

    ``context`` names the column (``"identity_user.phone"``): it is the associated data, so it
    must never change once rows exist. Migrations declare the column as plain ``sa.Text()``.
    Look rows up through a blind-index column, not through this one: comparisons on it are
    refused. ``None`` is stored as ``NULL``.
    """

    impl = Text
    cache_ok = True

    class Comparator(TypeDecorator.Comparator[str]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> ColumnElement[Any]:
            if op in _REFUSED_OPERATORS:
                raise TypeError(
                    "an encrypted column cannot be compared (every encryption differs); "
                    "compare its blind index instead"
                )
            return super().operate(op, *other, **kwargs)

        def reverse_operate(self, op: Any, other: Any, **kwargs: Any) -> ColumnElement[Any]:
            if op in _REFUSED_OPERATORS:
                raise TypeError("an encrypted column cannot be compared; use its blind index")
            return super().reverse_operate(op, other, **kwargs)

    comparator_factory = Comparator

    def __init__(self, context: str) -> None:
        _check_context(context)
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return current().encrypt(value, context=self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return current().decrypt(str(value), context=self.context)


@dataclass(frozen=True)
class EncryptedColumn:
    """One column declared with :class:`EncryptedString`, as :func:`rotate` walks it."""

    table: Table
    column: str
    context: str

    @property
    def name(self) -> str:
        return f"{self.table.fullname}.{self.column}"


_registry: dict[tuple[str, str], EncryptedColumn] = {}


@event.listens_for(Column, "after_parent_attach")
def _register_encrypted_column(target: Column[Any], parent: Any) -> None:
    """Every ``EncryptedString`` column is recorded when it joins its table, so rotation finds
    them all without a list to keep up to date by hand."""
    if not isinstance(parent, Table) or not isinstance(target.type, EncryptedString):
        return
    entry = EncryptedColumn(parent, target.name, target.type.context)
    known = _registry.get((parent.fullname, target.name))
    if known is not None and known.context != entry.context:
        raise ValueError(
            f"{entry.name} is declared with two encryption contexts "
            f"({known.context!r}, {entry.context!r}); one of them could not decrypt its rows"
        )
    # The latest declaration wins: a table copied to another MetaData is the same table.
    _registry[(parent.fullname, target.name)] = entry


def encrypted_columns() -> list[EncryptedColumn]:
    """Every encrypted column declared so far. Import every model first (for the project:
    ``lendbridge.models_registry``)."""
    return list(_registry.values())


# --- rotation -------------------------------------------------------------------------------


@dataclass
class ColumnRotation:
    """What :func:`rotate` did to one column. ``changed_concurrently`` rows were rewritten by
    the platform between read and write (a rerun picks them up if still needed); ``failed``
    rows could not be rewrapped (their key is gone, or they are not valid tokens)."""

    table: str
    column: str
    rewrapped: int = 0
    skipped: int = 0
    changed_concurrently: int = 0
    failed: int = 0


@dataclass
class RotationReport:
    active_key_id: str
    columns: list[ColumnRotation] = field(default_factory=list)

    @property
    def rewrapped(self) -> int:
        return sum(c.rewrapped for c in self.columns)

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.columns)

    @property
    def complete(self) -> bool:
        """True when every stored value was found under the active key already."""
        return all(
            c.rewrapped == 0 and c.changed_concurrently == 0 and c.failed == 0 for c in self.columns
        )


def rotate(
    session_factory: Callable[[], Session],
    *,
    batch_size: int = 500,
    keyring: Keyring | None = None,
    columns: Sequence[EncryptedColumn] | None = None,
) -> RotationReport:
    """Rewrap every encrypted value not under the active key, while the platform runs.

    Each column is walked in primary-key order, ``batch_size`` rows per transaction, so locks
    are short and a stopped run resumes by running again. Raw tokens are read and written
    through Core (never through :class:`EncryptedString`), and each write is conditional on the
    token still being the one read, so a concurrent update by the platform is never
    overwritten. Reruns are idempotent: values already under the active key are skipped.
    """
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    ring = keyring if keyring is not None else current()
    report = RotationReport(ring.active_key_id)
    log = get_logger(__name__)
    for entry in encrypted_columns() if columns is None else columns:
        outcome = _rotate_column(session_factory, entry, ring, batch_size)
        report.columns.append(outcome)
        log.info(
            "key_rotation_column",
            column=entry.name,
            active_key_id=ring.active_key_id,
            rewrapped=outcome.rewrapped,
            skipped=outcome.skipped,
            changed_concurrently=outcome.changed_concurrently,
            failed=outcome.failed,
        )
    return report


def _rotate_column(
    session_factory: Callable[[], Session], entry: EncryptedColumn, ring: Keyring, batch_size: int
) -> ColumnRotation:
    primary_key = list(entry.table.primary_key.columns)
    if not primary_key:
        raise ValueError(f"{entry.name}: rotation walks tables by primary key; this has none")
    # A lightweight copy of the table: the primary key with its own types, the encrypted column
    # as plain text, so the stored tokens are read and written as they are.
    raw = table(
        entry.table.name,
        *(column(c.name, c.type) for c in primary_key),
        column(entry.column, Text()),
        schema=entry.table.schema,
    )
    keys: list[ColumnClause[Any]] = [raw.c[c.name] for c in primary_key]
    token_column = raw.c[entry.column]
    position: Any = tuple_(*keys) if len(keys) > 1 else keys[0]
    write = (
        update(raw)
        .where(*(k == bindparam(f"pk_{k.name}", type_=k.type) for k in keys))
        .where(token_column == bindparam("old_token", type_=Text()))
        .values({token_column: bindparam("new_token", type_=Text())})
    )
    outcome = ColumnRotation(entry.table.fullname, entry.column)
    log = get_logger(__name__)
    last: tuple[Any, ...] | None = None
    while True:
        query = select(*keys, token_column).where(token_column.is_not(None))
        if last is not None:
            # Typed like the key columns, so values come back to the database as they left it.
            after = [literal(v, type_=k.type) for k, v in zip(keys, last, strict=True)]
            query = query.where(position > (tuple_(*after) if len(keys) > 1 else after[0]))
        query = query.order_by(*keys).limit(batch_size)
        with session_factory() as session, session.begin():
            rows = session.execute(query).all()
            changes: list[dict[str, Any]] = []
            for row in rows:
                pk_values, token = tuple(row[: len(keys)]), row[len(keys)]
                try:
                    new_token = ring.rewrap(token, context=entry.context)
                except CryptoError as exc:
                    outcome.failed += 1
                    log.warning(
                        "key_rotation_failed",
                        column=entry.name,
                        primary_key=[str(v) for v in pk_values],
                        error=type(exc).__name__,
                        detail=str(exc),
                    )
                    continue
                if new_token == token:
                    outcome.skipped += 1
                    continue
                params = {f"pk_{k.name}": v for k, v in zip(keys, pk_values, strict=True)}
                changes.append({**params, "old_token": token, "new_token": new_token})
            if changes:
                written = session.connection().execute(write, changes).rowcount
                outcome.rewrapped += written
                outcome.changed_concurrently += len(changes) - written
        if len(rows) < batch_size:
            return outcome
        last = tuple(rows[-1][: len(keys)])
