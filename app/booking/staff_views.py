"""Staff pages for consultations: the calendar, a consultation's notes and outcome, order
drafts, and the studio's booking settings."""

from __future__ import annotations

from itertools import groupby

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from app.accounts.access import staff_required
from app.accounts.permissions import Permission, can, permission_required
from app.booking import artisan_forms, forms, services
from app.booking.models import Consultation, ConsultationMode
from app.booking.view_helpers import show_error, studio_today
from app.catalog import services as catalog
from app.common import dates
from app.common.forms import choices
from app.common.input_guards import parse_id
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.domain.scheduling import (
    WEEKDAYS,
    format_hours,
    parse_slot_key,
)

staff_bp = Blueprint("booking_staff", __name__, url_prefix="/staff/consultations")


# ---------------------------------------------------------------------------------- staff pages


def _staff_consultation(consultation_id: int) -> Consultation:
    try:
        return services.get_consultation(consultation_id=consultation_id)
    except services.ConsultationNotFound:
        abort(404)


@staff_bp.get("")
@staff_required
def calendar():
    past = request.args.get("view") == "past"
    include_cancelled = request.args.get("cancelled") == "1"
    consultations = services.staff_schedule(
        now=utcnow(), past=past, include_cancelled=include_cancelled
    )
    days = [
        (day, list(group))
        for day, group in groupby(consultations, key=lambda c: c.local_start.date())
    ]
    return render_template(
        "booking/staff_calendar.html",
        now=utcnow(),
        days=days,
        past=past,
        include_cancelled=include_cancelled,
        today=studio_today(),
        studio_tz=services.studio_timezone(),
    )


def _draft_form(formdata=None) -> forms.OrderDraftForm:
    form = forms.OrderDraftForm(formdata=formdata)
    form.product.choices = choices(
        [("", "From the consultation")] + [(str(p.id), p.name) for p in services.custom_products()]
    )
    form.metal.choices = choices(
        [("", "From the fit notes")] + [(m.code, m.name) for m in catalog.all_metals()]
    )
    form.size.choices = choices(
        [("", "From the try-on or measurement")]
        + [(s.code, f"{s.code} — {s.label}") for s in catalog.all_sizes()]
    )
    return form


def _move_form(consultation: Consultation, formdata=None) -> artisan_forms.MoveForm:
    """The move form: the artisan asked for (?artisan=, else the booking's own) and their free
    slots, the booking's own time left out only when the artisan is its own."""
    artisans = services.bookable_artisans()
    form = artisan_forms.MoveForm(formdata=formdata)
    form.artisan.choices = choices(
        [("", "Any artisan (first free)")] + [(str(a.id), a.display_name) for a in artisans]
    )
    wanted = parse_id(request.values.get("artisan"))
    if wanted is None and "artisan" not in request.values:
        wanted = services.keeps_artisan(consultation.artisan_id)
    artisan_id = wanted if wanted in {a.id for a in artisans} else None
    form.artisan.data = str(artisan_id) if artisan_id else ""
    now = utcnow()
    slots = services.available_slots(
        now=now,
        exclude_id=consultation.id,
        artisan_id=artisan_id,
        video=consultation.mode == ConsultationMode.VIDEO.value,  # as the move will claim
    )
    form.slot.choices = choices(
        (s.key, dates.when(s.starts_at, "full", tz=consultation.studio_timezone))
        for s in slots
        if not (s.starts_at == consultation.starts_at and artisan_id == consultation.artisan_id)
    )
    return form


def _render_staff_detail(consultation: Consultation, *, note_form=None, move_form=None, status=200):
    return (
        render_template(
            "booking/staff_consultation.html",
            consultation=consultation,
            note_form=note_form or forms.NoteForm(formdata=None),
            outcome_form=forms.OutcomeForm(formdata=None),
            draft_form=_draft_form(),
            draft_link=services.draft_link(consultation),
            started=utcnow() >= consultation.starts_at,
            move_form=(move_form or _move_form(consultation) if consultation.is_active else None),
        ),
        status,
    )


@staff_bp.get("/<int:consultation_id>")
@staff_required
def staff_consultation(consultation_id: int):
    return _render_staff_detail(_staff_consultation(consultation_id))


@staff_bp.post("/<int:consultation_id>/outcome")
@staff_required
def mark_outcome(consultation_id: int):
    form = forms.OutcomeForm()
    if form.validate_on_submit():
        try:
            with atomic():
                services.mark_outcome(
                    consultation_id=consultation_id, status=form.status.data, now=utcnow()
                )
        except services.ConsultationNotFound:
            abort(404)
        except services.BookingError as exc:
            flash(str(exc), "danger")
        else:
            flash("Outcome saved.", "success")
    else:
        flash("Choose done or no-show.", "danger")
    return redirect(url_for("booking_staff.staff_consultation", consultation_id=consultation_id))


@staff_bp.post("/<int:consultation_id>/move")
@staff_required
def move(consultation_id: int):
    """Move a booking to another time and/or artisan; the customer gets the updated invite."""
    consultation = _staff_consultation(consultation_id)
    if not consultation.is_active:
        flash(f"This consultation is {consultation.status_label.lower()}; it cannot be moved.")
        return redirect(url_for(".staff_consultation", consultation_id=consultation_id))
    form = _move_form(consultation, formdata=request.form)
    if form.validate_on_submit():
        try:
            with atomic():
                moved = services.move_consultation(
                    consultation_id=consultation_id,
                    starts_at=parse_slot_key(form.slot.data),
                    artisan_id=parse_id(form.artisan.data),
                    now=utcnow(),
                )
        except services.BookingError as exc:
            show_error(form, exc)
        else:
            who = moved.public_artisan.name if moved.public_artisan else "the atelier"
            flash(
                f"Moved to {moved.when()} with {who}; the customer is emailed the new invite.",
                "success",
            )
            return redirect(url_for(".staff_consultation", consultation_id=consultation_id))
    elif not form.slot.errors:
        form.slot.errors = ["Pick one of the free times listed."]
    return _render_staff_detail(_staff_consultation(consultation_id), move_form=form, status=400)


@staff_bp.post("/<int:consultation_id>/notes")
@staff_required
def add_note(consultation_id: int):
    form = forms.NoteForm()
    if form.validate_on_submit():
        try:
            with atomic():
                services.add_staff_note(
                    consultation_id=consultation_id, author_id=current_user.id, body=form.body.data
                )
        except services.ConsultationNotFound:
            abort(404)
        flash("Note added.", "success")
        return redirect(
            url_for("booking_staff.staff_consultation", consultation_id=consultation_id)
        )
    return _render_staff_detail(_staff_consultation(consultation_id), note_form=form, status=400)


@staff_bp.post("/<int:consultation_id>/order-draft")
@staff_required
def order_draft(consultation_id: int):
    form = _draft_form(formdata=request.form)
    if not form.validate_on_submit():
        flash("Choose the piece, metal and size from the lists.", "danger")
    else:
        try:
            with atomic():
                consultation = services.create_order_draft(
                    consultation_id=consultation_id,
                    now=utcnow(),
                    product_id=parse_id(form.product.data),
                    metal_code=form.metal.data or None,
                    size_code=form.size.data or None,
                )
        except services.ConsultationNotFound:
            abort(404)
        except services.BookingError as exc:
            flash(str(exc), "danger")
        else:
            flash(
                f"Custom order draft {consultation.order_number} created with the fit notes.",
                "success",
            )
    return redirect(url_for("booking_staff.staff_consultation", consultation_id=consultation_id))


def _settings_form_defaults(form: forms.SettingsForm) -> None:
    settings = services.get_settings()
    for name in services.SETTINGS_FIELDS:
        getattr(form, name).data = getattr(settings, name)
    hours = services.weekly_hours()
    for weekday, field in enumerate(form.hour_fields()):
        field.data = format_hours(hours.get(weekday, ()))


def _render_settings(form=None, exception_form=None, status=200):
    if form is None:
        form = forms.SettingsForm(formdata=None)
        _settings_form_defaults(form)
    now = utcnow()
    return (
        render_template(
            "booking/staff_settings.html",
            form=form,
            exception_form=exception_form or forms.ExceptionForm(formdata=None),
            delete_form=forms.DeleteForm(formdata=None),
            exceptions=services.list_exceptions(since=studio_today()),
            clashes=services.bookings_clashing_with_exceptions(now=now),
            weekdays=WEEKDAYS,
            studio_tz=services.studio_timezone(),
            artisan_calendars=services.artisan_calendars(),
        ),
        status,
    )


@staff_bp.route("/settings", methods=["GET", "POST"])
@staff_required
def settings():
    if request.method == "GET":
        return _render_settings()
    if not can(current_user, Permission.STUDIO_SETTINGS):
        abort(403)
    form = forms.SettingsForm()
    if form.validate_on_submit():
        changes = services.SettingsUpdate(
            **{name: getattr(form, name).data for name in services.SETTINGS_FIELDS},
            weekly_hours=form.parsed_hours,
        )
        try:
            with atomic():
                services.update_settings(changes=changes)
        except services.BookingError as exc:
            flash(str(exc), "danger")
        else:
            flash("Consultation settings saved. Existing bookings keep their times.", "success")
            return redirect(url_for("booking_staff.settings"))
    return _render_settings(form=form, status=400)


@staff_bp.post("/settings/exceptions")
@staff_required
@permission_required(Permission.STUDIO_SETTINGS)
def add_exception():
    form = forms.ExceptionForm()
    if form.validate_on_submit():
        try:
            with atomic():
                count = services.set_exception(
                    first_day=form.first_day.data,
                    last_day=form.last_day.data,
                    hours=form.parsed_hours,
                    note=form.note.data or "",
                )
        except services.BookingError as exc:
            show_error(form, exc)
        else:
            what = "special hours" if form.parsed_hours else "closed"
            flash(f"Set {count} day(s) as {what}.", "success")
            return redirect(url_for("booking_staff.settings"))
    return _render_settings(exception_form=form, status=400)


@staff_bp.post("/settings/exceptions/<int:exception_id>/delete")
@staff_required
@permission_required(Permission.STUDIO_SETTINGS)
def delete_exception(exception_id: int):
    if forms.DeleteForm().validate_on_submit():
        with atomic():
            services.delete_exception(exception_id=exception_id)
        flash("Exception removed.", "success")
    return redirect(url_for("booking_staff.settings"))


# ------------------------------------------------------------------------- artisans' calendars


def _artisan_or_404(artisan_id: int):
    artisan = services.artisan_profile(artisan_id)
    if artisan is None:
        abort(404)
    return artisan


def _render_artisan(artisan, *, form=None, exception_form=None, status=200):
    if form is None:
        calendar = services.calendar_of(artisan.id)
        form = artisan_forms.ArtisanCalendarForm(
            formdata=None,
            takes_consultations=calendar.takes_consultations,
            own_hours=calendar.own_hours,
        )
        hours = (
            services.artisan_weekly_hours(artisan.id)
            if calendar.own_hours
            else services.weekly_hours()
        )
        for weekday, field in enumerate(form.hour_fields()):
            field.data = format_hours(hours.get(weekday, ()))
    return (
        render_template(
            "booking/staff_artisan_calendar.html",
            artisan=artisan,
            form=form,
            exception_form=exception_form or artisan_forms.ArtisanExceptionForm(formdata=None),
            delete_form=forms.DeleteForm(formdata=None),
            exceptions=services.list_artisan_exceptions(
                artisan_id=artisan.id, since=studio_today()
            ),
            studio_tz=services.studio_timezone(),
        ),
        status,
    )


@staff_bp.route("/artisans/<int:artisan_id>", methods=["GET", "POST"])
@staff_required
def artisan_calendar(artisan_id: int):
    """An artisan's consultation calendar: taking bookings, their week, their days off."""
    artisan = _artisan_or_404(artisan_id)
    if request.method == "GET":
        return _render_artisan(artisan)
    if not can(current_user, Permission.STUDIO_SETTINGS):
        abort(403)
    form = artisan_forms.ArtisanCalendarForm()
    if not form.validate_on_submit():
        return _render_artisan(artisan, form=form, status=400)
    try:
        with atomic():
            services.update_artisan_calendar(
                artisan_id=artisan_id,
                takes_consultations=form.takes_consultations.data,
                own_hours=form.own_hours.data,
                weekly_hours=form.parsed_hours,
            )
    except services.BookingError as exc:
        flash(str(exc), "danger")
        return _render_artisan(artisan, form=form, status=400)
    flash(
        f"{artisan.display_name}'s calendar saved. Existing bookings keep their times.", "success"
    )
    return redirect(url_for(".artisan_calendar", artisan_id=artisan_id))


@staff_bp.post("/artisans/<int:artisan_id>/exceptions")
@staff_required
@permission_required(Permission.STUDIO_SETTINGS)
def add_artisan_exception(artisan_id: int):
    artisan = _artisan_or_404(artisan_id)
    form = artisan_forms.ArtisanExceptionForm()
    if form.validate_on_submit():
        try:
            with atomic():
                count = services.set_artisan_exception(
                    artisan_id=artisan_id,
                    first_day=form.first_day.data,
                    last_day=form.last_day.data,
                    hours=form.parsed_hours,
                    note=form.note.data or "",
                )
        except services.BookingError as exc:
            show_error(form, exc)
        else:
            what = "special hours" if form.parsed_hours else "days off"
            flash(f"Set {count} day(s) as {what} for {artisan.display_name}.", "success")
            return redirect(url_for(".artisan_calendar", artisan_id=artisan_id))
    return _render_artisan(artisan, exception_form=form, status=400)


@staff_bp.post("/artisans/<int:artisan_id>/exceptions/<int:exception_id>/delete")
@staff_required
@permission_required(Permission.STUDIO_SETTINGS)
def delete_artisan_exception(artisan_id: int, exception_id: int):
    _artisan_or_404(artisan_id)
    if forms.DeleteForm().validate_on_submit():
        with atomic():
            services.delete_artisan_exception(artisan_id=artisan_id, exception_id=exception_id)
        flash("Exception removed.", "success")
    return redirect(url_for(".artisan_calendar", artisan_id=artisan_id))
