from __future__ import annotations

import re

from app.common.mail import read_outbox
from tests.helpers import csrf_token, login, make_user

REGISTRATION = {
    "name": "Ada",
    "email": "Ada@Example.com",
    "password": "a long password",
    "confirm": "a long password",
}
LINK_RE = r"http://diadem\.test(/account/{}/\S+)"


def register(client, **fields):
    """Post the registration form (fields override REGISTRATION's) and return the response."""
    data = {**REGISTRATION, **fields, "csrf_token": csrf_token(client, "/account/register")}
    return client.post("/account/register", data=data)


def mail_link(message, kind: str) -> str:
    """The path of the first /account/<kind>/... link in a message's text part."""
    body = message.get_body(preferencelist=("plain",)).get_content()
    return re.search(LINK_RE.format(kind), body).group(1)


def confirm(client, link: str, password: str = REGISTRATION["password"]):
    """Open the emailed confirmation link, give the password chosen and press its button."""
    return client.post(link, data={"csrf_token": csrf_token(client, link), "password": password})


def test_register_confirm_by_email_login_logout_and_account_page(client, app):
    response = register(client)
    assert response.status_code == 302 and response.location.endswith("/account/register/sent")
    assert "Check your inbox" in client.get(response.location).get_data(as_text=True)
    assert client.get("/account").status_code == 302  # registering alone signs nobody in
    [message] = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    assert message["To"] == "ada@example.com"
    link = mail_link(message, "confirm")

    page = client.get(link)  # what a mail scanner does: nothing is used up
    assert page.status_code == 200 and "Confirm and sign in" in page.get_data(as_text=True)
    assert confirm(client, link).status_code == 302
    page = client.get("/account")
    assert page.status_code == 200 and "ada@example.com" in page.get_data(as_text=True)
    token = csrf_token(client, "/account")
    assert client.post("/account/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/account").status_code == 302  # back to login
    # The link is single-use: once confirmed it signs nobody in again.
    again = client.get(link)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)
    assert login(client, "ada@example.com", "a long password").status_code == 302


def test_registration_keeps_next_and_refuses_open_redirects(client, app):
    token = csrf_token(client, "/account/register")
    client.post(
        "/account/register?next=/account/repairs", data={**REGISTRATION, "csrf_token": token}
    )
    client.post(
        "/account/register?next=//evil.example/x",
        data={**REGISTRATION, "email": "eve@example.com", "csrf_token": token},
    )
    ada, eve = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    assert confirm(client, mail_link(ada, "confirm")).location.endswith("/account/repairs")
    other = app.test_client()
    assert "evil.example" not in confirm(other, mail_link(eve, "confirm")).location


def test_unconfirmed_accounts_cannot_sign_in_and_a_new_registration_replaces_the_link(client, app):
    register(client, password="first password", confirm="first password")
    response = login(client, "ada@example.com", "first password")
    assert response.status_code == 400
    assert "Confirm your address first" in response.get_data(as_text=True)
    assert client.get("/account").status_code == 302
    # A wrong password says nothing about the account.
    response = login(client, "ada@example.com", "wrong password!")
    assert "do not match" in response.get_data(as_text=True)
    first, resent = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    # The same link again: the same signed value (its timestamp may fall in the next second).
    assert (
        mail_link(first, "confirm").rsplit(".", 2)[0]
        == mail_link(resent, "confirm").rsplit(".", 2)[0]
    )

    # Registering again before confirming: the newer password wins, earlier links die.
    register(client, password="second password", confirm="second password")
    newest = read_outbox(app.config["MAIL_OUTBOX_DIR"])[-1]
    stale = client.get(mail_link(first, "confirm"))
    assert stale.status_code == 400 and "replaced by a newer one" in stale.get_data(as_text=True)
    assert confirm(client, mail_link(newest, "confirm"), "second password").status_code == 302
    token = csrf_token(client, "/account")
    client.post("/account/logout", data={"csrf_token": token})
    assert login(client, "ada@example.com", "first password").status_code == 400
    assert login(client, "ada@example.com", "second password").status_code == 302


def test_tampered_or_expired_confirmation_link(client, app, monkeypatch):
    from app.accounts import services

    register(client)
    link = mail_link(read_outbox(app.config["MAIL_OUTBOX_DIR"])[0], "confirm")
    bad = client.get(link + "x")
    assert bad.status_code == 400 and "not valid" in bad.get_data(as_text=True)
    monkeypatch.setattr(services, "CONFIRM_MAX_AGE", -1)
    expired = client.get(link)
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)


def test_register_rejects_bad_input(client, app):
    make_user(app, email="taken@example.com")
    token = csrf_token(client, "/account/register")
    response = client.post(
        "/account/register",
        data={
            "name": "x" * 500,
            "email": "not-an-email",
            "password": "short",
            "confirm": "other",
            "csrf_token": token,
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Invalid email address" in html and "Use 10 to 128 characters." in html
    assert "Passwords differ." in html
    assert read_outbox(app.config["MAIL_OUTBOX_DIR"]) == []


def _answer(response) -> tuple[int, str | None, str, list[str]]:
    """What a visitor can see of a response: status, redirect, page (without its CSRF token,
    random per session) and the names of the cookies it sets."""
    body = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", response.get_data(as_text=True))
    cookies = sorted(c.split("=", 1)[0] for c in response.headers.getlist("Set-Cookie"))
    return response.status_code, response.location, body, cookies


def _visit(client, email: str) -> tuple:
    """Register with ``email`` from a fresh browser; return everything it could observe."""
    first = register(client, email=email)
    with client.session_transaction() as session:
        flashes = session.get("_flashes", [])
    landing = client.get(first.location) if first.location else None
    account = client.get("/account")
    return _answer(first), landing and _answer(landing), flashes, _answer(account)


def test_registration_does_not_tell_a_taken_address_from_a_new_one(app):
    from app.accounts.models import User
    from app.extensions import db

    make_user(app, email="taken@example.com", name="Tess Taken")
    taken = _visit(app.test_client(), "Taken@Example.com")
    new = _visit(app.test_client(), "new@example.com")
    assert taken == new
    assert new[3][0] == 302  # neither visitor is signed in

    owner, newcomer = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    assert owner["To"] == "taken@example.com" and newcomer["To"] == "new@example.com"
    assert "tried to register" in owner["Subject"]
    reset = mail_link(owner, "password/reset")  # built on PUBLIC_BASE_URL, never the Host
    assert "/account/login" in owner.get_body(preferencelist=("plain",)).get_content()
    with app.app_context():
        users = db.session.execute(db.select(User).where(User.email == "taken@example.com"))
        [user] = users.scalars()
        assert user.name == "Tess Taken" and user.check_password("correct horse battery")
    # The owner's reset link works; the attempt changed nothing of theirs.
    client = app.test_client()
    assert login(client, "taken@example.com", "correct horse battery").status_code == 302
    page = app.test_client().get(reset)
    assert page.status_code == 200 and "New password" in page.get_data(as_text=True)


def test_forms_need_csrf(client, app):
    make_user(app)
    response = client.post(
        "/account/login", data={"email": "buyer@example.com", "password": "correct horse battery"}
    )
    assert response.status_code == 400
    assert client.get("/account").status_code == 302


def test_wrong_password_is_refused(client, app):
    make_user(app)
    response = login(client, password="wrong password!")
    assert response.status_code == 400
    assert "do not match" in response.get_data(as_text=True)


def test_login_refuses_open_redirect(client, app):
    make_user(app)
    token = csrf_token(client, "/account/login")
    response = client.post(
        "/account/login?next=//evil.example/x",
        data={
            "email": "buyer@example.com",
            "password": "correct horse battery",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_password_reset_by_signed_single_use_link(client, app):
    make_user(app)
    token = csrf_token(client, "/account/password/forgot")
    response = client.post(
        "/account/password/forgot", data={"email": "buyer@example.com", "csrf_token": token}
    )
    assert response.status_code == 302
    [message] = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    assert message["To"] == "buyer@example.com"
    body = message.get_body(preferencelist=("plain",)).get_content()
    link = re.search(r"http://diadem.test(/account/password/reset/\S+)", body).group(1)
    assert message.get_body(preferencelist=("html",)) is not None

    form_token = csrf_token(client, link)
    response = client.post(
        link,
        data={
            "password": "a brand new secret",
            "confirm": "a brand new secret",
            "csrf_token": form_token,
        },
    )
    assert response.status_code == 302
    assert login(client, password="a brand new secret").status_code == 302
    # the link was bound to the old password, so it cannot be used again
    again = client.get(link)
    assert again.status_code == 400 and "already been used" in again.get_data(as_text=True)


def test_forgot_password_does_not_reveal_accounts(client, app):
    token = csrf_token(client, "/account/password/forgot")
    response = client.post(
        "/account/password/forgot",
        data={"email": "nobody@example.com", "csrf_token": token},
        follow_redirects=True,
    )
    assert "If that address has an account" in response.get_data(as_text=True)
    assert read_outbox(app.config["MAIL_OUTBOX_DIR"]) == []


def test_tampered_or_expired_reset_token(client, app):
    from app.accounts import services

    make_user(app)
    with app.app_context():
        user = services.find_user_by_email("buyer@example.com")
        token = services.make_reset_token(user=user, secret_key=app.secret_key)
    bad = client.get(f"/account/password/reset/{token}x")
    assert bad.status_code == 400 and "not valid" in bad.get_data(as_text=True)
    app.config["PASSWORD_RESET_MAX_AGE"] = -1
    expired = client.get(f"/account/password/reset/{token}")
    assert expired.status_code == 400 and "expired" in expired.get_data(as_text=True)


def test_create_staff_cli(app, runner):
    name = ["--name", "Theo Setter"]
    result = runner.invoke(
        args=["create-staff", "Staff@Example.org", *name, "--password", "staff password 1"]
    )
    assert result.exit_code == 0, result.output
    assert "Created staff login staff@example.org" in result.output
    result = runner.invoke(args=["create-staff", "staff@example.org", *name, "--password", "short"])
    assert result.exit_code != 0 and "at least 10" in result.output
    for bad in ("not-an-email", "two@@example.com", "a@b"):
        result = runner.invoke(args=["create-staff", bad, *name, "--password", "staff password 1"])
        assert result.exit_code != 0 and "Invalid value for EMAIL" in result.output, bad
    result = runner.invoke(args=["create-staff", "x@example.com", "--password", "long enough 1"])
    assert result.exit_code != 0 and "--name" in result.output
    from app.accounts import services

    with app.app_context():
        user = services.authenticate(email="staff@example.org", password="staff password 1")
        assert user is not None and user.is_staff and not user.is_admin


def test_staff_without_a_name_never_show_their_address(app):
    from app.accounts.models import Role
    from app.accounts.services import register_user
    from app.qc.services import display_name

    with app.app_context():
        user = register_user(
            email="staff1@diadem.test", password="x" * 12, name=" ", role=Role.STAFF
        )
        assert "staff1" not in display_name(user)
        user.name = "Mira Goldsmith"
        assert display_name(user) == "Mira Goldsmith"


def test_a_taken_address_costs_the_same_hashing_at_registration(app, monkeypatch):
    from app.accounts import services
    from app.common.transactions import atomic

    make_user(app, email="taken@example.com")
    calls: list[str] = []
    real = services.generate_password_hash

    def counting(password: str, *args, **kwargs) -> str:
        calls.append(password)
        return real(password, *args, **kwargs)

    monkeypatch.setattr(services, "generate_password_hash", counting)
    with app.app_context():
        for email, password in (("taken@example.com", "guess one"), ("new@x.org", "guess two")):
            with atomic():
                services.request_registration(email=email, password=password, name="N")
    assert calls == ["guess one", "guess two"]


def test_someone_registering_anothers_address_cannot_have_the_owner_finish_it(client, app):
    """Pre-account takeover: the attacker picks the password, the owner clicks the link."""
    register(client, password="attackers password", confirm="attackers password")
    link = mail_link(read_outbox(app.config["MAIL_OUTBOX_DIR"])[0], "confirm")
    owner = app.test_client()
    response = confirm(owner, link, password="")  # the owner just presses the button
    assert response.status_code == 400
    response = confirm(owner, link, password="owners own password")
    assert response.status_code == 400
    assert "not the password chosen" in response.get_data(as_text=True)
    assert owner.get("/account").status_code == 302
    attacker = login(app.test_client(), "ada@example.com", "attackers password")
    assert attacker.status_code == 400  # still unconfirmed: nobody can use the account


def test_staff_land_on_their_dashboard_and_customers_on_their_account(app, client):
    from tests.helpers import make_user

    make_user(app, email="staffer@example.com", role="staff")
    make_user(app, email="buyer@example.com")
    assert login(client, "staffer@example.com").location.endswith("/staff")
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/account")})
    assert login(client, "buyer@example.com").location.endswith("/account")
