"""Care plans: what admins offer, the buyer's choice at checkout, and the plan frozen on a line.

A plan row is what is offered now; its dated history (``care_plan_changes``) says who offered,
repriced or retired it, when and why. A piece sold with a plan keeps the plan's name, term,
rule and price on its order line (and its price as the ``care_plan`` line of the frozen
breakdown), so later changes alter nothing sold. The end date is written on delivery.

Commissions take a plan too, priced on the final piece: when staff revise a commission's
price, a share-priced plan follows the new price (``app.checkout.services.revisions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.checkout.models import CarePlan, CarePlanChange, Order, OrderLine
from app.checkout.services.errors import CheckoutError
from app.checkout.services.records import freeze_breakdown
from app.checkout.services.settings import studio_zone
from app.common.locks import lock_row
from app.common.transactions import atomic
from app.domain import careplans
from app.domain.clock import utcnow
from app.domain.money import DEFAULT_CURRENCY, Money, parse_major
from app.domain.pricing import Breakdown, deposit_split
from app.extensions import db

NOTE_MAX = 200


class CarePlanError(CheckoutError):
    """A plan that cannot be offered, changed or chosen; the message is for people."""


def offered_plans() -> list[CarePlan]:
    """The plans a buyer may choose now, shortest term first, lifetime last."""
    plans = db.session.execute(select(CarePlan).where(CarePlan.retired_at.is_(None))).scalars()
    return sorted(plans, key=lambda p: (p.years is None, p.years or 0, p.name))


def all_plans() -> list[CarePlan]:
    """Every plan, offered ones first (the admin page)."""
    plans = db.session.execute(select(CarePlan)).scalars()
    return sorted(plans, key=lambda p: (p.retired_at is not None, p.years is None, p.years or 0))


def plan_history(*, limit: int = 50) -> list[CarePlanChange]:
    """The latest changes to any plan, newest first."""
    return list(
        db.session.execute(
            select(CarePlanChange)
            .order_by(CarePlanChange.changed_at.desc(), CarePlanChange.id.desc())
            .limit(limit)
        ).scalars()
    )


def parse_rule_amount(rule: str, text: str, *, currency: str = DEFAULT_CURRENCY) -> int:
    """An admin's figure as the rule stores it: "7.5" % as 750 bp, "$150" as 15000 minor."""
    text = (text or "").strip().rstrip("%").strip().lstrip("$").strip()
    if rule == careplans.SHARE:
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise CarePlanError(f"{text[:20]!r} is not a percentage.") from exc
        bp = value * 100
        if not bp.is_finite() or bp != bp.to_integral_value():
            raise CarePlanError("Give the share with at most two decimals, e.g. 7.5.")
        return int(bp)
    if rule == careplans.FIXED:
        try:
            return parse_major(text, currency).minor
        except ValueError as exc:
            raise CarePlanError(str(exc)) from exc
    raise CarePlanError("A plan is priced as a share of the piece or a fixed amount.")


def _terms(*, name: str, years: int | None, rule: str, amount: int) -> careplans.CarePlanTerms:
    try:
        return careplans.CarePlanTerms(name=name, years=years, rule=rule, amount=amount)
    except careplans.CarePlanError as exc:
        raise CarePlanError(str(exc)) from exc


def _record(plan: CarePlan, action: str, note: str, by_user_id: int | None) -> None:
    plan.changes.append(
        CarePlanChange(
            action=action,
            rule=plan.rule,
            amount=plan.amount,
            note=" ".join(note.split())[:NOTE_MAX],
            changed_by_id=by_user_id,
            changed_at=utcnow(),
        )
    )


def offer_plan(
    *, name: str, years: int | None, rule: str, amount: int, note: str = "", by_user_id: int
) -> CarePlan:
    """Offer a new plan at checkout from now on."""
    name = " ".join(name.split())
    terms = _terms(name=name, years=years, rule=rule, amount=amount)
    taken = db.session.execute(select(CarePlan.id).where(CarePlan.name == name)).first()
    if taken is not None:
        raise CarePlanError(f"There is already a plan called {name!r}.")
    plan = CarePlan(name=terms.name, years=terms.years, rule=terms.rule, amount=terms.amount)
    _record(plan, "offered", note, by_user_id)
    try:
        with atomic():  # a savepoint: another admin may have offered the name meanwhile
            db.session.add(plan)
            db.session.flush()
    except IntegrityError as exc:
        raise CarePlanError(f"There is already a plan called {name!r}.") from exc
    return plan


def _locked(plan_id: int) -> CarePlan:
    plan = lock_row(CarePlan, plan_id)
    if plan is None:
        raise CarePlanError("No such care plan.")
    if plan.retired_at is not None:
        raise CarePlanError(f"{plan.name} is retired; offer a new plan instead.")
    return plan


def change_plan(
    *, plan_id: int, rule: str, amount: int, note: str = "", by_user_id: int
) -> CarePlan:
    """Reprice a plan for buyers from now on; pieces already sold keep what they bought."""
    plan = _locked(plan_id)
    terms = _terms(name=plan.name, years=plan.years, rule=rule, amount=amount)
    if (terms.rule, terms.amount) == (plan.rule, plan.amount):
        raise CarePlanError(f"{plan.name} is already priced so.")
    plan.rule, plan.amount = terms.rule, terms.amount
    _record(plan, "changed", note, by_user_id)
    db.session.flush()
    return plan


def retire_plan(*, plan_id: int, note: str = "", by_user_id: int) -> CarePlan:
    """Stop offering a plan; pieces sold with it stay covered as sold."""
    plan = _locked(plan_id)
    plan.retired_at = utcnow()
    _record(plan, "retired", note, by_user_id)
    db.session.flush()
    return plan


def chosen_plan(plan_id: object) -> CarePlan | None:
    """The plan a buyer chose at checkout (None or "" for none); CarePlanError if not offered."""
    if plan_id in (None, ""):
        return None
    text = str(plan_id)
    if not text.isdigit() or len(text) > 9:
        raise CarePlanError("That care plan is not offered; choose another or none.")
    plan = db.session.get(CarePlan, int(text))
    if plan is None or plan.retired_at is not None:
        raise CarePlanError("That care plan is no longer offered; choose another or none.")
    return plan


@dataclass(frozen=True)
class PlanQuote:
    """A plan as the checkout page offers it: its rule and what it adds to this cart."""

    plan: CarePlan
    rule_text: str
    term_text: str
    price: Money


def quote_plans(*, breakdowns: list[tuple[Breakdown, int]], currency: str) -> list[PlanQuote]:
    """Each offered plan with its price for these pieces (breakdown, quantity pairs)."""
    quotes = []
    for plan in offered_plans():
        if plan.currency != currency:
            continue
        terms = plan.terms
        price = Money.zero(currency)
        for breakdown, quantity in breakdowns:
            priced = careplans.with_care_plan(breakdown, terms)
            price = price + careplans.care_plan_amount(priced).times(quantity)
        quotes.append(PlanQuote(plan, terms.rule_text(currency), terms.term_text, price))
    return quotes


def with_plan(breakdown: Breakdown, plan: CarePlan | None) -> Breakdown:
    """A piece's breakdown with the chosen plan's line (unchanged without a plan)."""
    if plan is None:
        return breakdown
    if plan.currency != breakdown.currency:
        raise CarePlanError(f"{plan.name} is priced in another currency.")
    return careplans.with_care_plan(breakdown, plan.terms)


def freeze_plan(line: OrderLine, plan: CarePlan) -> None:
    """Write the plan as sold on a new line whose breakdown already carries its price."""
    terms = plan.terms
    line.care_plan_id = plan.id
    line.care_plan_name = terms.name
    line.care_plan_years = terms.years
    line.care_plan_rule = terms.rule
    line.care_plan_rule_amount = terms.amount
    line.care_plan_minor = careplans.care_plan_amount(line.frozen_breakdown()).minor


def add_plan_to_draft(order: Order, plan: CarePlan) -> None:
    """A commission drafted at a consultation takes the plan its buyer chose on completing it;
    the deposit is its share of the new total (the caller recomputes the order's totals)."""
    for line in order.lines:
        priced = with_plan(line.frozen_breakdown(), plan)
        line.breakdown = freeze_breakdown(priced)
        line.total_minor = priced.total.minor
        freeze_plan(line, plan)
        if line.is_custom:
            percent = line.product.deposit_percent or 100
            line.deposit_minor = deposit_split(priced.total, percent)[0].minor


def reprice_plan(line: OrderLine, breakdown: Breakdown) -> Breakdown:
    """A commission's revised breakdown with its plan priced on the revised piece."""
    terms = line.care_plan_terms
    if terms is None:
        return breakdown
    return careplans.with_care_plan(breakdown, terms)


def start_plans(order: Order, *, delivered_at: datetime) -> None:
    """On delivery: write each plan's end date on its line (a lifetime plan has none)."""
    zone = studio_zone()
    for line in order.lines:
        if line.care_plan_rule is not None:
            line.care_plan_ends_on = careplans.care_plan_end(
                delivered_at=delivered_at, zone=zone, years=line.care_plan_years
            )


def plan_cover_ends(line: OrderLine) -> date | None:
    """The last day the line's plan covers repairs, for the cover decision: None without a
    delivered plan, ``date.max`` for a lifetime plan (it never ends)."""
    if line.care_plan_rule is None or line.order.delivered_at is None:
        return None
    return date.max if line.care_plan_years is None else line.care_plan_ends_on


@dataclass(frozen=True)
class PlanCover:
    """The care plan a piece's current owner bought, as the passport and certificate show it."""

    name: str
    term_text: str
    ends_on: date | None  # None: lifetime, or not delivered yet
    is_lifetime: bool
    started: bool  # delivered: the plan runs (its end date is known)


def plan_on_piece(
    *, piece_id: int | None = None, order_line_id: int | None = None
) -> PlanCover | None:
    """The plan on the paid order line that now owns this numbered piece (or commission).

    A piece returned and sold again shows its new owner's plan, if any: a released line
    (``piece_released_at``) no longer speaks for the piece.
    """
    query = (
        select(OrderLine)
        .join(Order)
        .where(OrderLine.care_plan_rule.is_not(None), Order.paid_at.is_not(None))
    )
    if piece_id is not None:
        query = query.where(OrderLine.piece_id == piece_id, OrderLine.piece_released_at.is_(None))
    elif order_line_id is not None:
        query = query.where(OrderLine.id == order_line_id)
    else:
        return None
    line = db.session.execute(query.order_by(OrderLine.id.desc()).limit(1)).scalar_one_or_none()
    return None if line is None else plan_cover(line)


def plan_cover(line: OrderLine) -> PlanCover | None:
    """The plan sold with this order line, as the buyer is shown it, or None."""
    terms = line.care_plan_terms
    if terms is None:
        return None
    return PlanCover(
        name=terms.name,
        term_text=terms.term_text,
        ends_on=line.care_plan_ends_on,
        is_lifetime=terms.is_lifetime,
        started=line.order.delivered_at is not None,
    )
