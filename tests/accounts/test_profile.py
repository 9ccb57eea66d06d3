"""A customer changes their name, email address (through a link sent to the new one) and
password (other sign-ins end)."""

from __future__ import annotations

import re

import pytest

from app.common.mail import read_outbox
from tests.helpers import csrf_token, login, make_user

PASSWORD = "correct horse battery"
CONFIRM_LINK = re.compile(r"http://diadem\.test(/account/email/confirm/\S+)")


@pytest.fixture
def bea(app, client):
    make_user(app)  # buyer@example.com, "Bea Buyer"
    assert login(client).status_code == 302
    return client


def _post(client, path: str, **data):
    data["csrf_token"] = csrf_token(client, "/account/settings")
    if path.endswith("/email"):  # the email form's fields are prefixed (unique ids on the page)
        data = {f"change-email-{name}": value for name, value in data.items()}
    return client.post(path, data=data)


def _text(response) -> str:
    return response.get_data(as_text=True)


def _mail(app) -> list:
    return read_outbox(app.config["MAIL_OUTBOX_DIR"])


def _plain(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_guests_are_sent_to_sign_in(client):
    assert client.get("/account/settings").status_code == 302
    assert client.post("/account/settings/name", data={"name": "X"}).status_code in (302, 400)


def test_a_customer_changes_their_name(bea):
    assert "Change your name, email or password" in _text(bea.get("/account"))
    refused = _post(bea, "/account/settings/name", name="  ")
    assert refused.status_code == 400 and "Enter your name." in _text(refused)
    assert _post(bea, "/account/settings/name", name="Beatrice Buyer").status_code == 303
    assert "Beatrice Buyer" in _text(bea.get("/account"))


def test_a_new_address_takes_effect_only_through_the_link_sent_to_it(app, bea):
    wrong = _post(bea, "/account/settings/email", email="bea@new.example", password="nope")
    assert wrong.status_code == 400 and "not your current password" in _text(wrong)
    same = _post(bea, "/account/settings/email", email="Buyer@Example.com", password=PASSWORD)
    assert same.status_code == 400 and "already your account" in _text(same)
    asked = _post(bea, "/account/settings/email", email="Bea@New.example", password=PASSWORD)
    assert asked.status_code == 303
    [message] = _mail(app)
    assert message["To"] == "bea@new.example"
    assert CONFIRM_LINK.search(message.get_body(("html",)).get_content())
    link = CONFIRM_LINK.search(_plain(message))[1]
    assert "buyer@example.com" in _text(bea.get("/account"))  # nothing changed yet

    page = bea.get(link)  # a mail scanner opening the link changes nothing
    assert page.status_code == 200 and "bea@new.example" in _text(page)
    assert "buyer@example.com" in _text(bea.get("/account"))
    done = bea.post(link, data={"csrf_token": csrf_token(bea, link)})
    assert done.status_code == 303
    assert "bea@new.example" in _text(bea.get("/account"))
    notice = _mail(app)[-1]
    assert notice["To"] == "buyer@example.com" and "bea@new.example" in _plain(notice)
    assert bea.get(link).status_code == 400  # used up

    bea.post("/account/logout", data={"csrf_token": csrf_token(bea, "/account")})
    assert login(bea, "bea@new.example").status_code == 302


def test_a_taken_address_gets_the_same_answer_and_a_note_not_a_link(app, bea):
    make_user(app, email="ada@example.com", name="Ada")
    answers = []
    for address in ("nobody@example.com", "ada@example.com"):
        response = _post(bea, "/account/settings/email", email=address, password=PASSWORD)
        assert response.status_code == 303
        page = _text(bea.get(response.location)).replace(address, "ADDRESS")
        answers.append(re.search(r"We have emailed ADDRESS a link[^<]*", page)[0])
    assert answers[0] == answers[1]
    note = _mail(app)[-1]
    assert note["To"] == "ada@example.com" and not CONFIRM_LINK.search(_plain(note))


def test_a_link_stops_working_when_the_password_changes(app, bea):
    _post(bea, "/account/settings/email", email="bea@new.example", password=PASSWORD)
    link = CONFIRM_LINK.search(_plain(_mail(app)[0]))[1]
    _post(
        bea,
        "/account/settings/password",
        current_password=PASSWORD,
        password="a brand new password",
        confirm="a brand new password",
    )
    assert bea.get(link).status_code == 400
    assert bea.get(link[:-4] + "abcd").status_code == 400


def test_a_new_password_needs_the_current_one_and_signs_out_other_devices(app, bea):
    phone = app.test_client()
    assert login(phone).status_code == 302
    assert phone.get("/account").status_code == 200

    wrong = _post(
        bea,
        "/account/settings/password",
        current_password="not it at all",
        password="a brand new password",
        confirm="a brand new password",
    )
    assert wrong.status_code == 400 and "not your current password" in _text(wrong)
    short = _post(
        bea, "/account/settings/password", current_password=PASSWORD, password="x", confirm="x"
    )
    assert short.status_code == 400 and "Use 10 to 128 characters." in _text(short)

    changed = _post(
        bea,
        "/account/settings/password",
        current_password=PASSWORD,
        password="a brand new password",
        confirm="a brand new password",
    )
    assert changed.status_code == 303
    assert "1 other sign-in ended" in _text(bea.get(changed.location))
    assert bea.get("/account").status_code == 200  # this device stays signed in
    assert phone.get("/account").status_code == 302  # the other one is signed out
    assert _mail(app)[-1]["Subject"] == "Your Diadem password was changed"
    assert login(phone).status_code == 400  # the old password no longer works
    assert login(phone, password="a brand new password").status_code == 302
