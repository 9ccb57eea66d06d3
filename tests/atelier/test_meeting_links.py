"""An artisan's video link: set on their profile (https only), never on the public page."""

from __future__ import annotations

from html import unescape

import pytest

from app.accounts.artisans import profile_of
from app.atelier import services
from app.common.transactions import atomic
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD

LINK = "https://meet.example.com/mira"


def _post(client, user_id: int, link: str):
    data = {
        "csrf_token": csrf_token(client, "/staff/atelier/"),
        "display_name": "Mira Goldsmith",
        "slug": "mira",
        "published": "y",
        "meeting_link": link,
    }
    return client.post(f"/staff/atelier/{user_id}", data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "http://meet.example.com/mira"])
def test_an_artisan_sets_an_https_link_that_stays_private(app, client, atelier, bad):
    login(client, "mira@example.org", PASSWORD)
    refused = _post(client, atelier.artisan_id, bad)
    assert refused.status_code == 400
    assert "Give the meeting link as a full https:// address" in unescape(
        refused.get_data(as_text=True)
    )
    with app.app_context():
        assert profile_of(atelier.artisan_id) is None
    assert _post(client, atelier.artisan_id, LINK).status_code == 302
    with app.app_context():
        assert profile_of(atelier.artisan_id).meeting_link == LINK
    assert f'value="{LINK}"' in client.get(f"/staff/atelier/{atelier.artisan_id}").get_data(
        as_text=True
    )
    for path in ("/atelier", "/atelier/mira"):
        page = client.get(path)
        assert page.status_code == 200 and LINK not in page.get_data(as_text=True)


def test_the_profile_service_refuses_a_link_that_is_not_https(app, atelier):
    data = services.ProfileInput(
        display_name="Mira", slug="mira", meeting_link="data:text/html,<b>hi</b>"
    )
    with app.app_context(), pytest.raises(services.ProfileError, match="https://"), atomic():
        services.save_profile(user_id=atelier.artisan_id, data=data)
