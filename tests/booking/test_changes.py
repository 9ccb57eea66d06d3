"""The customer changes fit notes after booking and cancels in two steps, until the cut-off."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal
from html import unescape

import pytest

from app.accounts.artisans import ArtisanProfile
from app.accounts.models import User
from app.booking import forms, services
from app.booking.models import Consultation, ConsultationNote
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.extensions import db
from tests.booking.artisans import make_artisan
from tests.booking.builders import NOW, TUESDAY_1115, book

# The guest's booking made and confirmed through the pages, as test_views makes it.
from tests.booking.test_views import booked_guest, guest, held_guest  # noqa: F401
from tests.helpers import csrf_token, login, make_user

FIT = {
    "circumference": "56.5",
    "circumference_unit": "cm",
    "hairstyle": "braids",
    "veil": "veil",
    "metal": "",
    "stone_preferences": "Pearls",
    "allergies": "Nickel",
    "budget": "5k-10k",
    "notes": "A low braided crown",
}


MAIL_LINK = re.compile(r"https?://[^/\s]+(/[^\s\"<>]+)")


def _status(app, consultation_id: int) -> str:
    with app.app_context():
        return db.session.get(Consultation, consultation_id).status


# --------------------------------------------------------------------------------- services


def test_changing_fit_notes_keeps_when_and_what_for_staff(studio):
    consultation = book()
    later = NOW.replace(minute=30)  # the consultation is Tuesday 10:00, the cut-off 24 h
    fit = services.fit_notes_of(consultation)
    with atomic():
        changes = services.update_fit_notes(
            consultation_id=consultation.id,
            fit=replace(fit, hairstyle="updo", notes=" Low bun "),
            now=later,
        )
    assert changes == ["Hairstyle: (blank) → Updo / bun", "Notes: (blank) → Low bun"]
    assert consultation.hairstyle == "updo" and consultation.notes == "Low bun"
    [note] = consultation.staff_notes
    assert note.from_customer and note.author_id is None
    assert note.body.splitlines()[1:] == changes
    assert consultation.fit_notes_changed_at == later
    # The same notes again change nothing and leave no note.
    with atomic():
        again = services.update_fit_notes(
            consultation_id=consultation.id, fit=services.fit_notes_of(consultation), now=later
        )
    assert again == [] and len(consultation.staff_notes) == 1


def test_fit_notes_close_at_the_same_cut_off_as_cancelling(studio):
    consultation = book()
    services.get_settings().change_cutoff_hours = 48  # the consultation is 25 hours away
    db.session.commit()
    with pytest.raises(services.ChangesClosed, match="close 48 hours before"), atomic():
        services.update_fit_notes(
            consultation_id=consultation.id, fit=services.FitNotes(notes="late"), now=NOW
        )
    assert (
        consultation.notes == "" and db.session.execute(db.select(ConsultationNote)).first() is None
    )


def test_a_stored_measurement_comes_back_to_the_form_as_the_same_millimetres():
    for mm in range(450, 701):
        for unit in ("cm", "in"):
            assert forms.circumference_to_mm(forms.measurement_for_form(mm, unit), unit) == mm
    assert forms.measurement_for_form(561, "in") == Decimal("22.1")


# ------------------------------------------------------------------------------------ pages


def test_a_guest_changes_fit_notes_by_the_signed_link(app, guest, booked_guest):  # noqa: F811
    response, consultation_id = booked_guest
    manage = response.headers["Location"]
    page = guest.get(manage).get_data(as_text=True)
    assert re.search(r'href="/consultations/manage/[^"/]+/fit-notes">Change my fit notes', page)
    form = guest.get(manage + "/fit-notes").get_data(as_text=True)
    assert 'value="56.5"' in form and '<option selected value="updo">' in form
    token = csrf_token(guest, manage + "/fit-notes")
    saved = guest.post(manage + "/fit-notes", data={**FIT, "csrf_token": token})
    assert saved.status_code == 302 and saved.headers["Location"] == manage
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert (consultation.hairstyle, consultation.notes) == ("braids", "A low braided crown")
    assert "You last changed these on" in guest.get(manage).get_data(as_text=True)

    make_user(app, email="maker@example.com", role="staff", name="Mira Maker")
    login(guest, email="maker@example.com")
    staff = unescape(guest.get(f"/staff/consultations/{consultation_id}").get_data(as_text=True))
    assert "Braids" in staff and "A low braided crown" in staff
    assert "Changed by the customer on" in staff
    assert "Hairstyle: Updo / bun → Braids" in staff and "The customer, " in staff


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"circumference": "22"}, "22 cm is far too small for a head. Did you mean inches?"),
        ({"circumference": "abc"}, "Enter the measurement as a number, e.g. 56.5."),
        ({"notes": "x" * 2001}, "Keep your notes under 2000 characters."),
        ({"metal": "unobtainium"}, "Not a valid choice."),
    ],
)
def test_fit_notes_are_checked_as_at_booking(app, guest, booked_guest, changes, message):  # noqa: F811
    response, consultation_id = booked_guest
    path = response.headers["Location"] + "/fit-notes"
    data = {**FIT, **changes, "csrf_token": csrf_token(guest, path)}
    refused = guest.post(path, data=data)
    assert refused.status_code == 400
    assert message in unescape(refused.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(Consultation, consultation_id).hairstyle == "updo"


def test_only_the_signed_link_with_a_form_token_changes_anything(app, guest, booked_guest):  # noqa: F811
    response, consultation_id = booked_guest
    manage = response.headers["Location"]
    token = csrf_token(guest, manage)
    forged = manage + "x"  # the signature no longer matches
    for path in (forged + "/fit-notes", forged + "/cancel", "/consultations/manage/x/cancel"):
        assert guest.get(path).status_code == 404
        assert guest.post(path, data={**FIT, "csrf_token": token}).status_code == 404
    # Without the CSRF token nothing is saved or cancelled.
    assert guest.post(manage + "/fit-notes", data=FIT).status_code == 400
    assert guest.post(manage + "/cancel").status_code == 400
    assert _status(app, consultation_id) == "booked"


def test_cancelling_is_a_page_then_a_button_and_no_link_cancels(app, guest, booked_guest):  # noqa: F811
    response, consultation_id = booked_guest
    manage = response.headers["Location"]
    assert 'data-confirm="' not in guest.get(manage).get_data(as_text=True)
    page = unescape(guest.get(manage + "/cancel").get_data(as_text=True))
    assert "Cancel your consultation?" in page and "gives this time back" in page
    assert re.search(r"<dt>When</dt>\s*<dd><strong>\w+day, ", page)
    assert f'<form method="post" action="{manage}/cancel"' in page
    # Every link in every email the guest was sent, followed, leaves the booking as it was.
    mails = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    booked = next(m for m in mails if "is booked" in m["Subject"])
    assert (
        "To change your fit notes, reschedule or cancel"
        in booked.get_body(("plain",)).get_content()
    )
    for message in mails:
        for link in MAIL_LINK.findall(message.get_body(("plain",)).get_content()):
            assert guest.get(link).status_code < 500
    assert _status(app, consultation_id) == "booked"
    cancelled = guest.post(manage + "/cancel", data={"csrf_token": csrf_token(guest, manage)})
    assert cancelled.status_code == 302 and cancelled.headers["Location"] == manage
    assert _status(app, consultation_id) == "cancelled"
    again = unescape(guest.get(manage + "/cancel").get_data(as_text=True))
    assert "This consultation is already cancelled." in again and "Yes, cancel" not in again


def test_after_the_cut_off_the_pages_say_why_and_offer_contact(app, guest, booked_guest):  # noqa: F811
    response, consultation_id = booked_guest
    manage = response.headers["Location"]
    token = csrf_token(guest, manage)
    with app.app_context():
        services.get_settings().change_cutoff_hours = 336
        db.session.commit()
    for path in (manage + "/fit-notes", manage + "/cancel"):
        page = unescape(guest.get(path).get_data(as_text=True))
        assert "Online changes close 336 hours before the consultation." in page
        assert 'href="mailto:' in page and 'href="/contact"' in page
        assert "<form" not in page.split("<main", 1)[1]
        refused = guest.post(path, data={**FIT, "csrf_token": token})
        assert refused.status_code == 400
        assert "Online changes close 336 hours before" in unescape(refused.get_data(as_text=True))
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        assert (consultation.status, consultation.hairstyle) == ("booked", "updo")
    assert "Change my fit notes" not in guest.get(manage).get_data(as_text=True)


def test_a_signed_in_customers_page_offers_the_same_changes(app, client):
    from tests.booking.test_views import post, valid_data

    make_user(app, email="alice@example.com")
    login(client, email="alice@example.com")
    assert post(client, valid_data(client)).status_code == 302
    with app.app_context():
        consultation_id = db.session.execute(db.select(Consultation.id)).scalar_one()
    page = client.get(f"/consultations/{consultation_id}").get_data(as_text=True)
    edit = re.search(r'href="(/consultations/manage/[^"/]+)/fit-notes"', page).group(1)
    assert f'href="{edit}/cancel"' in page
    assert client.get(edit + "/fit-notes").status_code == 200


def test_changed_fit_notes_reach_the_artisan_who_holds_the_consultation(app, studio):
    """The paired artisan hears what changed (the atelier's inbox when nobody is paired), with
    the staff page's link and never the customer's signed manage link; no change, no email."""
    unpaired = book(TUESDAY_1115, email="b@example.com")  # booked before any artisan was
    artisan_id = make_artisan("Mira")
    consultation = book(artisan_id=artisan_id)
    before = len(read_outbox(app.config["MAIL_OUTBOX_DIR"]))
    later = NOW.replace(minute=30)
    for booked in (consultation, unpaired):
        with atomic():
            services.update_fit_notes(
                consultation_id=booked.id,
                fit=replace(services.fit_notes_of(booked), hairstyle="updo"),
                now=later,
            )
    with atomic():  # the same notes again: nothing changed, nobody is told
        services.update_fit_notes(
            consultation_id=consultation.id, fit=services.fit_notes_of(consultation), now=later
        )
    to_artisan, to_atelier = read_outbox(app.config["MAIL_OUTBOX_DIR"])[before:]
    mira = db.session.get_one(ArtisanProfile, artisan_id)
    assert to_artisan["To"] == db.session.get_one(User, mira.user_id).email
    assert to_atelier["To"] == "atelier@diadem.test"
    body = to_artisan.get_body(("plain",)).get_content()
    assert "Hairstyle: (blank) → Updo / bun" in body
    assert f"/staff/consultations/{consultation.id}" in body
    assert "/consultations/manage/" not in body and consultation.reference in to_artisan["Subject"]
