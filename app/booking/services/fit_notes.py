"""The customer changing their fit notes after booking, until the change cut-off."""

from __future__ import annotations

from datetime import datetime

from app.booking.models import FIT_NOTES_CHANGED_HEADING, Consultation, ConsultationNote
from app.booking.services.bookings import FitNotes, apply_fit, check_can_change
from app.booking.services.notifications import notify_fit_notes_changed
from app.booking.services.reading import get_consultation
from app.extensions import db

FIT_LABELS = (
    "Head circumference",
    *("Hairstyle", "Veil", "Metal", "Stones", "Allergies", "Budget", "Notes"),  # fit_note_items
)


def fit_notes_of(consultation: Consultation) -> FitNotes:
    """The consultation's fit notes as they stand, to fill the form that changes them."""
    return FitNotes(
        head_circumference_mm=consultation.head_circumference_mm,
        circumference_unit=consultation.circumference_unit,
        hairstyle=consultation.hairstyle,
        veil=consultation.veil,
        metal_code=consultation.metal_code,
        stone_preferences=consultation.stone_preferences,
        allergies=consultation.allergies,
        budget=consultation.budget,
        notes=consultation.notes,
    )


def _as_read(consultation: Consultation) -> dict[str, str]:
    """Each fit note as staff read it, blanks included, so two versions can be compared."""
    shown = dict.fromkeys(FIT_LABELS, "")
    shown["Head circumference"] = consultation.head_circumference_text or ""
    shown.update(consultation.fit_note_items())
    return shown


def _changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    lines = []
    for label, old in before.items():
        new = after[label]
        if old != new:
            lines.append(f"{label}: {old or '(blank)'} → {new or '(blank)'}")
    return lines


def update_fit_notes(*, consultation_id: int, fit: FitNotes, now: datetime) -> list[str]:
    """Replace the fit notes before the cut-off; return what changed (empty: nothing did).

    What changed is kept as a note without an author at ``now``, so staff see when and what,
    old and new, and emailed to whoever holds the consultation. Raises ChangesClosed after the
    cut-off or once it is no longer booked.
    """
    consultation = get_consultation(consultation_id=consultation_id)
    check_can_change(consultation, now=now)
    before = _as_read(consultation)
    apply_fit(consultation, fit)
    db.session.flush()
    db.session.expire(consultation, ["metal"])  # the name of the metal now chosen
    changes = _changes(before, _as_read(consultation))
    if changes:
        consultation.updated_at = now
        consultation.staff_notes.append(
            ConsultationNote(
                author_id=None,
                body="\n".join([FIT_NOTES_CHANGED_HEADING, *changes]),
                created_at=now,
            )
        )
        notify_fit_notes_changed(consultation, changes)
    return changes
