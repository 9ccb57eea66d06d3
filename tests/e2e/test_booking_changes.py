"""A customer changes their fit notes, then cancels on a second page, in real Chromium."""

from __future__ import annotations

import re

from app.booking import services
from app.booking.models import Consultation
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db
from tests.booking.test_views import real_request
from tests.e2e.conftest import screenshot
from tests.helpers import make_user

MANAGE_PAGE = re.compile(r"/consultations/manage/[^/]+$")  # each page signs its own link


def _booked(app) -> tuple[int, str]:
    """A customer's consultation at the last offered time: well before the change cut-off."""
    user_id = make_user(app, email="nadia@example.com", name="Nadia Novak")
    with app.app_context():
        with atomic():
            slot = services.available_slots(now=utcnow())[-1]
            consultation = services.book_consultation(
                request=real_request(
                    slot.starts_at,
                    email="nadia@example.com",
                    fit=services.FitNotes(
                        head_circumference_mm=565, circumference_unit="cm", hairstyle="updo"
                    ),
                    accept_rush=True,
                ),
                user_id=user_id,
                now=utcnow(),
            )
        return consultation.id, services.manage_token(consultation)


def _status(app, consultation_id: int) -> str:
    with app.app_context():
        return db.session.get(Consultation, consultation_id).status


def _both_widths(page, name: str) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})
    screenshot(page, f"{name}-1280")


def test_a_customer_changes_fit_notes_and_cancels_after_confirming(app, live_server, browser):
    consultation_id, token = _booked(app)
    manage = f"{live_server}/consultations/manage/{token}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(manage)
        page.get_by_role("link", name="Change my fit notes").click()
        page.wait_for_url(re.compile(r"/fit-notes$"))
        assert page.get_by_label("Head circumference").input_value() == "56.5"
        # The booking form's checks: a size in the wrong unit is caught, nothing saved.
        page.get_by_label("Head circumference").fill("22")
        page.get_by_label("Hairstyle on the day").select_option("braids")
        page.get_by_label("Anything else we should know").fill("A low braided crown")
        page.get_by_role("button", name="Save my fit notes").click()
        page.locator(".error-summary").get_by_text("Did you mean inches?").wait_for()
        _both_widths(page, "booking-fit-notes-edit-error")
        page.get_by_label("Unit").select_option("in")
        page.get_by_role("button", name="Save my fit notes").click()
        page.wait_for_url(MANAGE_PAGE)
        notes = page.locator(".fit-notes").inner_text()
        assert "55.9 cm (22.0 in)" in notes and "Braids" in notes
        assert "A low braided crown" in notes
        assert "You last changed these on" in page.locator("main").inner_text()
        _both_widths(page, "booking-fit-notes-changed")

        page.get_by_role("link", name="Cancel this consultation…").click()
        page.wait_for_url(re.compile(r"/cancel$"))
        assert "Cancel your consultation?" in page.locator("h1").inner_text()
        assert _status(app, consultation_id) == "booked"  # the page alone cancels nothing
        _both_widths(page, "booking-cancel-confirm")
        page.get_by_role("button", name="Yes, cancel this consultation").click()
        page.wait_for_url(MANAGE_PAGE)
        assert "This consultation is cancelled." in page.locator("main").inner_text()
        assert _status(app, consultation_id) == "cancelled"
        assert dialogs == []  # the second step is a page, not a script's dialog
    finally:
        context.close()
