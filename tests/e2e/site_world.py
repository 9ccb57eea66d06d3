"""One seeded atelier with something on every page: orders in each state, a return, repairs
(an account holder's and a guest's), consultations, a passport, a QC report, a try-on piece.

Built once for the page sweep (tests/e2e/test_every_page.py), from the builders the feature
tests already use, so a page is shown with the data a person would see there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from flask import Flask

from app.accounts.models import Role
from app.common.transactions import atomic
from app.extensions import db
from tests.staff.builders import PASSWORD, Atelier, build_atelier, make_fast_user, png_bytes

STAFF_EMAIL = "mira@example.org"
CUSTOMER_EMAIL = "bea@example.com"
ADMIN_EMAIL = "ada@example.org"
SIGN_IN_PASSWORD = PASSWORD
CONFIRM_LINK = re.compile(r"/account/confirm/(\S+)")
EMAIL_CHANGE_LINK = re.compile(r"/account/email/confirm/(\S+)")
GUEST = dict(
    email="gil@example.com",
    name="Gil Guest",
    address_line1="2 Crown Street",
    city="London",
    postal_code="E1 6AN",
    country="GB",
)


@dataclass(frozen=True)
class World:
    """The values that fill the URL map's parameters (see test_every_page.url_for_rule)."""

    product_slug: str  # a published demo product
    tryon_slug: str  # a product with a try-on overlay
    product_id: int
    metal_code: str
    batch_code: str
    run_id: int
    order_number: str  # the customer's delivered order (repair, passport, QC)
    order_line_id: int
    custom_order_number: str  # the customer's commission with a CAD round waiting
    custom_line_id: int
    qc_order_number: str  # the customer's order waiting for its QC check
    qc_line_id: int
    return_order_number: str  # the customer's delivered order with a return request
    return_id: int
    guest_order_number: str  # a guest's bank-transfer order awaiting payment
    guest_order_token: str
    guest_confirm_token: str
    guest_shipped_number: str  # a guest's shipped order (guest repair request)
    guest_shipped_line_id: int
    guest_shipped_token: str
    repair_ticket_id: int
    guest_ticket_id: int
    guest_ticket_token: str
    draft_order_number: str  # the order draft made from the customer's consultation
    consultation_id: int  # the customer's own consultation
    manage_token: str  # a guest's confirmed consultation
    booking_confirm_token: str  # a guest's held consultation
    passport_code: str
    qc_check_id: int
    account_confirm_token: str
    reset_token: str
    waitlist_leave_token: str
    email_change_token: str
    artisan_user_id: int  # staff with a published profile on /atelier
    artisan_slug: str
    artisan_profile_id: int  # that profile (its consultation calendar, for staff)


def _ship(atelier: Atelier, order_id: int, line_id: int) -> None:
    from app.staff import services as staff
    from tests.staff.builders import studio_to_packed

    studio_to_packed(atelier, line_id)
    with atomic():
        staff.ship_order(
            order_id=order_id,
            carrier="Royal Mail",
            tracking_number="RM123456785GB",
            insured_value_minor=None,
            by_user_id=atelier.checker_id,
        )


def _orders(atelier: Atelier) -> dict:
    from app.checkout import services as checkout
    from app.checkout.services.links import email_confirm_token
    from app.domain.returns import REASON_CODES
    from app.returns import services as returns
    from app.staff import services as staff
    from tests.staff.builders import only_line, paid_order

    made = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
    line_id = only_line(made).id
    _ship(atelier, made.id, line_id)
    with atomic():
        checkout.mark_delivered(order_id=made.id, signed_by="B Buyer", by_user_id=None)

    at_qc = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
    at_qc_line = only_line(at_qc).id
    for target in ("hand_finishing", "qc"):
        with atomic():
            staff.move_line(
                order_line_id=at_qc_line,
                target=target,
                expected_stage=None,
                by_user_id=atelier.artisan_id,
            )

    returned = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
    returned_line = only_line(returned).id
    _ship(atelier, returned.id, returned_line)
    with atomic():
        order = checkout.mark_delivered(order_id=returned.id, signed_by="B Buyer", by_user_id=None)
        request = returns.request_return(
            order=order,
            line_ids=[returned_line],
            reason=REASON_CODES[0],
            details="Lovely, but a size too small.",
            photos=[png_bytes((120, 90), "gold")],
            by_user_id=atelier.customer_id,
        )

    custom = paid_order(user_id=atelier.customer_id, product_id=atelier.custom_product_id)
    custom_line = only_line(custom).id
    with atomic():
        staff.move_line(
            order_line_id=custom_line,
            target="cad_design",
            expected_stage=None,
            by_user_id=atelier.artisan_id,
        )
    with atomic():
        staff.send_design_round(
            order_line_id=custom_line,
            kind="cad",
            files=[(png_bytes((160, 120), "silver"), "render.png")],
            message="The first render: filigree on the front arch.",
            by_user_id=atelier.artisan_id,
        )

    owner = checkout.CartOwner(
        guest_items=(checkout.CartItem(atelier.studio_product_id, "yellow-gold", "M", 1),)
    )
    with atomic():
        guest = checkout.place_order(
            owner=owner,
            details=checkout.ShippingDetails(**GUEST),
            payment_method="manual",
            policy_accepted=True,
        )
    with atomic():
        shipped = checkout.place_order(
            owner=owner,
            details=checkout.ShippingDetails(**{**GUEST, "email": "gwen@example.com"}),
            payment_method="manual",
            policy_accepted=True,
        )
    with atomic():
        checkout.mark_paid(order_id=shipped.id, reference="guest transfer")
    shipped_line = only_line(shipped).id
    _ship(atelier, shipped.id, shipped_line)
    return dict(
        order_number=made.number,
        order_line_id=line_id,
        custom_order_number=custom.number,
        custom_line_id=custom_line,
        qc_order_number=at_qc.number,
        qc_line_id=at_qc_line,
        return_order_number=returned.number,
        return_id=request.id,
        guest_order_number=guest.number,
        guest_order_token=checkout.order_link_token(guest.number),
        guest_confirm_token=email_confirm_token(guest.number),
        guest_shipped_number=shipped.number,
        guest_shipped_line_id=shipped_line,
        guest_shipped_token=checkout.order_link_token(shipped.number),
    )


def _repairs(atelier: Atelier, orders: dict) -> dict:
    from app.repairs import services as repairs

    with atomic():
        ticket = repairs.request_repair(
            user_id=atelier.customer_id,
            order_line_id=orders["order_line_id"],
            description="A stone on the left arch is loose since the wedding.",
            preferred_return_on=None,
            photos=[png_bytes()],
        )
    _to_qc(atelier, ticket.id)
    with atomic():
        guest_ticket = repairs.request_guest_repair(
            number=orders["guest_shipped_number"],
            order_line_id=orders["guest_shipped_line_id"],
            token=orders["guest_shipped_token"],
            description="The comb has come loose from the band.",
            preferred_return_on=None,
            photos=[png_bytes()],
        )
    return dict(
        repair_ticket_id=ticket.id,
        guest_ticket_id=guest_ticket.id,
        guest_ticket_token=repairs.ticket_link_token(guest_ticket),
        passport_code=ticket.passport.code,
    )


def _to_qc(atelier: Atelier, ticket_id: int) -> None:
    """Assess under warranty, quote nothing, accept, repair: the ticket waits for its QC check."""
    from app.repairs import services as repairs

    by = atelier.artisan_id
    with atomic():
        repairs.assess(
            ticket_id=ticket_id, assessment="Claw worn; re-tip.", under_warranty=True, by_user_id=by
        )
    with atomic():
        repairs.send_quote(ticket_id=ticket_id, quote_minor=0, note="Free", by_user_id=by)
    with atomic():
        repairs.decide_quote(
            ticket_id=ticket_id, accept=True, comment="", by_user_id=atelier.customer_id
        )
    for target, expected, extra in (
        ("in_repair", "approved", {}),
        ("qc", "in_repair", {"work_done": "Re-tipped the claws of stone 3."}),
    ):
        with atomic():
            repairs.move_ticket(
                ticket_id=ticket_id, target=target, expected_status=expected, by_user_id=by, **extra
            )


def _consultations(atelier: Atelier) -> dict:
    from app.booking import services as booking
    from app.domain.clock import utcnow
    from tests.booking.builders import book, hold

    now = utcnow().replace(tzinfo=None)
    event = date.today() + timedelta(days=200)
    with atomic():
        # Three open times a fortnight ahead, on three different days.
        slots = booking.available_slots(now=now + timedelta(days=14))
    days = {}
    for slot in slots:
        days.setdefault(slot.local_start.date(), slot.starts_at)
    first, second, third = list(days.values())[:3]
    own = book(
        first,
        now=now,
        user_id=atelier.customer_id,
        event_date=event,
        name="Bea Buyer",
        email=CUSTOMER_EMAIL,
    )
    guest = book(second, now=now, event_date=event, email="grace@example.com")
    held = hold(third, now=now, event_date=event, email="hal@example.com")
    with atomic():
        drafted = booking.create_order_draft(
            consultation_id=own.id,
            now=now,
            product_id=atelier.custom_product_id,
            metal_code="yellow-gold",
            size_code="M",
        )
    return dict(
        draft_order_number=drafted.order_number,
        consultation_id=own.id,
        manage_token=booking.manage_token(guest),
        booking_confirm_token=booking.confirm_token(held),
    )


def _account_tokens(app: Flask, atelier: Atelier) -> dict:
    from app.accounts import services as accounts
    from app.accounts.models import User
    from app.common.mail import read_outbox

    with atomic():
        accounts.request_registration(email="nell@example.com", password=PASSWORD, name="Nell")
    [mail] = [
        m for m in read_outbox(app.config["MAIL_OUTBOX_DIR"]) if m["To"] == "nell@example.com"
    ]
    link = CONFIRM_LINK.search(mail.get_body(("plain",)).get_content()).group(1)
    bea = db.session.get(User, atelier.customer_id)
    return dict(account_confirm_token=link, reset_token=accounts.make_reset_token(user=bea))


def _waitlist_leave_token(product_id: int) -> str:
    from app.catalog.waitlist import leave_url

    return leave_url(product_id=product_id, email=CUSTOMER_EMAIL).rsplit("/", 1)[1]


def _email_change_token(app: Flask, user_id: int) -> str:
    from app.accounts.profile import request_email_change
    from app.common.mail import read_outbox

    with atomic():
        request_email_change(user_id=user_id, new_email="bea.new@example.com", password=PASSWORD)
    outbox = read_outbox(app.config["MAIL_OUTBOX_DIR"])
    [mail] = [m for m in outbox if m["To"] == "bea.new@example.com"]
    return EMAIL_CHANGE_LINK.search(mail.get_body(("plain",)).get_content()).group(1)


def _artisan_profile(user_id: int) -> str:
    from app.atelier import services as atelier

    with atomic():
        profile = atelier.save_profile(
            user_id=user_id,
            data=atelier.ProfileInput(
                display_name="Mira Goldsmith",
                slug="mira",
                bio="Twenty years at the bench; filigree and stone setting.",
                specialities="filigree, stone setting",
                published=True,
            ),
        )
    return profile.slug


def build_world(app: Flask) -> World:
    """Seed the demo atelier (without drawing artwork) and the rest; return the URL values."""
    from app.accounts.artisans import profile_of
    from app.catalog.models import EditionRun, Metal, Product
    from app.demo.seed import seed_demo
    from app.qc.models import QcCheck
    from tests.tryon.helpers import GREEN, add_overlay

    with app.app_context():
        with atomic():
            seed_demo(media_root=app.config["MEDIA_ROOT"], draw_artwork=False)
        atelier = build_atelier()
        make_fast_user(email=ADMIN_EMAIL, name="Ada Admin", role=Role.ADMIN)
        artisan_slug = _artisan_profile(atelier.artisan_id)
        orders = _orders(atelier)
        repairs = _repairs(atelier, orders)
        consultations = _consultations(atelier)
        tokens = _account_tokens(app, atelier)
        product = db.session.get(Product, atelier.studio_product_id)
        run = db.session.execute(db.select(EditionRun).order_by(EditionRun.id)).scalars().first()
        qc = db.session.execute(db.select(QcCheck).order_by(QcCheck.id)).scalars().first()
        metal = db.session.execute(db.select(Metal).filter_by(code="yellow-gold")).scalar_one()
        values = dict(
            product_slug="aurelia-crown",
            tryon_slug=product.slug,
            product_id=product.id,
            metal_code=metal.code,
            batch_code=run.batch_code,
            run_id=run.id,
            qc_check_id=qc.id,
            waitlist_leave_token=_waitlist_leave_token(product.id),
            email_change_token=_email_change_token(app, atelier.customer_id),
            artisan_user_id=atelier.artisan_id,
            artisan_slug=artisan_slug,
            artisan_profile_id=profile_of(atelier.artisan_id).id,
            **orders,
            **repairs,
            **consultations,
            **tokens,
        )
    add_overlay(app, values["tryon_slug"], "yellow-gold", GREEN)
    return World(**values)
