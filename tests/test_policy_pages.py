"""Privacy, terms of sale and contact pages exist, say what the shop does, and are linked from
every page's footer."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/policies/privacy", "never stored"),
        ("/policies/terms", "numbered edition"),
        ("/contact", "mailto:atelier@diadem.test"),
    ],
)
def test_each_page_is_linked_from_the_footer_and_says_its_piece(app, client, path, says):
    app.config["MAIL_DEFAULT_SENDER"] = "Diadem Atelier <atelier@diadem.test>"
    footer = client.get("/fit-guide").get_data(as_text=True).split('class="site-footer"')[1]
    assert f'href="{path}"' in footer
    response = client.get(path)
    assert response.status_code == 200
    assert says in response.get_data(as_text=True)


def test_the_contact_page_shows_the_studio_address_when_configured(app, client):
    app.config["STUDIO_ADDRESS"] = "14 Hatton Garden, London EC1N 8AT"
    assert "14 Hatton Garden" in client.get("/contact").get_data(as_text=True)
