"""Care plans: offered by admins, chosen at checkout, frozen on the line, dated on delivery."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from app.accounts.models import Role
from app.checkout import services
from app.checkout.models import Order
from app.common.transactions import atomic
from app.domain.careplans import CARE_PLAN_CODE
from app.extensions import db
from app.provenance import services as provenance
from tests.checkout.support import (
    CHECKOUT_FORM,
    DETAILS,
    add_to_cart,
    checkout,
    guest,
    item,
    order_number,
)
from tests.helpers import csrf_token, login, make_user


def _offer(name="Five-year repairs", years=5, rule="share", amount=800) -> int:
    with atomic():
        return services.offer_plan(
            name=name, years=years, rule=rule, amount=amount, by_user_id=None
        ).id


def _place_with(plan_id, *items):
    with atomic():
        return services.place_order(
            owner=guest(*items),
            details=replace(DETAILS, email="plan@example.com"),
            payment_method="manual",
            policy_accepted=True,
            care_plan_id=plan_id,
        )


def _deliver(order_id: int, on: date | None = None) -> Order:
    with atomic():
        services.mark_paid(order_id=order_id, reference="transfer")
    with atomic():
        services.mark_shipped(
            order_id=order_id, carrier="DHL", tracking_number="1", by_user_id=None
        )
    with atomic():
        return services.mark_delivered(
            order_id=order_id, signed_by="B Buyer", by_user_id=None, delivered_on=on
        )


def test_the_plan_is_its_own_line_frozen_on_the_order_and_dated_on_delivery(app_ctx, shop):
    plan_id = _offer()
    order = _place_with(plan_id, item(shop.tiara_id))
    (line,) = order.lines
    breakdown = line.frozen_breakdown()
    plan_line = breakdown.lines[-1]
    piece = breakdown.total.minor - plan_line.amount.minor - breakdown.lines[-2].amount.minor
    assert plan_line.code == CARE_PLAN_CODE and "8 % of the piece's price" in plan_line.detail
    assert plan_line.amount.minor == (piece * 800 + 5_000) // 10_000  # half up, on the goods
    assert line.total_minor == sum(x.amount.minor for x in breakdown.lines)
    assert (line.care_plan_name, line.care_plan_years, line.care_plan_minor) == (
        "Five-year repairs",
        5,
        plan_line.amount.minor,
    )
    assert order.total_minor == line.total_minor
    assert order.insured_value_minor == order.goods_minor - line.care_plan_minor
    # An admin reprices the plan: the order keeps what it bought.
    with atomic():
        services.change_plan(plan_id=plan_id, rule="fixed", amount=99_00, by_user_id=None)
    db.session.expire_all()
    assert db.session.get(Order, order.id).lines[0].care_plan_minor == plan_line.amount.minor
    delivered = _deliver(order.id)
    (line,) = delivered.lines
    day = services.aftersale_terms(delivered).delivered_on
    assert line.care_plan_ends_on == day.replace(year=day.year + 5)
    assert services.plan_cover_ends(line) == line.care_plan_ends_on


def test_a_lifetime_plan_never_ends(app_ctx, shop):
    plan_id = _offer(name="Lifetime", years=None, rule="fixed", amount=450_00)
    order = _deliver(_place_with(plan_id, item(shop.tiara_id)).id)
    (line,) = order.lines
    assert line.care_plan_ends_on is None and line.care_plan_minor == 450_00
    assert services.plan_cover_ends(line) == date.max
    assert line.care_plan_terms.term_text == "for the piece's lifetime"


def test_the_passport_and_certificate_show_the_plan_and_its_end(app, client, shop):
    with app.app_context():
        order = _place_with(_offer(), item(shop.tiara_id))
        with atomic():
            code = provenance.passport_for_line(order.lines[0]).code
        unpaid = client.get(f"/p/{code}").get_data(as_text=True)
        assert "Care plan" not in unpaid  # an unpaid reservation is nobody's plan yet
        order = _deliver(order.id)
        ends = order.lines[0].care_plan_ends_on
    for path in (f"/p/{code}", f"/p/{code}/certificate"):
        page = client.get(path).get_data(as_text=True)
        assert "Five-year repairs: repairs covered until" in page, path
        assert f'datetime="{ends.isoformat()}"' in page, path


def test_a_commission_plan_follows_its_final_price(app_ctx, shop):
    plan_id = _offer()
    order = _place_with(plan_id, item(shop.custom_id))
    (line,) = order.lines
    before = line.care_plan_minor
    amounts = [x.amount.minor for x in line.frozen_breakdown().lines]
    amounts[0] += 100_000  # more metal agreed at the consultation
    with atomic():
        services.mark_paid(order_id=order.id, reference="deposit")
    with atomic():
        revision = services.propose_revision(
            order_id=order.id, line_id=line.id, amounts_minor=amounts, by_user_id=None
        )
    assert revision.frozen_breakdown().lines[-1].amount.minor == before + 8_000
    with atomic():
        services.accept_revision(order_id=order.id, revision_id=revision.id)
    assert db.session.get(Order, order.id).lines[0].care_plan_minor == before + 8_000


def test_a_plan_that_is_not_offered_is_refused_and_the_cart_kept(app, client, shop):
    with app.app_context():
        retired = _offer()
        with atomic():
            services.retire_plan(plan_id=retired, by_user_id=None)
    add_to_cart(client, shop.tiara_id)
    for bad in ("999", "nope", "9" * 40, str(retired)):
        response = checkout(client, care_plan=bad)
        assert response.status_code == 400, bad
        assert "care plan is no" in response.get_data(as_text=True)
        assert "test-tiara" in client.get("/cart").get_data(as_text=True).lower()
    with app.app_context():
        assert db.session.execute(db.select(Order)).first() is None


def test_checkout_offers_the_plans_with_their_price_and_places_the_choice(app, client, shop):
    with app.app_context():
        plan_id = _offer()
    add_to_cart(client, shop.tiara_id)
    page = client.get("/checkout").get_data(as_text=True)
    assert "Five-year repairs: repairs covered for 5 years from delivery" in page
    assert "8 % of the piece&#39;s price" in page
    response = checkout(client, care_plan=str(plan_id))
    assert response.status_code == 302
    number = order_number(response)
    with app.app_context():
        order = services.get_order_by_number(number)
        assert order.lines[0].care_plan_name == "Five-year repairs"


def test_admins_offer_reprice_and_retire_plans_with_a_dated_history(app, client, shop):
    make_user(app, email="ada@example.org", role=Role.ADMIN.value)
    make_user(app, email="sam@example.org", role=Role.STAFF.value)
    login(client, "ada@example.org")
    token = csrf_token(client, "/staff/catalog/care-plans")
    post = client.post(
        "/staff/catalog/care-plans",
        data={
            "csrf_token": token,
            "name": "Lifetime",
            "years": "",
            "rule": "fixed",
            "amount": "450",
            "note": "launch",
        },
    )
    assert post.status_code == 302
    with app.app_context():
        plan_id = services.offered_plans()[0].id
    again = client.post(
        "/staff/catalog/care-plans",
        data={"csrf_token": token, "name": "Lifetime", "rule": "share", "amount": "5"},
    )
    assert again.status_code == 400 and "already a plan called" in again.get_data(as_text=True)
    bad = client.post(
        f"/staff/catalog/care-plans/{plan_id}",
        data={"csrf_token": token, "rule": "share", "amount": "90"},
    )
    assert bad.status_code == 400 and "between 0.01 % and 50 %" in bad.get_data(as_text=True)
    assert (
        client.post(
            f"/staff/catalog/care-plans/{plan_id}",
            data={"csrf_token": token, "rule": "share", "amount": "7.5", "note": "simpler"},
        ).status_code
        == 302
    )
    assert (
        client.post(
            f"/staff/catalog/care-plans/{plan_id}", data={"csrf_token": token, "retire": "1"}
        ).status_code
        == 302
    )
    page = client.get("/staff/catalog/care-plans").get_data(as_text=True)
    for words in ("Offered", "Changed", "Retired", "$450.00 per piece", "7.5 % of the piece"):
        assert words in page
    staff = app.test_client()
    login(staff, "sam@example.org")
    assert staff.get("/staff/catalog/care-plans").status_code == 200
    token = csrf_token(staff, "/staff/catalog/care-plans")
    refused = staff.post(
        "/staff/catalog/care-plans",
        data={"csrf_token": token, "name": "X", "rule": "fixed", "amount": "1"},
    )
    assert refused.status_code == 403


def test_a_commission_drafted_at_a_consultation_takes_its_plan_on_completion(app, client, shop):
    user_id = make_user(app)
    with app.app_context():
        plan_id = _offer()
        with atomic():
            draft = services.create_custom_order_draft(
                user_id=user_id,
                email="buyer@example.com",
                name="Bea",
                product_id=shop.custom_id,
                metal_code="yellow-gold",
                size_code="S",
            )
        number, before = draft.number, draft.total_minor
    login(client)
    page = client.get(f"/account/orders/{number}/complete").get_data(as_text=True)
    assert "Five-year repairs: repairs covered for 5 years" in page
    form = {k: v for k, v in CHECKOUT_FORM.items() if k != "email"}
    token = csrf_token(client, f"/account/orders/{number}/complete")
    refused = client.post(
        f"/account/orders/{number}/complete",
        data={**form, "email": "buyer@example.com", "csrf_token": token, "care_plan": "77"},
    )
    assert refused.status_code == 400 and "care plan is no" in refused.get_data(as_text=True)
    done = client.post(
        f"/account/orders/{number}/complete",
        data={**form, "email": "buyer@example.com", "csrf_token": token, "care_plan": plan_id},
    )
    assert done.status_code == 302
    with app.app_context():
        order = services.get_order_by_number(number)
        (line,) = order.lines
        assert order.status == "awaiting_payment" and line.care_plan_name == "Five-year repairs"
        assert order.total_minor == before + line.care_plan_minor == line.total_minor
        assert line.deposit_minor == (line.total_minor * 40 + 50) // 100  # the shop's 40 %
        assert order.payments[-1].amount_minor == line.deposit_minor


def test_the_buyer_is_told_each_plans_end_on_delivery(app, client, shop):
    from app.common.outbox import OutboxMessage

    with app.app_context():
        order = _deliver(_place_with(_offer(), item(shop.tiara_id)).id)
        ends, name = order.lines[0].care_plan_ends_on, order.lines[0].product_name
        link = services.order_url(order)
        (mail,) = db.session.execute(
            db.select(OutboxMessage).where(OutboxMessage.template == "order_delivered")
        ).scalars()
        text, html = mail.text_body, mail.html_body
    assert f"{name}: Five-year repairs covers repairs until" in text
    assert f'datetime="{ends.isoformat()}"' in html
    page = client.get(link.replace("http://diadem.test", ""), follow_redirects=True)
    page = page.get_data(as_text=True)
    assert f"{name}: Five-year repairs covers repairs until" in page
    assert f'<time datetime="{ends.isoformat()}">{ends.day} {ends:%b %Y}</time>' in page
