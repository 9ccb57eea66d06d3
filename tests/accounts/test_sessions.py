"""Signing out and changing the password end sign-ins on the server, copied cookies included."""

from __future__ import annotations

import pytest
from flask.sessions import SecureCookieSessionInterface

from app.accounts import services
from app.common.transactions import atomic
from tests.helpers import csrf_token, login, make_user

COOKIES = ("session", "remember_token")


def sign_in(client, *, remember: bool = False):
    token = csrf_token(client, "/account/login")
    data = {"email": "buyer@example.com", "password": "correct horse battery", "csrf_token": token}
    if remember:
        data["remember"] = "y"
    assert client.post("/account/login", data=data).status_code == 302


def copy_cookies(source, target, names=COOKIES) -> None:
    for name in names:
        cookie = source.get_cookie(name, domain="diadem.test")
        if cookie is not None:
            target.set_cookie(name, cookie.value, domain="diadem.test")


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def sign_out(client) -> None:
    token = csrf_token(client, "/account")
    assert client.post("/account/logout", data={"csrf_token": token}).status_code == 302


def test_a_copied_session_cookie_is_dead_after_logout(app, client):
    make_user(app)
    sign_in(client)
    thief = app.test_client()
    copy_cookies(client, thief, names=("session",))
    assert signed_in(thief)
    sign_out(client)
    assert not signed_in(client)
    assert not signed_in(thief)


def test_a_copied_remember_me_cookie_is_dead_after_logout(app, client):
    make_user(app)
    sign_in(client, remember=True)
    thief = app.test_client()
    copy_cookies(client, thief, names=("remember_token",))
    assert signed_in(thief)  # the remember-me cookie alone signs in...
    sign_out(client)
    fresh = app.test_client()
    copy_cookies(client, fresh)  # ...including what logout left behind
    assert not signed_in(thief) and not signed_in(fresh)


def test_logout_ends_only_that_device(app, client):
    make_user(app)
    sign_in(client)
    phone = app.test_client()
    sign_in(phone)
    sign_out(client)
    assert signed_in(phone)


def test_a_password_reset_signs_out_every_device(app, client):
    user_id = make_user(app)
    sign_in(client, remember=True)
    laptop = app.test_client()
    copy_cookies(client, laptop, names=("remember_token",))
    with app.app_context(), atomic():
        services.reset_password(user_id=user_id, password="a brand new secret")
    assert not signed_in(client) and not signed_in(laptop)
    assert login(client, password="a brand new secret").status_code == 302
    assert signed_in(client)


def test_making_an_existing_login_staff_signs_it_out(app, client):
    make_user(app)
    sign_in(client)
    with app.app_context(), atomic():
        services.ensure_staff(email="buyer@example.com", password="another long secret")
    assert not signed_in(client)


@pytest.mark.parametrize(
    "forged", ["1", "1:", ":abc", "99999999999999999999999:abc", "1:" + "x" * 500, "\x00:1"]
)
def test_a_forged_login_id_is_nobody(app, client, forged):
    make_user(app)
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    client.set_cookie(
        "session", serializer.dumps({"_user_id": forged, "_fresh": True}), domain="diadem.test"
    )
    assert client.get("/account").status_code == 302  # to the login page, never a 500


def test_an_unknown_address_costs_the_same_hashing(app, monkeypatch):
    make_user(app)
    calls: list[str] = []
    real = services.check_password_hash

    def counting(hash_: str, password: str) -> bool:
        calls.append(password)
        return real(hash_, password)

    monkeypatch.setattr(services, "check_password_hash", counting)
    monkeypatch.setattr("app.accounts.models.check_password_hash", counting)
    with app.app_context():
        assert services.authenticate(email="nobody@example.com", password="guess one") is None
        assert services.authenticate(email="buyer@example.com", password="guess two") is None
    assert calls == ["guess one", "guess two"]


def _open_login_id(app, email: str) -> str:
    from app.accounts import sessions
    from app.accounts.models import User
    from app.extensions import db

    user_id = make_user(app, email=email)
    with app.app_context(), atomic():
        user = db.session.get(User, user_id)
        sessions.start_session(user)
        return user.get_id()


def test_the_signed_in_user_is_loaded_into_the_requests_session(app):
    # Read outside the request's transaction, then put into its session as the ORM loads rows:
    # unchanged until a view changes it, and a change is saved with the view's transaction.
    from app.accounts import sessions
    from app.accounts.models import User
    from app.extensions import db

    login_id = _open_login_id(app, "loaded@example.com")
    with app.test_request_context():
        user = sessions.user_for_session(login_id)
        assert user in db.session and not db.session.dirty
        assert user.email == "loaded@example.com" and user.session_key
        assert db.session.get(User, user.id) is user
        user_id = user.id
        with atomic():
            user.name = "Renamed"
    with app.app_context():
        assert db.session.execute(db.select(User.name).filter_by(id=user_id)).scalar() == (
            "Renamed"
        )


def test_a_user_already_in_the_session_is_the_one_returned(app):
    from app.accounts import sessions
    from app.accounts.models import User
    from app.extensions import db

    login_id = _open_login_id(app, "known@example.com")
    with app.test_request_context():
        known = db.session.get(User, int(login_id.partition(":")[0]))
        known.name = "Edited in this request"
        assert sessions.user_for_session(login_id) is known
        assert known.name == "Edited in this request"
