"""Passwords are hashed with the configured method: scrypt wherever the shop really runs."""

from __future__ import annotations

from app.accounts.models import User
from app.config import from_environment


def test_a_real_deployment_hashes_passwords_with_scrypt(tmp_path, monkeypatch):
    monkeypatch.delenv("PASSWORD_HASH_METHOD", raising=False)
    assert from_environment(str(tmp_path))["PASSWORD_HASH_METHOD"] == "scrypt"


def test_new_passwords_use_the_configured_method_and_old_hashes_still_check(app):
    with app.app_context():
        user = User(email="a@example.org", name="A", role="customer")
        user.set_password("a long password")
        assert user.password_hash.startswith("pbkdf2:sha256:1000$")
        app.config["PASSWORD_HASH_METHOD"] = "scrypt"
        older = user.password_hash
        user.set_password("another long password")
        assert user.password_hash.startswith("scrypt:")
        assert user.check_password("another long password")
        user.password_hash = older
        assert user.check_password("a long password")
