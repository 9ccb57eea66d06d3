"""Signed chains: someone who can write the database but lacks the key cannot rewrite history."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text

from app.catalog.models import Piece
from app.common.transactions import atomic
from app.domain import ledger
from app.extensions import db
from app.provenance import services, signing
from tests.provenance.test_services import drop_append_only_trigger


@pytest.fixture
def passport_code(app, atelier) -> str:
    """A piece passport of three signed entries."""
    with app.app_context():
        piece_id = db.session.execute(db.select(Piece.id).order_by(Piece.id).limit(1)).scalar_one()
        with atomic():
            passport = services.passport_for_piece(piece_id=piece_id)
        for summary in ("Set four diamonds", "Polished"):
            with atomic():
                services.append_entry(passport_id=passport.id, kind="step", summary=summary)
        return passport.code


def rewrite_entry_two(code: str, *, signatures: str) -> None:
    """Forge entry #2 and recompute the plain chain and head, as a DB writer without the key can.

    ``signatures``: "keep" the stored ones, "drop-tail" (NULL from #2 on) or "drop-all".
    """
    drop_append_only_trigger()
    passport = services.get_passport(code)
    rows = []
    previous = ledger.GENESIS_HASH
    for entry in services.entries_of(passport.id):
        body = services.entry_body(entry, code)
        if entry.seq == 2:
            body["summary"] = "Set four lab-grown diamonds"
        new_hash = ledger.entry_hash(previous, body)
        dropped = signatures == "drop-all" or (signatures == "drop-tail" and entry.seq >= 2)
        rows.append(
            {
                "id": entry.id,
                "s": body["summary"],
                "p": previous,
                "h": new_hash,
                "sig": None if dropped else entry.signature,
            }
        )
        previous = new_hash
    # Raw SQL, as the attacker would write it.
    for row in rows:
        db.session.execute(
            text(
                "UPDATE provenance_entries SET summary = :s, prev_hash = :p, hash = :h, "
                "signature = :sig WHERE id = :id"
            ),
            row,
        )
    db.session.execute(
        text("UPDATE passports SET head_hash = :h WHERE id = :id"),
        {"h": previous, "id": passport.id},
    )
    db.session.commit()
    db.session.expire_all()


@pytest.mark.parametrize("signatures", ["keep", "drop-tail"])
def test_recomputed_chain_is_broken_at_the_first_rewritten_entry(
    app, client, runner, passport_code, signatures
):
    with app.app_context():
        rewrite_entry_two(passport_code, signatures=signatures)
        # The plain hash chain alone now checks out: this is what signatures are for.
        passport = services.get_passport(passport_code)
        links = services._links(passport, services.entries_of(passport.id))
        assert ledger.verify_chain(links, expected_head=passport.head_hash).ok
        report = services.verify_passport(passport)
    assert report.status == "broken" and report.first_break.seq == 2
    assert {b.seq for b in report.breaks} >= {2, 3} and 1 not in {b.seq for b in report.breaks}

    result = runner.invoke(args=["verify-provenance"])
    assert result.exit_code == 1
    assert f"BROKEN  {passport_code}" in result.output
    assert "entry #2: signature" in result.output and "entry #1:" not in result.output

    html = client.get(f"/p/{passport_code}").get_data(as_text=True)
    assert "History verified" not in html
    assert 'data-chain="broken"' in html and "Entry #2: signature" in html


def test_stripping_every_signature_leaves_the_history_unverified(
    app, client, runner, passport_code
):
    with app.app_context():
        rewrite_entry_two(passport_code, signatures="drop-all")
    result = runner.invoke(args=["verify-provenance"])
    assert result.exit_code == 1
    assert f"UNSIGNED {passport_code}" in result.output and "#1, #2, #3" in result.output
    assert "1 unsigned." in result.output
    html = client.get(f"/p/{passport_code}").get_data(as_text=True)
    assert "History verified" not in html and 'data-chain="unsigned"' in html


def test_a_signature_by_another_key_is_broken(app, client, passport_code):
    stranger = Ed25519PrivateKey.generate()
    with app.app_context():
        passport = services.get_passport(passport_code)
        entry = services.entries_of(passport.id)[1]
        forged = base64.b64encode(stranger.sign(signing.message(entry.hash))).decode()
        drop_append_only_trigger()
        db.session.execute(
            text("UPDATE provenance_entries SET signature = :s WHERE id = :id"),
            {"s": forged, "id": entry.id},
        )
        db.session.commit()
        db.session.expire_all()
        report = services.verify_passport(services.get_passport(passport_code))
    assert [b.seq for b in report.breaks] == [2]
    assert "signature does not verify" in report.breaks[0].reason
    html = client.get(f"/p/{passport_code}").get_data(as_text=True)
    assert "History verified" not in html and "Entry #2: signature does not verify" in html


def test_published_key_verifies_a_genuine_chain(app, client, passport_code):
    response = client.get("/p/key.pem")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "public" in response.headers["Cache-Control"]
    public_key = serialization.load_pem_public_key(response.data)
    with app.app_context():
        passport = services.get_passport(passport_code)
        entries = services.entries_of(passport.id)
        assert services.verify_passport(passport).status == "ok"
        bodies = [services.entry_body(e, passport_code) for e in entries]
    previous = ledger.GENESIS_HASH
    for entry, body in zip(entries, bodies, strict=True):
        # What a third party does with nothing but the page's data and the published key.
        canonical = json.dumps(
            {"prev": previous, "body": body},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        assert hashlib.sha256(canonical).hexdigest() == entry.hash
        signed = b"diadem-provenance/v1 " + entry.hash.encode("ascii")
        public_key.verify(base64.b64decode(entry.signature), signed)  # raises if not
        previous = entry.hash
    # The key's route does not swallow passports, nor they it.
    assert client.get(f"/p/{passport_code}").status_code == 200
    page = client.get(f"/p/{passport_code}").get_data(as_text=True)
    assert "History verified" in page and "/p/key.pem" in page


def test_certificate_prints_the_head_signature(app, client, passport_code):
    with app.app_context():
        head = services.entries_of(services.get_passport(passport_code).id)[-1]
    html = client.get(f"/p/{passport_code}/certificate").get_data(as_text=True)
    assert head.signature[:16] in html and head.signature in html  # short, and in full
    assert "http://diadem.test/p/key.pem" in html


def test_keygen_writes_a_private_key_and_refuses_to_overwrite(runner, tmp_path):
    path = tmp_path / "keys" / "signing.pem"
    first = runner.invoke(args=["provenance-keygen", "--path", str(path)])
    assert first.exit_code == 0, first.output
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    original = path.read_bytes()
    public = signing.read_key(path).public_pem
    assert public in first.output and "PRIVATE" not in first.output

    again = runner.invoke(args=["provenance-keygen", "--path", str(path)])
    assert again.exit_code != 0 and "already exists" in again.output
    assert path.read_bytes() == original

    forced = runner.invoke(args=["provenance-keygen", "--path", str(path), "--force"])
    assert forced.exit_code == 0 and path.read_bytes() != original
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_keygen_defaults_to_the_apps_key_path(app, runner):
    runner.invoke(args=["provenance-keygen"])
    result = runner.invoke(args=["provenance-keygen"])
    assert result.exit_code != 0 and app.config["PROVENANCE_KEY_PATH"] in result.output


def test_key_named_by_the_environment_must_exist(app, tmp_path, monkeypatch):
    app.config["PROVENANCE_KEY_PATH"] = None
    monkeypatch.setenv(signing.KEY_ENV, str(tmp_path / "missing.pem"))
    with app.app_context(), pytest.raises(signing.SigningKeyError, match="does not exist"):
        signing.current_signer()
    assert not (tmp_path / "missing.pem").exists()
    signing.write_key(tmp_path / "missing.pem")
    with app.app_context():
        assert signing.current_signer().path == tmp_path / "missing.pem"


def test_first_use_creates_the_key_privately(app, tmp_path):
    path = tmp_path / "provenance.pem"
    assert not path.exists()
    with app.app_context():
        signer = signing.current_signer()
    assert signer.path == path and stat.S_IMODE(os.stat(path).st_mode) == 0o600
