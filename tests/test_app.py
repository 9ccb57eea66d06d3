from __future__ import annotations

from app import create_app


def test_proxy_fix_is_opt_in(monkeypatch, tmp_path):
    monkeypatch.setenv("DIADEM_PROXY_FIX", "1")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}",
        }
    )

    @app.get("/whoami")
    def whoami():
        from flask import request

        return request.remote_addr or ""

    response = app.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.get_data(as_text=True) == "203.0.113.9"
    monkeypatch.delenv("DIADEM_PROXY_FIX")
    plain = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'b.db'}",
        }
    )
    plain.add_url_rule("/whoami", view_func=whoami)
    response = plain.test_client().get("/whoami", headers={"X-Forwarded-For": "203.0.113.9"})
    assert response.get_data(as_text=True) == "127.0.0.1"


def test_security_headers(client):
    response = client.get("/healthz")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain-HTTP development


def test_https_base_url_makes_cookies_secure_and_sends_hsts(monkeypatch, tmp_path):
    monkeypatch.setenv("DIADEM_PUBLIC_BASE_URL", "https://shop.example")
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.db'}",
        }
    )
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    client = app.test_client()
    response = client.get("/account/login", base_url="https://shop.example")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    cookie = response.headers.get("Set-Cookie", "")
    assert "Secure" in cookie and "SameSite=Lax" in cookie and "HttpOnly" in cookie
    monkeypatch.setenv("DIADEM_SECURE_COOKIES", "0")  # e.g. a TLS-less staging box, said aloud
    assert not create_app({"TESTING": True, "SECRET_KEY": "x"}).config["SESSION_COOKIE_SECURE"]


def test_each_server_may_have_its_own_instance_folder(tmp_path, monkeypatch):
    from app import create_app

    monkeypatch.setenv("DIADEM_INSTANCE_PATH", str(tmp_path / "server-b"))
    app = create_app({"TESTING": True, "SECRET_KEY": "x"})
    assert app.instance_path == str(tmp_path / "server-b")
    assert app.config["MAIL_OUTBOX_DIR"] == str(tmp_path / "server-b" / "outbox")


def test_an_app_with_rate_limits_off_leaves_them_on_for_the_next(tmp_path):
    """Found when a browser sweep's app (limits off) ran before the rate-limit tests."""
    settings = {
        "TESTING": True,
        "SECRET_KEY": "x",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'a.sqlite3'}",
        "RATELIMIT_STORAGE_URI": "memory://",
        "REDIS_URL": None,
    }
    create_app({**settings, "RATELIMIT_ENABLED": False})
    app = create_app(settings)
    assert app.config["RATELIMIT_ENABLED"] is True
    from app.extensions import limiter

    assert limiter.enabled
