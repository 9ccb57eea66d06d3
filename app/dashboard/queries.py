"""The staff dashboard: what needs attention today, gathered in a handful of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func

from app.catalog.models import EditionRun, Piece, PieceStatus, piece_is_free
from app.checkout.models import Order, OrderLine
from app.common import dates
from app.domain import production
from app.domain.clock import utcnow
from app.domain.orders import LABELS, PRODUCTION_STOPPED
from app.extensions import db
from app.repairs import services as repairs
from app.repairs.models import RepairTicket
from app.staff.models import StageTransition

NEARLY_SOLD_OUT_PERMILLE = 200  # an edition with a fifth or less of its pieces left
_STOPPED = sorted(status.value for status in PRODUCTION_STOPPED)


def studio_today() -> date:
    zone = ZoneInfo(current_app.config.get("STUDIO_TIMEZONE", "Europe/London"))
    return datetime.now(UTC).astimezone(zone).date()


def studio_time(moment: datetime) -> str:
    """A naive-UTC time as the studio's wall clock ("14:30")."""
    return dates.clock(moment)


@dataclass(frozen=True)
class ReservedPiece:
    piece: Piece
    order: Order | None


@dataclass(frozen=True)
class NearlySoldOut:
    run: EditionRun
    free: int


@dataclass(frozen=True)
class Board:
    stage_counts: list[StageCount]
    status_counts: list[tuple[str, str, int]]
    in_production: list[tuple[OrderLine, Order, datetime | None]]
    open_repairs: list[RepairTicket]
    reserved: list[ReservedPiece]
    nearly_sold_out: list[NearlySoldOut]


def reserved_pieces() -> list[ReservedPiece]:
    now = utcnow()
    rows = db.session.execute(
        db.select(Piece, Order)
        .outerjoin(
            OrderLine,
            (OrderLine.piece_id == Piece.id) & OrderLine.piece_released_at.is_(None),
        )
        .outerjoin(Order, Order.id == OrderLine.order_id)
        .where(Piece.status == PieceStatus.RESERVED.value, Piece.reserved_until >= now)
        .order_by(Piece.reserved_until)
    ).all()
    return [ReservedPiece(piece=piece, order=order) for piece, order in rows]


def nearly_sold_out() -> list[NearlySoldOut]:
    free = (
        db.select(Piece.run_id, func.count(Piece.id).label("free"))
        .where(piece_is_free(utcnow()))
        .group_by(Piece.run_id)
        .subquery()
    )
    rows = db.session.execute(
        db.select(EditionRun, free.c.free)
        .join(free, free.c.run_id == EditionRun.id)
        .where(free.c.free * 1000 <= EditionRun.size * NEARLY_SOLD_OUT_PERMILLE)
        .order_by(free.c.free, EditionRun.id)
    ).all()
    return [NearlySoldOut(run=run, free=count) for run, count in rows]


@dataclass(frozen=True)
class StageCount:
    stage: str
    label: str
    count: int


def stage_counts() -> list[StageCount]:
    rows = dict(
        db.session.execute(
            db.select(OrderLine.stage, db.func.count(OrderLine.id))
            .join(Order, Order.id == OrderLine.order_id)
            .where(OrderLine.stage.is_not(None), Order.status.not_in(_STOPPED))
            .group_by(OrderLine.stage)
        ).all()
    )
    return [
        StageCount(stage=s, label=production.stage_label(s), count=rows.get(s, 0))
        for s in production.PRODUCTION_STAGES
    ]


def status_counts() -> list[tuple[str, str, int]]:
    """(status, label, count) for each order status in use, in the lifecycle's order."""
    rows = db.session.execute(
        db.select(Order.status, db.func.count(Order.id)).group_by(Order.status)
    ).all()
    counts = dict(rows)
    return [(s.value, label, counts[s.value]) for s, label in LABELS.items() if counts.get(s.value)]


def lines_in_production(limit: int = 100) -> list[tuple[OrderLine, Order, datetime | None]]:
    """Lines being worked on, oldest stage change first, with when they entered their stage."""
    entered = (
        db.select(
            StageTransition.order_line_id, db.func.max(StageTransition.created_at).label("at")
        )
        .group_by(StageTransition.order_line_id)
        .subquery()
    )
    rows = db.session.execute(
        db.select(OrderLine, Order, entered.c.at)
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(entered, entered.c.order_line_id == OrderLine.id)
        .where(
            OrderLine.stage.is_not(None),
            OrderLine.stage != "shipped",
            Order.status.not_in(_STOPPED),
        )
        .order_by(db.func.coalesce(entered.c.at, Order.paid_at), OrderLine.id)
        .limit(limit)
    ).all()
    return [(line, order, at) for line, order, at in rows]


def build() -> Board:
    return Board(
        stage_counts=stage_counts(),
        status_counts=status_counts(),
        in_production=lines_in_production(),
        open_repairs=repairs.list_tickets(open_only=True)[:20],
        reserved=reserved_pieces(),
        nearly_sold_out=nearly_sold_out(),
    )
