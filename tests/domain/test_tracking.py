from __future__ import annotations

import pytest

from app.domain.tracking import tracking_url


@pytest.mark.parametrize(
    ("carrier", "prefix"),
    [
        ("Royal Mail Special Delivery", "https://www.royalmail.com/"),
        ("royal mail", "https://www.royalmail.com/"),
        ("DHL Express", "https://www.dhl.com/"),
        ("UPS", "https://www.ups.com/"),
        ("FedEx International Priority", "https://www.fedex.com/"),
        ("Parcelforce Worldwide", "https://www.parcelforce.com/"),
    ],
)
def test_known_carriers_link_to_their_tracker(carrier, prefix):
    url = tracking_url(carrier=carrier, tracking_number=" RM123456789GB ")
    assert url is not None and url.startswith(prefix) and url.endswith("RM123456789GB")


def test_unknown_carriers_and_blank_numbers_have_no_link():
    assert tracking_url(carrier="Hand delivered by Mira", tracking_number="42") is None
    assert tracking_url(carrier="Groups Couriers", tracking_number="42") is None  # not "UPS"
    assert tracking_url(carrier="DHL", tracking_number="  ") is None


def test_the_number_is_encoded_as_one_value():
    url = tracking_url(carrier="UPS", tracking_number="1Z 999/AA#1&x=<y>")
    assert url == "https://www.ups.com/track?tracknum=1Z%20999%2FAA%231%26x%3D%3Cy%3E"
