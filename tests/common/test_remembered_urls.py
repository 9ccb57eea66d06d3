"""The templates' url_for and links.public_url keep the links they build, and a kept link is
always the one Flask would build now: per mount point, per blueprint for a relative endpoint,
per host for an external link, per configured public base."""

from __future__ import annotations

from flask import Flask, render_template_string, url_for
from markupsafe import escape

from app.common.links import public_url

CALLS = [
    ("static", {"filename": "css/site.css"}),
    ("main.home", {}),
    ("catalog.show", {"slug": "aurelia-crown"}),
    ("catalog.show", {"slug": "seraphine-tiara", "metal": "silver", "_anchor": "breakdown"}),
    ("tryon.show", {"slug": "aurelia-crown", "metal": "rose-gold"}),
]
TEMPLATE = "{{ url_for(endpoint, **values) }}"


def _templated(endpoint: str, values: dict) -> str:
    return render_template_string(TEMPLATE, endpoint=endpoint, values=values)


def test_kept_links_follow_the_mount_point(app: Flask):
    for root in ("", "/atelier", "/shop-front", ""):
        for endpoint, values in CALLS:
            with app.test_request_context("/", base_url=f"http://localhost{root}"):
                # Twice: the second answer comes from what the first kept.
                for _ in range(2):
                    assert _templated(endpoint, values) == escape(url_for(endpoint, **values))
                assert _templated(endpoint, values).startswith(f"{root}/")


def test_a_relative_endpoint_is_kept_per_blueprint(app: Flask):
    answers = {}
    for path in ("/shop", "/account/login", "/shop"):
        with app.test_request_context(path):
            app.preprocess_request()
            from flask import request

            endpoint = ".index" if request.blueprint == "catalog" else ".login"
            answers[path] = _templated(endpoint, {})
            assert answers[path] == url_for(endpoint)
    assert answers["/shop"] != answers["/account/login"]


def test_an_external_link_is_kept_per_host(app: Flask):
    app.config["SERVER_NAME"] = None  # as behind a proxy that passes the Host through
    for host in ("http://one.test", "https://two.test", "http://one.test"):
        with app.test_request_context("/", base_url=host):
            link = _templated("catalog.show", {"slug": "aurelia-crown", "_external": True})
            assert link == f"{host}/shop/aurelia-crown"


def test_public_links_follow_a_new_public_base(app: Flask):
    with app.app_context():
        first = public_url("catalog.show", slug="aurelia-crown")
        assert public_url("catalog.show", slug="aurelia-crown") == first
        app.config["PUBLIC_BASE_URL"] = "https://shop.example/atelier"
        assert public_url("catalog.show", slug="aurelia-crown") == (
            "https://shop.example/atelier/shop/aurelia-crown"
        )
    assert first == "http://diadem.test/shop/aurelia-crown"


def test_a_value_that_cannot_be_kept_is_built_every_time(app: Flask):
    with app.test_request_context("/"):
        values = {"slug": "aurelia-crown", "tag": ["a", "b"]}
        assert _templated("catalog.show", values) == escape(url_for("catalog.show", **values))
        assert public_url("catalog.show", **values).endswith("tag=a&tag=b")
