"""Reading consultations: by id, for their owner."""

from __future__ import annotations

from sqlalchemy.orm import selectinload

from app.booking.models import Consultation, ConsultationNote
from app.booking.services.errors import ConsultationNotFound
from app.extensions import db


def _with_details():
    return (
        selectinload(Consultation.product),
        selectinload(Consultation.snapshot),
        selectinload(Consultation.staff_notes).selectinload(ConsultationNote.author),
    )


def get_consultation(*, consultation_id: int) -> Consultation:
    consultation = db.session.get(Consultation, consultation_id, options=_with_details())
    if consultation is None:
        raise ConsultationNotFound("We could not find that consultation.")
    return consultation


def consultation_for_user(*, consultation_id: int, user_id: int) -> Consultation:
    """The consultation if it belongs to user_id; anyone else's is simply not found."""
    consultation = get_consultation(consultation_id=consultation_id)
    if consultation.user_id != user_id:
        raise ConsultationNotFound("We could not find that consultation.")
    return consultation


def consultations_for_user(*, user_id: int) -> list[Consultation]:
    return list(
        db.session.execute(
            db.select(Consultation)
            .where(Consultation.user_id == user_id)
            .order_by(Consultation.starts_at.desc())
        ).scalars()
    )
