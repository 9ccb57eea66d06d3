"""The NUL-byte guard that runs before every request: forms, query strings and JSON checked,
other bodies (a try-on frame) left unread."""

from __future__ import annotations

import pytest
from flask import request
from werkzeug.exceptions import BadRequest

from app.common.input_guards import refuse_nul_bytes

POSE = "/tryon/api/pose?product=aurelia-crown"


def test_a_frame_body_is_not_parsed_as_a_form(app):
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 4000 + b"\xff\xd9"  # NUL bytes are ordinary in a JPEG
    with app.test_request_context(POSE, method="POST", data=jpeg, content_type="image/jpeg"):
        refuse_nul_bytes()
        assert "form" not in vars(request._get_current_object())  # never parsed
        assert request.get_data() == jpeg  # the body is still there for the view


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "email=a%00b"),
        (
            "multipart/form-data; boundary=b",
            '--b\r\nContent-Disposition: form-data; name="n"\r\n\r\nx\x00y\r\n--b--\r\n',
        ),
        ("application/json", '{"note": "x\\u0000y"}'),
    ],
)
def test_a_nul_in_a_form_or_json_body_is_refused(app, content_type, body):
    with (
        app.test_request_context(
            "/account/login", method="POST", data=body, content_type=content_type
        ),
        pytest.raises(BadRequest, match="NUL character"),
    ):
        refuse_nul_bytes()


def test_a_nul_in_the_query_string_is_refused(app):
    with app.test_request_context(POSE + "&metal=%00"), pytest.raises(BadRequest):
        refuse_nul_bytes()
