"""Shared builders for staff, provenance and repairs tests: people, products, paid orders."""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.security import generate_password_hash

from app.accounts.models import Role, User
from app.checkout import services as checkout
from app.checkout.models import Order, OrderLine
from app.common.transactions import atomic
from app.domain.packing import PACKING_KEYS
from app.extensions import db
from app.staff import services as staff
from tests.factories import make_product

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Atelier:
    artisan_id: int
    checker_id: int
    customer_id: int
    other_customer_id: int
    studio_product_id: int
    custom_product_id: int


# One cheap hash for every test user: the default (scrypt) costs ~0.2 s per user.
FAST_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


def make_fast_user(*, email: str, name: str, role: Role = Role.CUSTOMER) -> int:
    user = User(email=email, name=name, role=role.value, password_hash=FAST_HASH)
    db.session.add(user)
    db.session.commit()
    return user.id


def build_atelier() -> Atelier:
    """Two staff (an artisan and a checker), two customers, a studio and a custom product."""

    def user(email: str, name: str, role: Role) -> int:
        return make_fast_user(email=email, name=name, role=role)

    studio = make_product("aurelia-test", tier="studio", edition_size=10, weight_mg=100_000)
    custom = make_product("bespoke-test", kind="tiara", tier="custom", weight_mg=80_000)
    return Atelier(
        artisan_id=user("mira@example.org", "Mira Goldsmith", Role.STAFF),
        checker_id=user("theo@example.org", "Theo Setter", Role.STAFF),
        customer_id=user("bea@example.com", "Bea Buyer", Role.CUSTOMER),
        other_customer_id=user("cy@example.com", "Cy Other", Role.CUSTOMER),
        studio_product_id=studio.id,
        custom_product_id=custom.id,
    )


def paid_order(*, user_id: int | None, product_id: int, email: str = "bea@example.com") -> Order:
    """Place an order through checkout (bank transfer) and record its payment."""
    if user_id is None:
        raise ValueError("tests use signed-in buyers")
    with atomic():
        owner = checkout.CartOwner(user_id=user_id)
        checkout.add_to_cart(
            owner=owner, product_id=product_id, metal_code="yellow-gold", size_code="M"
        )
        order = checkout.place_order(
            owner=owner,
            details=checkout.ShippingDetails(
                email=email,
                name="Bea Buyer",
                address_line1="1 Crown Street",
                city="London",
                postal_code="E1 6AN",
                country="GB",
            ),
            payment_method="manual",
            policy_accepted=True,
        )
        return checkout.mark_paid(order_id=order.id, reference="test transfer")


def only_line(order: Order) -> OrderLine:
    db.session.refresh(order)
    (line,) = order.lines
    return line


def qc_pass(line_id: int, *, checker_id: int, measured_mg: int = 100_500, passed: bool = True):
    with atomic():
        return staff.record_line_check(
            order_line_id=line_id,
            checker_id=checker_id,
            stone_tightness=True,
            solder_integrity=True,
            hallmark_present=passed,
            measured_mg=measured_mg,
            finish_grade="A",
        )


def studio_to_packed(a: Atelier, line_id: int) -> None:
    """Paid -> hand finishing -> QC (by the artisan) -> passing check (by the checker) -> packed."""
    for target in ("hand_finishing", "qc"):
        with atomic():
            staff.move_line(
                order_line_id=line_id, target=target, expected_stage=None, by_user_id=a.artisan_id
            )
    qc_pass(line_id, checker_id=a.checker_id)
    pack(line_id, a.checker_id, expected="qc")


def pack(line_id: int, by_user_id: int, expected: str | None = None, photo: bytes | None = None):
    """The packing ritual done in full: every item ticked and a photo of the packed piece."""
    with atomic():
        return staff.pack_line(
            order_line_id=line_id,
            items=PACKING_KEYS,
            photo=photo or png_bytes((64, 48), "navy"),
            expected_stage=expected,
            by_user_id=by_user_id,
        )


def png_bytes(size: tuple[int, int] = (32, 24), colour: str = "gold") -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()
