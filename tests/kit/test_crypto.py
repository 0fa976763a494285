"""Personal data at rest: envelope encryption, blind indexes, the keyring, rotation."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    insert,
    select,
    text,
    type_coerce,
)
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from lendbridge.kit import crypto
from lendbridge.kit.crypto import (
    MASTER_KEYS_ENV,
    CryptoError,
    DecryptionFailed,
    EncryptedString,
    Keyring,
    KeyringError,
    KeyringNotConfigured,
    MalformedToken,
    UnknownKeyId,
    encrypted_columns,
    key_id,
    rotate,
)

# One keyring for the property tests (hypothesis does not mix with function-scoped fixtures).
RING = Keyring.generate()
CONTEXT = "identity_user.phone"
TOKEN_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


@pytest.fixture
def keyring() -> Iterator[Keyring]:
    """A fresh keyring installed process-wide for the test, the previous one put back after."""
    ring = Keyring.generate()
    previous = crypto.configure(ring)
    yield ring
    crypto.configure(previous)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# --- envelope encryption --------------------------------------------------------------------


@given(st.text())
def test_decrypt_inverts_encrypt_for_any_text(plaintext):
    assert RING.decrypt(RING.encrypt(plaintext, context=CONTEXT), context=CONTEXT) == plaintext


@given(st.text(min_size=8))
def test_the_token_never_contains_the_plaintext(plaintext):
    token = RING.encrypt(plaintext, context=CONTEXT)
    assert plaintext not in token
    assert token.isascii()


def test_token_layout_and_fresh_randomness_per_value():
    first = RING.encrypt("13812345678", context=CONTEXT)
    second = RING.encrypt("13812345678", context=CONTEXT)
    assert first != second  # new data key and nonce every time
    version, kid, wrapped, nonce, _ciphertext = first.split(".")
    assert (version, kid) == ("v1", "k1")
    assert len(wrapped) == 80  # 12-byte nonce + 32-byte key + 16-byte tag, base64url
    assert len(nonce) == 16
    assert key_id(first) == "k1"


@given(st.text(max_size=40))
def test_a_token_does_not_decrypt_under_another_context(plaintext):
    token = RING.encrypt(plaintext, context="identity_user.phone")
    with pytest.raises(DecryptionFailed):
        RING.decrypt(token, context="identity_user.resident_id")


@given(st.text(max_size=40), st.data())
def test_altering_any_character_of_a_token_is_detected(plaintext, data):
    token = RING.encrypt(plaintext, context=CONTEXT)
    position = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    replacement = data.draw(st.sampled_from(TOKEN_ALPHABET).filter(lambda c: c != token[position]))
    altered = token[:position] + replacement + token[position + 1 :]
    with pytest.raises(CryptoError):
        RING.decrypt(altered, context=CONTEXT)


@pytest.mark.parametrize(
    "token",
    ["", "not a token", "v2.k1.AA.AA.AA", "v1.k1.AA.AA", "v1.k 1.AA.AA.AA.AA", "v1.k1.!.AA.AA"],
)
def test_garbage_is_refused_as_malformed(token):
    with pytest.raises(MalformedToken):
        RING.decrypt(token, context=CONTEXT)


def test_a_key_id_the_keyring_does_not_hold_is_named():
    token = RING.add_key("k9").encrypt("x", context=CONTEXT)
    with pytest.raises(UnknownKeyId) as caught:
        RING.decrypt(token, context=CONTEXT)
    assert caught.value.key_id == "k9"


def test_errors_and_repr_carry_no_secret():
    token = RING.encrypt("13812345678", context=CONTEXT)
    with pytest.raises(DecryptionFailed) as caught:
        RING.decrypt(token, context="other.column")
    assert "13812345678" not in str(caught.value)
    assert repr(RING) == "Keyring(active='k1', key_ids=('k1',))"


# --- rewrap ---------------------------------------------------------------------------------


@given(st.text())
def test_rewrap_moves_a_value_to_the_active_key_without_reencrypting_it(plaintext):
    old = RING.encrypt(plaintext, context=CONTEXT)
    rotated = RING.add_key()  # k2, active
    new = rotated.rewrap(old, context=CONTEXT)
    assert key_id(new) == "k2"
    assert new.split(".")[3:] == old.split(".")[3:]  # same nonce and ciphertext
    assert rotated.retire("k1").decrypt(new, context=CONTEXT) == plaintext
    assert rotated.rewrap(new, context=CONTEXT) is new  # already current: unchanged


def test_rewrap_checks_the_context():
    old = RING.encrypt("x", context=CONTEXT)
    with pytest.raises(DecryptionFailed):
        RING.add_key().rewrap(old, context="identity_user.email")


def test_an_inactive_key_decrypts_but_does_not_encrypt():
    staged = RING.add_key(activate=False)
    assert staged.active_key_id == "k1"
    assert key_id(staged.encrypt("x", context=CONTEXT)) == "k1"
    activated = staged.activate("k2")
    token = activated.encrypt("x", context=CONTEXT)
    assert key_id(token) == "k2"
    assert staged.decrypt(token, context=CONTEXT) == "x"


def test_keyring_changes_are_checked():
    with pytest.raises(KeyringError):
        RING.retire("k1")  # the active key
    with pytest.raises(UnknownKeyId):
        RING.activate("k7")
    with pytest.raises(KeyringError):
        RING.add_key("k1")
    with pytest.raises(KeyringError):
        RING.add_key("index")
    assert RING.add_key().add_key().key_ids == ("k1", "k2", "k3")


# --- blind indexes --------------------------------------------------------------------------


@given(st.text())
def test_blind_index_is_deterministic_and_per_purpose(value):
    digest = RING.blind_index(value, purpose="identity_user.phone")
    assert digest == RING.blind_index(value, purpose="identity_user.phone")
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert digest != RING.blind_index(value, purpose="identity_user.resident_id")


def test_blind_index_depends_on_the_index_secret_only():
    rotated = RING.add_key()
    assert rotated.blind_index("13812345678", purpose="p") == RING.blind_index(
        "13812345678", purpose="p"
    )
    assert Keyring.generate().blind_index("13812345678", purpose="p") != RING.blind_index(
        "13812345678", purpose="p"
    )
    assert RING.blind_index("13812345678", purpose="p") != RING.blind_index(
        "13812345678 ", purpose="p"
    )


# --- loading keys ---------------------------------------------------------------------------


def test_environment_value_first_master_key_is_active():
    k1, k2, index = os.urandom(32), os.urandom(32), os.urandom(32)
    value = f" k2:{_b64(k2)} , k1:{_b64(k1)},index:{_b64(index)}"
    ring = Keyring.load(value, Path("/nonexistent/keys.json"), create_if_missing=False)
    assert ring.active_key_id == "k2"
    assert ring.key_ids == ("k2", "k1")
    old = Keyring({"k1": k1}, active="k1", index_key=index)
    assert ring.decrypt(old.encrypt("x", context=CONTEXT), context=CONTEXT) == "x"
    assert ring.blind_index("x", purpose="p") == old.blind_index("x", purpose="p")
    assert Keyring.from_env(ring.to_env()).to_env() == ring.to_env()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("k1:" + _b64(b"x" * 32), "no 'index' entry"),
        ("index:" + _b64(b"x" * 32), "no master key"),
        ("k1:" + _b64(b"x" * 16) + ",index:" + _b64(b"x" * 32), "32 bytes"),
        ("k1:%%%,index:" + _b64(b"x" * 32), "not valid base64"),
        ("k1" + _b64(b"x" * 32), "entries are"),
        ("k.1:" + _b64(b"x" * 32) + ",index:" + _b64(b"x" * 32), "invalid master key id"),
        ("k1:" + _b64(b"x" * 32) + ",k1:" + _b64(b"y" * 32), "appears twice"),
    ],
)
def test_a_bad_environment_value_is_refused_without_echoing_keys(value, message):
    with pytest.raises(KeyringError, match=message) as caught:
        Keyring.from_env(value)
    assert _b64(b"x" * 32) not in str(caught.value)


def test_first_start_generates_a_private_key_file_and_warns(tmp_path):
    key_file = tmp_path / "var" / "master.key.json"
    with capture_logs() as logs:
        ring = Keyring.load(None, key_file, create_if_missing=True)
    assert [e["event"] for e in logs] == ["master_key_generated"]
    assert logs[0]["log_level"] == "warning"
    assert "production must supply its own" in logs[0]["detail"]
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    document = json.loads(key_file.read_text())
    assert document["active"] == "k1"
    assert set(document["keys"]) == {"k1"}
    assert "index_key" in document
    assert [p.name for p in key_file.parent.iterdir()] == [key_file.name]  # no temporary left

    with capture_logs() as logs:
        again = Keyring.load("", key_file, create_if_missing=True)
    assert logs == []
    assert again.decrypt(ring.encrypt("x", context=CONTEXT), context=CONTEXT) == "x"
    assert again.blind_index("x", purpose="p") == ring.blind_index("x", purpose="p")


def test_two_processes_starting_at_once_end_up_with_the_same_key_file(tmp_path):
    key_file = tmp_path / "keys.json"
    first, second = Keyring.generate(), Keyring.generate()
    assert first._create(key_file)
    assert not second._create(key_file)  # the loser loads the winner's file instead
    assert Keyring.from_file(key_file).to_env() == first.to_env()
    assert [p.name for p in tmp_path.iterdir()] == ["keys.json"]


def test_key_file_creation_without_hard_links(tmp_path, monkeypatch):
    def no_links(*_args):
        raise PermissionError("hard links not supported")

    monkeypatch.setattr(os, "link", no_links)
    key_file = tmp_path / "keys.json"
    ring = Keyring.generate()
    assert ring._create(key_file)
    assert not Keyring.generate()._create(key_file)
    assert Keyring.from_file(key_file).to_env() == ring.to_env()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_no_keys_and_no_permission_to_create_them_is_an_error(tmp_path):
    with pytest.raises(KeyringError, match=MASTER_KEYS_ENV):
        Keyring.load(None, tmp_path / "keys.json", create_if_missing=False)
    assert not (tmp_path / "keys.json").exists()


def test_the_environment_wins_over_the_key_file(tmp_path):
    key_file = tmp_path / "keys.json"
    Keyring.generate().save(key_file)
    ring = Keyring.load(Keyring.generate("e1").to_env(), key_file, create_if_missing=True)
    assert ring.key_ids == ("e1",)


def test_save_replaces_the_key_file_with_the_rotated_keyring(tmp_path):
    key_file = tmp_path / "keys.json"
    ring = Keyring.generate()
    ring.save(key_file)
    rotated = Keyring.from_file(key_file).add_key()
    rotated.save(key_file)
    loaded = Keyring.from_file(key_file)
    assert (loaded.active_key_id, loaded.key_ids) == ("k2", ("k1", "k2"))
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert loaded.decrypt(ring.encrypt("x", context=CONTEXT), context=CONTEXT) == "x"


def test_a_key_file_others_can_read_is_used_with_a_warning(tmp_path):
    key_file = tmp_path / "keys.json"
    Keyring.generate().save(key_file)
    key_file.chmod(0o644)
    with capture_logs() as logs:
        Keyring.from_file(key_file)
    assert [e["event"] for e in logs] == ["key_file_permissions"]


@pytest.mark.parametrize(
    "content",
    ["not json", "[]", '{"keys": {}}', '{"active": "k1", "keys": {"k1": "AAAA"}, "index_key": ""}'],
)
def test_a_broken_key_file_is_refused(tmp_path, content):
    key_file = tmp_path / "keys.json"
    key_file.write_text(content)
    with pytest.raises(KeyringError):
        Keyring.from_file(key_file)


# --- the process-wide keyring and the column type ---------------------------------------------


def test_current_without_configure_is_a_clear_error():
    previous = crypto.configure(None)
    try:
        with pytest.raises(KeyringNotConfigured, match="configure"):
            crypto.current()
    finally:
        crypto.configure(previous)


def test_module_functions_use_the_configured_keyring(keyring):
    token = crypto.encrypt("x", context=CONTEXT)
    assert keyring.decrypt(token, context=CONTEXT) == "x"
    assert crypto.decrypt(token, context=CONTEXT) == "x"
    assert crypto.blind_index("x", purpose="p") == keyring.blind_index("x", purpose="p")
    assert crypto.rewrap(token, context=CONTEXT) == token


# A throwaway schema of its own, not the project's: created and dropped by the tests below.
scratch_metadata = MetaData()
secret_table = Table(
    "kit_crypto_test_secret",
    scratch_metadata,
    Column("id", Integer, primary_key=True),
    Column("phone", EncryptedString("kit_crypto_test_secret.phone")),
    Column("note", Text),
)
pair_table = Table(  # a composite primary key: rotation pages by (region, serial)
    "kit_crypto_test_pair",
    scratch_metadata,
    Column("region", String(8), primary_key=True),
    Column("serial", Integer, primary_key=True),
    Column("resident_id", EncryptedString("kit_crypto_test_pair.resident_id")),
)


def _test_columns() -> list[crypto.EncryptedColumn]:
    return [c for c in encrypted_columns() if c.table.metadata is scratch_metadata]


def test_encrypted_columns_are_registered_when_declared():
    assert {(c.name, c.context) for c in _test_columns()} == {
        ("kit_crypto_test_secret.phone", "kit_crypto_test_secret.phone"),
        ("kit_crypto_test_pair.resident_id", "kit_crypto_test_pair.resident_id"),
    }


def test_one_column_with_two_contexts_is_refused():
    with pytest.raises(ValueError, match="two encryption contexts"):
        Table(
            "kit_crypto_test_secret",
            MetaData(),
            Column("id", Integer, primary_key=True),
            Column("phone", EncryptedString("another.context")),
        )


def test_comparing_an_encrypted_column_is_refused():
    with pytest.raises(TypeError, match="blind index"):
        _ = secret_table.c.phone == "13812345678"
    with pytest.raises(TypeError, match="blind index"):
        secret_table.c.phone.in_(["13812345678"])
    secret_table.c.phone.is_(None)  # NULL checks stay possible


@pytest.fixture
def scratch_tables(engine: Engine) -> Iterator[Engine]:
    scratch_metadata.create_all(engine)
    yield engine
    scratch_metadata.drop_all(engine)


def _raw_tokens(engine: Engine, table: Table, name: str) -> list[str | None]:
    with engine.connect() as conn:
        return list(conn.scalars(select(type_coerce(table.c[name], Text)).order_by(*table.c)))


def test_the_column_type_encrypts_at_rest_and_decrypts_on_read(keyring, scratch_tables):
    with scratch_tables.begin() as conn:
        conn.execute(
            insert(secret_table),
            [{"id": 1, "phone": "13812345678", "note": "a"}, {"id": 2, "phone": None, "note": "b"}],
        )
    with scratch_tables.connect() as conn:
        stored = conn.execute(text("SELECT phone FROM kit_crypto_test_secret ORDER BY id")).all()
        assert stored[1][0] is None
        assert "13812345678" not in stored[0][0]
        assert key_id(stored[0][0]) == "k1"
        assert conn.scalars(select(secret_table.c.phone).order_by(secret_table.c.id)).all() == [
            "13812345678",
            None,
        ]


def test_rotate_rewraps_every_value_in_batches_and_then_finds_nothing(
    keyring, scratch_tables, session_factory: sessionmaker[Session]
):
    phones = {i: f"1381234{i:04d}" for i in range(1, 12)}
    ids = {("110", i): f"11010519491231{i:03d}X" for i in range(1, 6)}
    with scratch_tables.begin() as conn:
        conn.execute(insert(secret_table), [{"id": i, "phone": p} for i, p in phones.items()])
        conn.execute(insert(secret_table), [{"id": 20, "phone": None}])
        conn.execute(
            insert(pair_table),
            [{"region": r, "serial": s, "resident_id": v} for (r, s), v in ids.items()],
        )
    rotated = keyring.add_key()  # k2 becomes active
    crypto.configure(rotated)
    with scratch_tables.begin() as conn:  # written after the switch: already under k2
        conn.execute(insert(secret_table), [{"id": 30, "phone": "13900000000"}])
        conn.execute(insert(pair_table), [{"region": "310", "serial": 1, "resident_id": "31X"}])

    report = rotate(session_factory, batch_size=3, columns=_test_columns())

    by_name = {f"{c.table}.{c.column}": c for c in report.columns}
    phone, resident = (
        by_name["kit_crypto_test_secret.phone"],
        by_name["kit_crypto_test_pair.resident_id"],
    )
    assert (phone.rewrapped, phone.skipped, phone.changed_concurrently, phone.failed) == (
        11,
        1,
        0,
        0,
    )
    assert (resident.rewrapped, resident.skipped) == (5, 1)
    assert report.active_key_id == "k2"
    assert report.rewrapped == 16
    assert not report.complete
    for table, name in ((secret_table, "phone"), (pair_table, "resident_id")):
        assert {key_id(t) for t in _raw_tokens(scratch_tables, table, name) if t} == {"k2"}

    crypto.configure(rotated.retire("k1"))  # the old key is no longer needed to read anything
    with scratch_tables.connect() as conn:
        read = dict(conn.execute(select(secret_table.c.id, secret_table.c.phone)).all())
        pairs = conn.execute(select(pair_table)).all()
    assert read == {**phones, 20: None, 30: "13900000000"}
    assert {(r, s): v for r, s, v in pairs} == {**ids, ("310", 1): "31X"}

    again = rotate(session_factory, batch_size=3, columns=_test_columns())
    assert again.complete
    assert [(c.rewrapped, c.skipped) for c in again.columns] == [(0, 12), (0, 6)]


def test_rotate_reports_rows_it_cannot_rewrap_and_goes_on(
    keyring, scratch_tables, session_factory: sessionmaker[Session]
):
    with scratch_tables.begin() as conn:
        conn.execute(insert(secret_table), [{"id": 1, "phone": "13812345678"}])
        conn.execute(text("INSERT INTO kit_crypto_test_secret (id, phone) VALUES (2, 'garbage')"))
        conn.execute(insert(secret_table), [{"id": 3, "phone": "13812345679"}])
    crypto.configure(keyring.add_key())
    with capture_logs() as logs:
        report = rotate(
            session_factory,
            batch_size=2,
            columns=[c for c in _test_columns() if c.table is secret_table],
        )
    assert (report.columns[0].rewrapped, report.columns[0].failed) == (2, 1)
    assert report.failed == 1
    failures = [e for e in logs if e["event"] == "key_rotation_failed"]
    assert [(e["primary_key"], e["error"]) for e in failures] == [(["2"], "MalformedToken")]
    assert [
        key_id(t) for t in _raw_tokens(scratch_tables, secret_table, "phone") if t != "garbage"
    ] == [
        "k2",
        "k2",
    ]
