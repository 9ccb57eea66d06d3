"""Booking pages for customers and staff.

Each action runs its service call in ``with atomic():`` and maps booking's errors to form errors
or flashes outside that block, so a refused booking leaves nothing behind (and sends no mail).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from itertools import groupby

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required

from app.accounts.access import staff_required
from app.accounts.permissions import Permission, can, permission_required
from app.booking import forms, services
from app.booking.models import Consultation, format_when, long_date
from app.catalog import services as catalog
from app.common.forms import choices
from app.common.input_guards import parse_id
from app.common.transactions import atomic
from app.common.visitors import visitor_key
from app.domain.clock import utcnow
from app.domain.scheduling import (
    WEEKDAYS,
    LeadTimePlan,
    Slot,
    format_hours,
    local_date,
    parse_slot_key,
    split_by_plan,
)
from app.extensions import limiter

bp = Blueprint("booking", __name__)
staff_bp = Blueprint("booking_staff", __name__, url_prefix="/staff/consultations")
extra_blueprints = [staff_bp]


@bp.app_template_filter("booking_date")
def booking_date(day: date) -> str:
    return long_date(day)


# ------------------------------------------------------------------------------------ helpers


def _today() -> date:
    return local_date(utcnow(), services.studio_timezone())


def _slot_days(slots: Iterable[Slot]) -> list[tuple[date, list[Slot]]]:
    return [(day, list(group)) for day, group in groupby(slots, key=lambda s: s.local_day)]


def _plan_message(plan: LeadTimePlan, today: date) -> dict[str, object]:
    """What the customer is told about their timeline, for the page and for booking.js."""
    weeks = plan.lead_time_weeks
    detail = (
        f"A commission takes about {weeks} weeks at the bench, plus {plan.shipping_days} days "
        f"for shipping and {plan.safety_days} days in hand."
    )
    if plan.too_close(today):
        headline = (
            f"Your event on {long_date(plan.event_date)} is too close for our usual timeline: "
            f"we should have started by {long_date(plan.latest_safe_date)}. We can still try as a "
            "rush commission — staff will see it flagged, and the earliest times are listed first."
        )
    else:
        headline = (
            f"To be ready for {long_date(plan.event_date)}, the latest safe date to commission is "
            f"{long_date(plan.latest_safe_date)}. Times up to that day are listed first."
        )
    return {
        "latest_safe_date": plan.latest_safe_date.isoformat(),
        "too_close": plan.too_close(today),
        "headline": headline,
        "detail": detail,
    }


def _product_id(value: str | None) -> int | None:
    return parse_id(value)


def _fill_choices(form: forms.ConsultationForm, user_id: int | None) -> None:
    form.product.choices = choices(
        [("", "Not sure yet")] + [(str(p.id), p.name) for p in services.custom_products()]
    )
    form.metal.choices = choices(
        [("", "Not decided yet")] + [(m.code, m.name) for m in catalog.all_metals()]
    )
    if user_id is None:
        del form.snapshot
        return
    form.snapshot.choices = choices(
        [("", "None")]
        + [(str(s.id), _snapshot_label(s)) for s in services.snapshots_for_user(user_id=user_id)]
    )


def _snapshot_label(snapshot) -> str:
    parts = [f"Saved {snapshot.created_at:%d %b %Y}"]
    if snapshot.recommended_size:
        parts.append(f"size {snapshot.recommended_size}")
    if snapshot.head_circumference_mm:
        parts.append(f"{snapshot.head_circumference_mm / 10:g} cm")
    return ", ".join(parts)


def _prefill(form: forms.ConsultationForm, user_id: int | None) -> None:
    """GET: carry the product, the try-on snapshot and the account's name and email."""
    if current_user.is_authenticated:
        form.name.data = current_user.name
        form.email.data = current_user.email
    slug = request.args.get("product")
    if slug:
        product = services.product_by_slug(slug)
        if product is not None and product.is_custom:
            form.product.data = str(product.id)
    snapshot_arg = request.args.get("snapshot")
    if snapshot_arg:
        snapshot_id = parse_id(snapshot_arg)
        if user_id is None or snapshot_id is None:
            abort(404)
        try:
            snapshot = services.snapshot_for_user(snapshot_id=snapshot_id, user_id=user_id)
        except services.SnapshotNotFound:
            abort(404)
        form.snapshot.data = str(snapshot.id)
        if snapshot.head_circumference_mm:
            form.circumference.data = snapshot.head_circumference_mm / 10
            form.circumference_unit.data = "cm"
        if snapshot.product_id and not form.product.data:
            form.product.data = str(snapshot.product_id)


def _booking_request(form: forms.ConsultationForm) -> services.BookingRequest:
    snapshot = getattr(form, "snapshot", None)
    return services.BookingRequest(
        name=form.name.data,
        email=form.email.data,
        event_kind=form.event_kind.data,
        event_date=form.event_date.data,
        mode=form.mode.data,
        starts_at=parse_slot_key(form.slot.data),
        fit=services.FitNotes(
            head_circumference_mm=form.circumference_mm,
            circumference_unit=form.circumference_unit.data if form.circumference_mm else None,
            hairstyle=form.hairstyle.data or "",
            veil=form.veil.data or "",
            metal_code=form.metal.data or None,
            stone_preferences=form.stone_preferences.data or "",
            allergies=form.allergies.data or "",
            budget=form.budget.data or "",
            notes=form.notes.data or "",
        ),
        product_id=_product_id(form.product.data),
        snapshot_id=int(snapshot.data) if snapshot is not None and snapshot.data else None,
        customer_timezone=form.tz.data or None,
        accept_rush=form.accept_rush.data,
    )


def _show_error(form, exc: services.BookingError) -> None:
    target = getattr(form, exc.field, None) if exc.field else None
    if target is not None:
        target.errors = [*target.errors, str(exc)]
    else:
        flash(str(exc), "danger")


def _slot_sections(slots: list[Slot], plan: LeadTimePlan | None):
    if plan is None:
        return _slot_days(slots), []
    in_time, late = split_by_plan(slots, plan)
    return _slot_days(in_time), _slot_days(late)


def _booked_message(consultation: Consultation) -> str:
    if consultation.is_pending:
        return (
            f"Almost done: we have emailed a link to {consultation.email}. Confirm within "
            f"{services.guest_hold_minutes()} minutes, or the time is released for others."
        )
    return (
        f"Your consultation is booked: {consultation.when()}. "
        "We have emailed you the details and a calendar invite."
    )


# ------------------------------------------------------------------------------- customer pages


@bp.route("/consultations/new", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def new_consultation():
    now = utcnow()
    today = _today()
    user_id = current_user.id if current_user.is_authenticated else None
    slots = services.available_slots(now=now)
    form = forms.ConsultationForm(today=today, slot_keys={s.key for s in slots})
    _fill_choices(form, user_id)
    if request.method == "GET":
        _prefill(form, user_id)

    checking = form.is_submitted() and form.check.data
    status = 400 if form.is_submitted() and not checking else 200
    if form.is_submitted() and not checking and form.validate_on_submit():
        try:
            with atomic():
                consultation = services.book_consultation(
                    request=_booking_request(form),
                    user_id=user_id,
                    now=now,
                    session_key=visitor_key(session),
                )
        except services.BookingError as exc:
            _show_error(form, exc)
            if isinstance(exc, services.SlotTaken):
                slots = services.available_slots(now=utcnow())
            if isinstance(exc, services.TooManyUpcoming):
                status = 409  # the buyer's existing bookings conflict with another
        else:
            flash(_booked_message(consultation), "success")
            return redirect(url_for("booking.manage", token=services.manage_token(consultation)))

    plan = None
    event_date = form.event_date.data
    if isinstance(event_date, date) and event_date >= today:
        plan = services.lead_time_plan(
            event_date=event_date, product_id=_product_id(form.product.data)
        )
    in_time, late = _slot_sections(slots, plan)
    return (
        render_template(
            "booking/consultation_new.html",
            form=form,
            in_time=in_time,
            late=late,
            plan=plan,
            plan_message=_plan_message(plan, today) if plan else None,
            studio_tz=services.studio_timezone(),
            settings=services.get_settings(),
            hold_minutes=services.guest_hold_minutes(),
        ),
        status,
    )


@bp.get("/consultations/lead-time")
def lead_time():
    """The timeline for an event date, for booking.js to show while the form is filled in."""
    try:
        event_date = date.fromisoformat(request.args.get("event_date", ""))
    except ValueError:
        return jsonify(error="Enter the event date as YYYY-MM-DD."), 400
    today = _today()
    if event_date < today:
        return jsonify(error="The event date is in the past."), 400
    plan = services.lead_time_plan(
        event_date=event_date, product_id=_product_id(request.args.get("product"))
    )
    return jsonify(_plan_message(plan, today))


@bp.get("/consultations")
@login_required
def my_consultations():
    consultations = services.consultations_for_user(user_id=current_user.id)
    return render_template("booking/consultation_list.html", consultations=consultations)


def _render_consultation(consultation: Consultation, *, reschedule=None, cancel=None, status=200):
    now = utcnow()
    changeable = services.can_change(consultation, now=now)
    slots = (
        [
            s
            for s in services.available_slots(now=now, exclude_id=consultation.id)
            if s.starts_at != consultation.starts_at
        ]
        if changeable
        else []
    )
    token = services.manage_token(consultation)
    if reschedule is None:
        reschedule = forms.RescheduleForm(slot_keys={s.key for s in slots}, formdata=None)
    plan = services.lead_time_plan(
        event_date=consultation.event_date, product_id=consultation.product_id
    )
    in_time, late = _slot_sections(slots, plan)
    return (
        render_template(
            "booking/consultation_show.html",
            consultation=consultation,
            token=token,
            changeable=changeable,
            deadline_text=format_when(
                services.change_deadline(consultation), consultation.studio_timezone
            ),
            location=services.studio_address(),
            atelier_email=services.atelier_email(),
            reschedule_form=reschedule,
            cancel_form=cancel or forms.CancelForm(formdata=None),
            in_time=in_time,
            late=late,
            studio_tz=consultation.studio_timezone,
            hold_lapsed=consultation.hold_lapsed(now),
            hold_until=(
                format_when(consultation.hold_expires_at, consultation.studio_timezone)
                if consultation.hold_expires_at
                else None
            ),
            hold_minutes=services.guest_hold_minutes(),
        ),
        status,
    )


@bp.get("/consultations/<int:consultation_id>")
@login_required
def show_consultation(consultation_id: int):
    try:
        consultation = services.consultation_for_user(
            consultation_id=consultation_id, user_id=current_user.id
        )
    except services.ConsultationNotFound:
        abort(404)
    return _render_consultation(consultation)


def _ics_response(consultation: Consultation) -> Response:
    body = services.invite_ics(consultation=consultation, now=utcnow())
    filename = services.invite_filename(consultation)
    return Response(
        body,
        mimetype="text/calendar",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@bp.get("/consultations/<int:consultation_id>/invite.ics")
@login_required
def owner_invite(consultation_id: int):
    try:
        consultation = services.consultation_for_user(
            consultation_id=consultation_id, user_id=current_user.id
        )
    except services.ConsultationNotFound:
        abort(404)
    return _ics_response(consultation)


def _by_token(token: str) -> Consultation:
    try:
        return services.consultation_for_token(token=token)
    except services.InvalidManageLink:
        abort(404)


@bp.get("/consultations/manage/<token>")
def manage(token: str):
    return _render_consultation(_by_token(token))


@bp.get("/consultations/manage/<token>/invite.ics")
def manage_invite(token: str):
    consultation = _by_token(token)
    if consultation.is_pending or consultation.hold_lapsed(utcnow()):
        abort(404)  # no invite for a time the guest has not confirmed
    return _ics_response(consultation)


def _render_confirm(consultation: Consultation, token: str, *, form=None, status=200):
    return (
        render_template(
            "booking/consultation_confirm.html",
            consultation=consultation,
            token=token,
            lapsed=consultation.hold_lapsed(utcnow()),
            hold_minutes=services.guest_hold_minutes(),
            form=form or forms.ConfirmForm(formdata=None),
            manage_token=services.manage_token(consultation),
        ),
        status,
    )


@bp.route("/consultations/confirm/<token>", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def confirm(token: str):
    """The link emailed to a guest: GET shows the booking, only the POST confirms it."""
    consultation = _by_confirm_token(token)
    if request.method == "GET":
        return _render_confirm(consultation, token)
    form = forms.ConfirmForm()
    if not form.validate_on_submit():
        return _render_confirm(consultation, token, form=form, status=400)
    try:
        with atomic():
            consultation = services.confirm_booking(consultation_id=consultation.id, now=utcnow())
    except services.BookingError as exc:
        flash(str(exc), "danger")
        # 409: the time (or the buyer's other bookings) now conflicts with this one.
        return _render_confirm(_by_confirm_token(token), token, status=409)
    flash(
        f"Your consultation is booked: {consultation.when()}. The invite is on its way.", "success"
    )
    return redirect(url_for("booking.manage", token=services.manage_token(consultation)))


def _by_confirm_token(token: str) -> Consultation:
    try:
        return services.consultation_for_confirm_token(token=token)
    except services.InvalidManageLink:
        abort(404)


@bp.post("/consultations/manage/<token>/reschedule")
@limiter.limit("30 per minute")
def reschedule(token: str):
    consultation = _by_token(token)
    now = utcnow()
    slots = services.available_slots(now=now, exclude_id=consultation.id)
    form = forms.RescheduleForm(slot_keys={s.key for s in slots})
    if form.validate_on_submit():
        try:
            with atomic():
                consultation = services.reschedule_consultation(
                    consultation_id=consultation.id,
                    starts_at=parse_slot_key(form.slot.data),
                    now=now,
                    accept_rush=form.accept_rush.data,
                )
        except services.BookingError as exc:
            _show_error(form, exc)
        else:
            flash(f"Your consultation has moved to {consultation.when()}.", "success")
            return redirect(url_for("booking.manage", token=token))
    return _render_consultation(consultation, reschedule=form, status=400)


@bp.post("/consultations/manage/<token>/cancel")
@limiter.limit("30 per minute")
def cancel(token: str):
    consultation = _by_token(token)
    form = forms.CancelForm()
    if not form.validate_on_submit():
        return _render_consultation(consultation, cancel=form, status=400)
    try:
        with atomic():
            services.cancel_consultation(consultation_id=consultation.id, now=utcnow())
    except services.BookingError as exc:
        flash(str(exc), "danger")
        return _render_consultation(consultation, status=400)
    flash("Your consultation is cancelled. We hope to see you another time.", "info")
    return redirect(url_for("booking.manage", token=token))


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
        today=_today(),
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


def _render_staff_detail(consultation: Consultation, *, note_form=None, status=200):
    return (
        render_template(
            "booking/staff_consultation.html",
            consultation=consultation,
            note_form=note_form or forms.NoteForm(formdata=None),
            outcome_form=forms.OutcomeForm(formdata=None),
            draft_form=_draft_form(),
            draft_link=services.draft_link(consultation),
            started=utcnow() >= consultation.starts_at,
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
                    product_id=_product_id(form.product.data),
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
            exceptions=services.list_exceptions(since=_today()),
            clashes=services.bookings_clashing_with_exceptions(now=now),
            weekdays=WEEKDAYS,
            studio_tz=services.studio_timezone(),
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
            _show_error(form, exc)
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
