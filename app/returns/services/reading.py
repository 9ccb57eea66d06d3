"""Reading returns: the staff list, one return, an order's returns, and what the buyer may do."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import selectinload

from app.checkout import services as checkout
from app.checkout.models import Order, OrderLine
from app.domain import returns as policy
from app.domain.clock import utcnow
from app.extensions import db
from app.returns.models import OPEN_STATUSES, RETURN_STATUSES, ReturnLine, ReturnRequest
from app.returns.services.errors import ReturnNotFound


def line_kind(line: OrderLine) -> str:
    return policy.CUSTOM if line.is_custom else policy.STUDIO


def get_return(return_id: int) -> ReturnRequest:
    request = db.session.get(ReturnRequest, return_id)
    if request is None:
        raise ReturnNotFound("No such return.")
    return request


def list_returns(*, status: str | None = None, limit: int = 200) -> list[ReturnRequest]:
    """Returns for the staff list: open ones first (oldest first), then the rest, newest first."""
    stmt = db.select(ReturnRequest).options(selectinload(ReturnRequest.lines))
    if status == "open":
        stmt = stmt.where(ReturnRequest.status.in_(OPEN_STATUSES))
    elif status in RETURN_STATUSES:
        stmt = stmt.where(ReturnRequest.status == status)
    rows = list(db.session.execute(stmt.order_by(ReturnRequest.id).limit(limit)).scalars())
    rows.sort(key=lambda r: (not r.is_open, r.requested_at if r.is_open else -r.id))
    return rows


def returns_for_order(order_id: int) -> list[ReturnRequest]:
    return list(
        db.session.execute(
            db.select(ReturnRequest)
            .where(ReturnRequest.order_id == order_id)
            .order_by(ReturnRequest.id)
        ).scalars()
    )


def return_of_order(*, order: Order, return_id: int) -> ReturnRequest:
    request = db.session.get(ReturnRequest, return_id)
    if request is None or request.order_id != order.id:
        raise ReturnNotFound("No such return.")
    return request


def _lines_on_live_returns(order_id: int) -> set[int]:
    return set(
        db.session.execute(
            db.select(ReturnLine.order_line_id)
            .join(ReturnRequest)
            .where(ReturnRequest.order_id == order_id, ReturnLine.active.is_(True))
        ).scalars()
    )


@dataclass(frozen=True)
class ReturnableLine:
    line: OrderLine
    kind: str  # studio or custom
    note: str  # what the policy says about this line (custom: faults only)


@dataclass(frozen=True)
class ReturnOptions:
    """What the return page shows: the window, the lines that may be returned, past returns."""

    order: Order
    window: policy.WindowState
    lines: list[ReturnableLine] = field(default_factory=list)
    returns: list[ReturnRequest] = field(default_factory=list)

    @property
    def can_request(self) -> bool:
        return self.window.open and bool(self.lines)


def return_options(order: Order) -> ReturnOptions:
    """The window (from the delivery day, on the studio's calendar) and the returnable lines."""
    window = policy.window_state(
        delivered_at=order.delivered_at, now=utcnow(), zone=checkout.studio_zone()
    )
    if order.status != "delivered" and window.open:
        window = policy.WindowState(
            False, window.delivered_on, window.last_day, "This order can no longer be returned."
        )
    taken = _lines_on_live_returns(order.id)
    lines = [
        ReturnableLine(
            line=line,
            kind=line_kind(line),
            note=policy.POLICY_TEXT[policy.CUSTOM] if line.is_custom else "",
        )
        for line in order.lines
        if line.id not in taken and not (line.piece_id and line.piece_released_at)
    ]
    return ReturnOptions(
        order=order, window=window, lines=lines, returns=returns_for_order(order.id)
    )
