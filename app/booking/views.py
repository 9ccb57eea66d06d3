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

from app.booking import forms, services
from app.booking.models import (
    Consultation,
    ConsultationMode,
    head_estimate_note,
    tryon_estimate_note,
)
from app.booking.view_helpers import consultation_by_token, fill_metal_choices, fit_notes_from
from app.booking.view_helpers import show_error as _show_error
from app.booking.view_helpers import studio_today as _today
from app.common import dates
from app.common.forms import choices
from app.common.input_guards import parse_id
from app.common.transactions import atomic
from app.common.visitors import visitor_key
from app.domain.clock import utcnow
from app.domain.scheduling import (
    LeadTimePlan,
    Slot,
    parse_slot_key,
    split_by_plan,
)
from app.extensions import limiter

bp = Blueprint("booking", __name__)


bp.add_app_template_global(head_estimate_note, "head_estimate_note")
# Staff pages show a video consultation's link (customers get it only by email and invite).
bp.add_app_template_global(services.meeting_link_for, "meeting_link_for")


@bp.app_template_filter("booking_date")
def booking_date(day: date) -> str:
    return dates.day(day, "long")


@bp.app_template_global("consultation_url_for")
def consultation_url_for(artisan_id: int) -> str | None:
    """The booking form with this artisan chosen, for their public page; None if they take no
    consultations."""
    if artisan_id not in {a.id for a in services.bookable_artisans()}:
        return None
    return url_for("booking.new_consultation", artisan=artisan_id)


# ------------------------------------------------------------------------------------ helpers


def _slot_days(slots: Iterable[Slot]) -> list[tuple[date, list[Slot]]]:
    return [(day, list(group)) for day, group in groupby(slots, key=lambda s: s.local_day)]


def _plan_message(plan: LeadTimePlan, today: date) -> dict[str, object]:
    """What the customer is told about their timeline, for the page and for booking.js."""
    weeks = plan.lead_time_weeks
    detail = (
        f"A commission takes about {weeks} weeks at the bench, plus {plan.shipping_days} days "
        f"for shipping and {plan.safety_days} days in hand."
    )
    event, latest = dates.day(plan.event_date, "long"), dates.day(plan.latest_safe_date, "long")
    if plan.too_close(today):
        headline = (
            f"Your event on {event} is too close for our usual timeline: "
            f"we should have started by {latest}. We can still try as a "
            "rush commission — staff will see it flagged, and the earliest times are listed first."
        )
    else:
        headline = (
            f"To be ready for {event}, the latest safe date to commission is "
            f"{latest}. Times up to that day are listed first."
        )
    return {
        "latest_safe_date": plan.latest_safe_date.isoformat(),
        "too_close": plan.too_close(today),
        "headline": headline,
        "detail": detail,
    }


def _product_id(value: str | None) -> int | None:
    return parse_id(value)


def _chosen_artisan(artisans: list) -> int | None:
    """The bookable artisan the form (or a link's ?artisan=) names; None for any artisan."""
    chosen = parse_id(request.values.get("artisan"))
    return chosen if chosen in {a.id for a in artisans} else None


def _wants_video() -> bool:
    """Whether the form (or a link) asks for video: the times offered are then video times."""
    return request.values.get("mode") == ConsultationMode.VIDEO.value


def _artisan_label(artisan, by_video: set[int], video_offered: bool) -> str:
    # With video on offer, say who cannot meet by video before the customer picks them.
    if video_offered and artisan.id not in by_video:
        return f"{artisan.display_name} (in the studio only)"
    return artisan.display_name


def _fill_choices(
    form: forms.ConsultationForm, user_id: int | None, artisans: list, video_offered: bool
) -> None:
    form.product.choices = choices(
        [("", "Not sure yet")] + [(str(p.id), p.name) for p in services.custom_products()]
    )
    fill_metal_choices(form)
    if artisans:
        by_video = {a.id for a in services.video_artisans(artisans)}
        form.artisan.choices = choices(
            [("", "Any artisan (the first free)")]
            + [(str(a.id), _artisan_label(a, by_video, video_offered)) for a in artisans]
        )
    else:
        del form.artisan
    if user_id is None:
        del form.snapshot
        return
    form.snapshot.choices = choices(
        [("", "None")]
        + [(str(s.id), _snapshot_label(s)) for s in services.snapshots_for_user(user_id=user_id)]
    )


def _snapshot_label(snapshot) -> str:
    parts = [f"Saved {dates.day(snapshot.created_at)}"]
    if snapshot.recommended_size:
        parts.append(f"size {snapshot.recommended_size}")
    if snapshot.head_circumference_mm:
        mm = snapshot.head_circumference_mm
        parts.append(f"head {mm / 10:g} cm ({tryon_estimate_note(snapshot)})")
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
        fit=fit_notes_from(form),
        product_id=_product_id(form.product.data),
        snapshot_id=int(snapshot.data) if snapshot is not None and snapshot.data else None,
        customer_timezone=form.tz.data or None,
        accept_rush=form.accept_rush.data,
        artisan_id=parse_id(form.artisan.data) if "artisan" in form else None,
    )


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
        f"Your consultation is booked: {consultation.when_both}. "
        "We have emailed you the details and a calendar invite."
    )


# ------------------------------------------------------------------------------- customer pages


@bp.route("/consultations/new", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def new_consultation():
    now = utcnow()
    today = _today()
    user_id = current_user.id if current_user.is_authenticated else None
    artisans = services.bookable_artisans()
    artisan_id = _chosen_artisan(artisans)
    video_offered = services.video_offered()
    video = video_offered and _wants_video()
    slots = services.available_slots(now=now, artisan_id=artisan_id, video=video)
    form = forms.ConsultationForm(today=today, slot_keys={s.key for s in slots})
    _fill_choices(form, user_id, artisans, video_offered)
    if request.method == "GET":
        _prefill(form, user_id)
        if artisan_id is not None:
            form.artisan.data = str(artisan_id)

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
                slots = services.available_slots(now=utcnow(), artisan_id=artisan_id, video=video)
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
            video_offered=video_offered,
            artisan=next((a for a in artisans if a.id == artisan_id), None),
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


def _render_consultation(consultation: Consultation, *, reschedule=None, status=200):
    now = utcnow()
    changeable = services.can_change(consultation, now=now)
    slots = (
        [
            s
            for s in services.available_slots(
                now=now,
                exclude_id=consultation.id,
                artisan_id=services.keeps_artisan(consultation.artisan_id),
                video=consultation.mode == ConsultationMode.VIDEO.value,
            )
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
            deadline_text=dates.when(
                services.change_deadline(consultation), tz=consultation.studio_timezone
            ),
            location=services.studio_address(),
            atelier_email=services.atelier_email(),
            reschedule_form=reschedule,
            in_time=in_time,
            late=late,
            studio_tz=consultation.studio_timezone,
            hold_lapsed=consultation.hold_lapsed(now),
            hold_until=(
                dates.when(consultation.hold_expires_at, tz=consultation.studio_timezone)
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


@bp.get("/consultations/manage/<token>")
def manage(token: str):
    return _render_consultation(consultation_by_token(token))


@bp.get("/consultations/manage/<token>/invite.ics")
def manage_invite(token: str):
    consultation = consultation_by_token(token)
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
        f"Your consultation is booked: {consultation.when_both}. The invite is on its way.",
        "success",
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
    consultation = consultation_by_token(token)
    now = utcnow()
    slots = services.available_slots(
        now=now,
        exclude_id=consultation.id,
        artisan_id=services.keeps_artisan(consultation.artisan_id),
        video=consultation.mode == ConsultationMode.VIDEO.value,
    )
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
            flash(f"Your consultation has moved to {consultation.when_both}.", "success")
            return redirect(url_for("booking.manage", token=token))
    return _render_consultation(consultation, reschedule=form, status=400)
