"""An artisan's public page links to the booking form with them chosen, while they take
consultations."""

from __future__ import annotations

from app.booking import services
from app.common.transactions import atomic
from tests.booking.artisans import make_artisan


def test_the_artisans_page_books_a_consultation_with_them(app, client):
    with app.app_context():
        mira = make_artisan("Mira")
    page = client.get("/atelier/mira").get_data(as_text=True)
    link = f'href="/consultations/new?artisan={mira}">Book a consultation with Mira</a>'
    assert link in page
    form = client.get(f"/consultations/new?artisan={mira}").get_data(as_text=True)
    assert f'<option selected value="{mira}">Mira</option>' in form
    with app.app_context(), atomic():
        services.update_artisan_calendar(
            artisan_id=mira, takes_consultations=False, own_hours=False, weekly_hours={}
        )
    assert "consultation with Mira" not in client.get("/atelier/mira").get_data(as_text=True)
