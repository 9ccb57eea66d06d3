from __future__ import annotations

import re

from app.common.mail import read_outbox
from tests.helpers import csrf_token, login, make_user


def test_register_login_logout_and_account_page(client):
    token = csrf_token(client, "/account/register")
    response = client.post(
        "/account/register",
        data={
            "name": "Ada",
            "email": "Ada@Example.com",
            "password": "a long password",
            "confirm": "a long password",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302
    page = client.get("/account")
    assert page.status_code == 200 and "ada@example.com" in page.get_data(as_text=True)
    token = csrf_token(client, "/account")
    assert client.post("/account/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/account").status_code == 302  # back to login
    assert login(client, "ada@example.com", "a long password").status_code == 302


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
    response = client.post(
        "/account/register",
        data={
            "name": "Dup",
            "email": "taken@example.com",
            "password": "a long password",
            "confirm": "a long password",
            "csrf_token": token,
        },
    )
    assert response.status_code == 400
    assert "already exists" in response.get_data(as_text=True)


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
