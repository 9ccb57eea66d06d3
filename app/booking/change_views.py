"""The customer's changes after booking, by the signed manage link: fit notes and cancelling.

Both follow the rule rescheduling does (``services.check_can_change``): a booked consultation,
until the studio's change cut-off; after it each page says why and how to reach the atelier.
Cancelling is two steps: a GET page that says what will be cancelled, then its POST button, so
no link (in an email, a preview, a prefetch) ever cancels anything.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from app.booking import forms, services
from app.booking.models import Consultation
from app.booking.view_helpers import consultation_by_token, fill_metal_choices, fit_notes_from
from app.common import dates
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import limiter

bp = Blueprint("booking_changes", __name__, url_prefix="/consultations/manage/<token>")


def _closed_reason(consultation: Consultation) -> str | None:
    """Why the customer can no longer change this online, or None while they can."""
    try:
        services.check_can_change(consultation, now=utcnow())
    except services.ChangesClosed as exc:
        return str(exc)
    return None


def _page(template: str, consultation: Consultation, token: str, *, status=200, **context):
    return (
        render_template(
            template,
            consultation=consultation,
            token=token,
            closed=_closed_reason(consultation),
            deadline_text=dates.when(
                services.change_deadline(consultation), tz=consultation.studio_timezone
            ),
            atelier_email=services.atelier_email(),
            **context,
        ),
        status,
    )


def _fit_form(consultation: Consultation) -> forms.FitNotesForm:
    """The form filled from the stored notes (GET), or from what was posted."""
    if request.method == "POST":
        form = forms.FitNotesForm()
    else:
        fit = services.fit_notes_of(consultation)
        unit = fit.circumference_unit or "cm"
        mm = fit.head_circumference_mm
        form = forms.FitNotesForm(
            formdata=None,
            data={
                "circumference": forms.measurement_for_form(mm, unit) if mm else None,
                "circumference_unit": unit,
                "hairstyle": fit.hairstyle,
                "veil": fit.veil,
                "metal": fit.metal_code or "",
                "stone_preferences": fit.stone_preferences,
                "allergies": fit.allergies,
                "budget": fit.budget,
                "notes": fit.notes,
            },
        )
    fill_metal_choices(form)
    return form


@bp.route("/fit-notes", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def edit_fit_notes(token: str):
    consultation = consultation_by_token(token)
    form = _fit_form(consultation)
    template = "booking/fit_notes_edit.html"
    if request.method == "GET":
        return _page(template, consultation, token, form=form)
    if not form.validate_on_submit():
        return _page(template, consultation, token, form=form, status=400)
    try:
        with atomic():
            changes = services.update_fit_notes(
                consultation_id=consultation.id, fit=fit_notes_from(form), now=utcnow()
            )
    except services.ChangesClosed:
        # The page itself says why (the cut-off passed, or it is no longer booked).
        return _page(template, consultation_by_token(token), token, form=form, status=400)
    if changes:
        flash("Your fit notes are saved; the atelier sees them as they are now.", "success")
    else:
        flash("Nothing had changed, so your fit notes stay as they were.", "info")
    return redirect(url_for("booking.manage", token=token))


@bp.route("/cancel", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def cancel(token: str):
    """GET says what will be cancelled; only its POST button cancels."""
    consultation = consultation_by_token(token)
    template = "booking/consultation_cancel.html"
    if request.method == "GET":
        return _page(template, consultation, token, form=forms.CancelForm(formdata=None))
    form = forms.CancelForm()
    if not form.validate_on_submit():
        return _page(template, consultation, token, form=form, status=400)
    try:
        with atomic():
            services.cancel_consultation(consultation_id=consultation.id, now=utcnow())
    except services.ChangesClosed:
        # The page itself says why (the cut-off passed, or it is no longer booked).
        return _page(template, consultation_by_token(token), token, form=form, status=400)
    flash("Your consultation is cancelled. We hope to see you another time.", "info")
    return redirect(url_for("booking.manage", token=token))
