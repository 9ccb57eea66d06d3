"""Configuration: defaults for development, overridden by environment variables and tests."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

DEVELOPMENT_BASE_URL = "http://127.0.0.1:5000"  # where `make run` serves the shop


# Whole-number settings a deployment may give as DIADEM_<NAME>.
WHOLE_NUMBER_SETTINGS = (
    "CHECKOUT_HOLD_MINUTES",
    "MANUAL_PAYMENT_HOLD_HOURS",
    "STUDIO_DISPATCH_DAYS",
    "EDITION_HOLD_LIMIT",
    "GUEST_UNCONFIRMED_HOLD_MINUTES",
    "BOOKING_GUEST_HOLD_MINUTES",
    "BOOKING_MAX_UPCOMING",
    "OUTBOX_MAX_ATTEMPTS",
    "OUTBOX_RETRY_SECONDS",
    "BENCH_HOURS_PER_WEEK",
)


def _whole_number_settings(env) -> dict[str, object]:
    return {
        name: int(env[f"DIADEM_{name}"])
        for name in WHOLE_NUMBER_SETTINGS
        if env.get(f"DIADEM_{name}")
    }


def _json_settings(env) -> dict[str, object]:
    """Settings given as JSON objects: the bank details printed on bank-transfer instructions
    and invoices (label -> value), and the seller's identity on invoices (legal_name, address,
    company_number, vat_number, email)."""
    names = {"BANK_TRANSFER_DETAILS": "DIADEM_BANK_TRANSFER_DETAILS", "SELLER": "DIADEM_SELLER"}
    return {name: json.loads(env[var]) for name, var in names.items() if env.get(var)}


def from_environment(instance_path: str) -> dict[str, object]:
    """Build the configuration from DIADEM_* / standard environment variables."""
    instance = Path(instance_path)
    env = os.environ
    config: dict[str, object] = {
        "SECRET_KEY": env.get("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL")
        or f"sqlite:///{instance / 'diadem.sqlite3'}",
        "MEDIA_ROOT": env.get("DIADEM_MEDIA_ROOT") or str(instance / "media"),
        # Uploads and product pictures: "local" (UPLOADS_ROOT, MEDIA_ROOT/products) or "s3" (one
        # bucket shared by every server; credentials from the standard AWS_* variables).
        "STORAGE": env.get("DIADEM_STORAGE") or "local",
        "S3_BUCKET": env.get("DIADEM_S3_BUCKET"),
        "S3_ENDPOINT_URL": env.get("DIADEM_S3_ENDPOINT_URL"),
        "S3_REGION": env.get("DIADEM_S3_REGION"),
        "S3_PREFIX": env.get("DIADEM_S3_PREFIX", ""),
        "MAIL_OUTBOX_DIR": env.get("DIADEM_MAIL_OUTBOX") or str(instance / "outbox"),
        # "outbox" writes each message as an .eml file; "smtp" sends through MAIL_SERVER.
        "MAIL_TRANSPORT": env.get("DIADEM_MAIL_TRANSPORT", "outbox"),
        "MAIL_SERVER": env.get("MAIL_SERVER", "localhost"),
        "MAIL_PORT": int(env.get("MAIL_PORT", "25")),
        "MAIL_USE_TLS": env.get("MAIL_USE_TLS", "") == "1",
        "MAIL_USERNAME": env.get("MAIL_USERNAME"),
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": env.get(
            "MAIL_DEFAULT_SENDER", "Diadem Atelier <atelier@diadem.test>"
        ),
        # Werkzeug's password hash: scrypt (its default, about 0.1 s a hash) in every real
        # deployment; the tests' own apps choose a cheap one, as Django's test settings do.
        "PASSWORD_HASH_METHOD": "scrypt",
        # Without Redis each process counts alone (app.extensions.SweepingMemoryStorage).
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "sweeping-memory://",
        # Stated for every app: Flask-Limiter's one limiter otherwise takes the last app's
        # setting as its default, so an app built with limits off left them off for the next.
        "RATELIMIT_ENABLED": True,
        # Set: mail and other jobs go to RQ (`flask worker`); unset: they run in-process.
        "REDIS_URL": env.get("REDIS_URL"),
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY"),
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY"),
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET"),
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE"),
        "PASSWORD_RESET_MAX_AGE": 60 * 60,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # Guests' catalog and product pages are served from the shared cache this long (0: off).
        "PAGE_CACHE_SECONDS": float(env.get("DIADEM_PAGE_CACHE_SECONDS", "5")),
        # The cache's Redis when it should not be REDIS_URL's; neither set: a cache per process.
        "CACHE_REDIS_URL": env.get("DIADEM_CACHE_REDIS_URL"),
        "STUDIO_TIMEZONE": env.get("DIADEM_STUDIO_TIMEZONE", "Europe/London"),
        # The bench's capacity in hours a week until an admin records one on /staff/capacity;
        # commission delivery windows are counted from it (app.checkout.capacity).
        "BENCH_HOURS_PER_WEEK": 40,
        # Every link in mail, on QR codes and to payment pages is built on this base, never on
        # the request's Host header (see app.common.links.public_url).
        "PUBLIC_BASE_URL": (env.get("DIADEM_PUBLIC_BASE_URL") or DEVELOPMENT_BASE_URL).rstrip("/"),
        "STUDIO_ADDRESS": env.get("DIADEM_STUDIO_ADDRESS"),
        # Connections are checked before use only after sitting idle (app.common.db_pool).
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": False},
        "DATABASE_PING_AFTER_IDLE_SECONDS": 1.0,
    }
    config.update(_json_settings(env))
    config.update(_whole_number_settings(env))
    if env.get("DIADEM_TRYON_POSE_RATE_LIMIT"):
        config["TRYON_POSE_RATE_LIMIT"] = env["DIADEM_TRYON_POSE_RATE_LIMIT"]
    if env.get("DIADEM_TRYON_PHOTO_RATE_LIMIT"):
        config["TRYON_PHOTO_RATE_LIMIT"] = env["DIADEM_TRYON_PHOTO_RATE_LIMIT"]
    if env.get("DIADEM_TRYON_PHOTO_JOBS"):
        config["TRYON_PHOTO_JOBS"] = int(env["DIADEM_TRYON_PHOTO_JOBS"])
    if env.get("DIADEM_TRYON_TRACKED_STREAMS"):
        config["TRYON_TRACKED_STREAMS"] = int(env["DIADEM_TRYON_TRACKED_STREAMS"])
    if env.get("DIADEM_REPAIRS_RATE_LIMIT"):
        config["REPAIRS_RATE_LIMIT"] = env["DIADEM_REPAIRS_RATE_LIMIT"]
    if env.get("DIADEM_REPAIRS_MAX_PHOTOS"):
        config["REPAIRS_MAX_PHOTOS"] = int(env["DIADEM_REPAIRS_MAX_PHOTOS"])
    config["TRUSTED_HOSTS"] = trusted_hosts(env)
    # Behind one reverse proxy, trust its X-Forwarded-For/-Proto so rate limits see real clients.
    config["PROXY_FIX"] = env.get("DIADEM_PROXY_FIX") == "1"
    # Served over HTTPS (the public base says so), cookies are Secure and HSTS is sent;
    # DIADEM_SECURE_COOKIES=1 or 0 says so explicitly.
    secure = env.get("DIADEM_SECURE_COOKIES")
    if secure not in ("0", "1"):
        secure = "1" if str(config["PUBLIC_BASE_URL"]).startswith("https://") else "0"
    config["SESSION_COOKIE_SECURE"] = config["REMEMBER_COOKIE_SECURE"] = secure == "1"
    return config


def trusted_hosts(env: Mapping[str, str]) -> list[str] | None:
    """Hosts the app answers for (others get 400): DIADEM_TRUSTED_HOSTS, comma-separated, else
    the host of an explicitly configured DIADEM_PUBLIC_BASE_URL; in development, any host."""
    if env.get("DIADEM_TRUSTED_HOSTS"):
        return [host.strip() for host in env["DIADEM_TRUSTED_HOSTS"].split(",") if host.strip()]
    if env.get("DIADEM_PUBLIC_BASE_URL"):
        host = urlsplit(env["DIADEM_PUBLIC_BASE_URL"]).hostname
        return [host] if host else None
    return None


def development_secret(instance_path: str) -> str:
    """Return a per-checkout random secret kept in instance/, so none is committed."""
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return path.read_text().strip()
