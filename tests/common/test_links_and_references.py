from __future__ import annotations

import re

from app.common import links, references


def test_signed_values_round_trip_and_refuse_tampering(app_ctx):
    token = links.sign({"order": "DIA-ABC234"}, salt="test.order")
    assert links.unsign(token, salt="test.order") == {"order": "DIA-ABC234"}
    assert links.unsign(token, salt="test.other-purpose") is None
    assert links.unsign(token[:-2] + "xx", salt="test.order") is None
    assert links.unsign("", salt="test.order") is None


def test_references_avoid_look_alike_characters():
    for _ in range(200):
        ref = references.new_reference("DIA-")
        assert re.fullmatch(r"DIA-[2-9A-HJKMNP-Z]{6}", ref), ref
        code = references.new_code(12)
        assert references.is_code(code, max_length=16)
    assert not references.is_code("o0l1", max_length=16)
    assert not references.is_code("", max_length=16)
