"""Diadem: storefront, try-on and atelier tools for handmade crowns and tiaras."""

from __future__ import annotations

import os
import time
from typing import Any

from flask import Flask, Response, make_response, render_template
from PIL import Image

from app.common import addresses, caching, dates, input_guards, request_ids
from app.common.uploads import MAX_IMAGE_PIXELS
from app.config import development_secret, from_environment
from app.extensions import csrf, db, limiter, login_manager, mail, migrate

# Pillow's decompression-bomb guard stays on everywhere: images over this many pixels raise.
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create and configure the Diadem application."""
    # DIADEM_INSTANCE_PATH: this server's own folder (secret key file, outbox, local media) when
    # several run from one checkout; default: instance/ beside the package.
    instance = os.environ.get("DIADEM_INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=os.path.abspath(instance) if instance else None,
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = development_secret(app.instance_path)

    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    register_extensions(app)
    register_models()
    request_ids.install(app)
    input_guards.install(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_error_pages(app)
    register_security_headers(app)
    register_cli(app)
    return app


def register_security_headers(app: Flask) -> None:
    """Send a Content-Security-Policy and friends; templates carry no inline scripts."""

    @app.after_request
    def add_headers(response):
        extra_script = " https://js.stripe.com" if app.config.get("STRIPE_PUBLISHABLE_KEY") else ""
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; "
            f"script-src 'self'{extra_script}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
            "connect-src 'self' https://api.stripe.com; "
            "frame-src https://js.stripe.com https://hooks.stripe.com; "
            "frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    from app.common import db_pool

    with app.app_context():
        db_pool.init_app(app, list(db.engines.values()))
    migrate.init_app(
        app,
        db,
        directory=os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "migrations")),
        render_as_batch=True,
        compare_type=True,
    )
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    caching.init_app(app)
    from app.catalog import stock_watch

    stock_watch.install()
    dates.init_app(app)
    addresses.init_app(app)
    from app.common import storage

    storage.init_app(app)


def register_models() -> None:
    """Import every feature's models so the metadata (create_all, migrations) sees all tables."""
    import app.accounts.artisans
    import app.accounts.models
    import app.bench.models
    import app.booking.models
    import app.catalog.models
    import app.checkout.models
    import app.common.outbox
    import app.provenance.models
    import app.qc.models
    import app.repairs.models
    import app.returns.models
    import app.staff.models
    import app.tryon.models  # noqa: F401


def register_blueprints(app: Flask) -> None:
    from app.accounts import views as accounts
    from app.atelier import views as atelier
    from app.bench import views as bench
    from app.booking import change_views as booking_changes
    from app.booking import staff_views as booking_staff
    from app.booking import views as booking
    from app.catalog import batch_views
    from app.catalog import views as catalog
    from app.checkout import address_views as checkout_addresses
    from app.checkout import staff_views as checkout_staff
    from app.checkout import views as checkout
    from app.dashboard import views as dashboard
    from app.main import discovery, policy_views
    from app.main import views as main
    from app.provenance import views as provenance
    from app.repairs import views as repairs
    from app.returns import views as returns
    from app.staff import (
        capacity_views,
        catalog_artwork,
        catalog_batches,
        catalog_overlays,
        catalog_products,
    )
    from app.staff import catalog_views as catalog_staff
    from app.staff import views as staff
    from app.tryon import views as tryon

    for blueprint in (
        main.bp,
        catalog.bp,
        catalog_staff.bp,
        catalog_products.bp,
        catalog_batches.bp,
        catalog_artwork.bp,
        catalog_overlays.bp,
        capacity_views.bp,
        batch_views.bp,
        policy_views.bp,
        discovery.bp,
        accounts.bp,
        tryon.bp,
        checkout.bp,
        checkout_staff.staff_bp,
        checkout_addresses.bp,
        booking.bp,
        booking_changes.bp,
        booking_staff.staff_bp,
        dashboard.bp,
        staff.bp,
        staff.customer_bp,
        provenance.bp,
        provenance.staff_bp,
        atelier.bp,
        atelier.staff_bp,
        repairs.bp,
        repairs.staff_bp,
        returns.bp,
        returns.staff_bp,
        bench.bp,
        bench.public_bp,
    ):
        app.register_blueprint(blueprint)


def register_template_helpers(app: Flask) -> None:
    from app.domain.editions import format_piece_number
    from app.domain.money import Money, format_money

    @app.template_filter("money")
    def money_filter(value: Money | int, currency: str = "USD") -> str:
        if isinstance(value, int):
            value = Money(value, currency)
        return format_money(value)

    @app.template_filter("piece_number")
    def piece_number_filter(number: int, size: int) -> str:
        return format_piece_number(number, size)

    from app.accounts import header
    from app.checkout.cart_badge import cart_badge
    from app.common import urls
    from app.common.caching import csrf_token, fragment, register_fragment
    from app.common.links import public_url

    app.jinja_env.globals["public_url"] = public_url
    urls.init_app(app)

    from app.accounts.permissions import Permission, can

    app.jinja_env.globals["Permission"] = Permission
    app.jinja_env.globals["can"] = can

    # Replaces Flask-WTF's csrf_token (a global and a context processor, registered earlier) so
    # pages rendered for the guest page cache hold a placeholder instead of one visitor's token.
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["fragment"] = fragment
    register_fragment("cart_count", cart_badge)
    # The header's count is read with the sign-in check: one query per signed-in page, not two.
    from app.accounts.sessions import read_with_sign_in
    from app.checkout.cart_badge import SIGN_IN_READ, pieces_in_saved_cart

    read_with_sign_in(SIGN_IN_READ, pieces_in_saved_cart)
    register_fragment("account_links", header.account_links)
    register_fragment("visitor_email", header.visitor_email)

    @app.context_processor
    def nav_context() -> dict[str, Any]:
        return {"has_endpoint": lambda name: name in app.view_functions, "csrf_token": csrf_token}


def register_error_pages(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError
    from werkzeug.exceptions import SecurityError

    def render_error(code: int, title: str, message: str):
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(SecurityError)
    def untrusted_host(error):
        # A Host outside TRUSTED_HOSTS: no page (its links would point at that host).
        return Response("Bad request: unknown host.\n", 400, mimetype="text/plain")

    @app.errorhandler(400)
    def bad_request(error):
        return render_error(400, "Bad request", getattr(error, "description", "Bad request"))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400, "Form expired", "The form expired or was tampered with; try again."
        )

    @app.errorhandler(403)
    def forbidden(error):
        return render_error(403, "Not allowed", "You do not have access to this page.")

    @app.errorhandler(404)
    def not_found(error):
        return render_error(404, "Not found", "We could not find that page or piece.")

    @app.errorhandler(413)
    def too_large(error):
        return render_error(413, "Too large", "That upload is larger than we accept.")

    @app.errorhandler(429)
    def too_many(error):
        response = make_response(
            render_error(429, "Slow down", "Too many requests; try again in a moment.")
        )
        limit = limiter.current_limit  # the limit that was hit: say when its window resets
        if limit is not None:
            response.headers["Retry-After"] = str(max(1, limit.reset_at - int(time.time())))
        return response

    @app.errorhandler(500)
    def server_error(error):
        return render_error(500, "Something went wrong", "Please try again in a moment.")


def register_cli(app: Flask) -> None:
    from app.accounts.cli import create_staff_command
    from app.booking import cli as booking_cli
    from app.booking.cli import expire_holds_command, send_reminders_command
    from app.catalog.cli import catalog_group
    from app.catalog.variant_sweep import variant_sweep_job
    from app.checkout import cli as checkout_cli
    from app.checkout.cli import (
        expire_reservations_command,
        follow_shipments_command,
        launch_check_command,
    )
    from app.common import cli as common_cli
    from app.common import scheduling
    from app.common.mail import outbox_sweep_job
    from app.demo.seed import seed_demo_command
    from app.provenance.cli import provenance_keygen_command, verify_provenance_command
    from app.repairs import cli as repairs_cli

    for command in (
        create_staff_command,
        seed_demo_command,
        catalog_group,
        expire_reservations_command,
        follow_shipments_command,
        launch_check_command,
        send_reminders_command,
        expire_holds_command,
        verify_provenance_command,
        provenance_keygen_command,
        *common_cli.commands,
    ):
        app.cli.add_command(command)
    scheduling.register(
        app,
        [
            *booking_cli.scheduled_jobs,
            *checkout_cli.scheduled_jobs,
            *repairs_cli.scheduled_jobs,
            outbox_sweep_job,
            variant_sweep_job,
        ],
    )
