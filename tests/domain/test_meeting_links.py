from __future__ import annotations

import pytest

from app.domain.meeting_links import MAX_LENGTH, InvalidMeetingLink, clean_meeting_link


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("https://meet.example.com/diadem", "https://meet.example.com/diadem"),
        ("  https://zoom.us/j/123?pwd=abc  ", "https://zoom.us/j/123?pwd=abc"),
        (
            "HTTPS://Teams.Microsoft.com/l/meetup-join/x",
            "HTTPS://Teams.Microsoft.com/l/meetup-join/x",
        ),
        ("https://meet.example.com:8443/room#start", "https://meet.example.com:8443/room#start"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_https_links_are_kept_and_blanks_are_none(text, stored):
    assert clean_meeting_link(text) == stored


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "JavaScript://meet.example.com/%0aalert(1)",
        "http://meet.example.com/diadem",
        "data:text/html,<b>hi</b>",
        "//meet.example.com/diadem",
        "meet.example.com/diadem",
        "https://",
        "https:///path",
        "https://localhost/room",
        "https://zoom.us@evil.example/j/1",  # the host is evil.example, not zoom.us
        "https://meet.example.com/a room",
        'https://meet.example.com/"><script>',
        "https://meet.example.com/\nBCC: x",
        "https://meet.example.com:port/",
        "https://meet.example.com/" + "x" * MAX_LENGTH,
    ],
)
def test_anything_but_a_plain_https_address_is_refused_with_advice(text):
    with pytest.raises(InvalidMeetingLink) as exc:
        clean_meeting_link(text)
    assert "https://" in str(exc.value) or "characters" in str(exc.value)
