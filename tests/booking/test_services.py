from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from app.booking import services
from app.booking.cli import send_reminders
from app.booking.models import Consultation
from app.common.mail import read_outbox
from app.common.transactions import atomic
from app.domain.scheduling import OpeningInterval
from app.extensions import db
from tests.booking.builders import NOW, TUESDAY_10, TUESDAY_1115, book, make_request

LONDON = ZoneInfo("Europe/London")


def outbox(app):
    return read_outbox(app.config["MAIL_OUTBOX_DIR"])


def ics_event(message) -> icalendar.Event:
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return icalendar.Calendar.from_ical(part.get_content()).walk("VEVENT")[0]


def test_booking_stores_utc_and_emails_an_invite(studio):
    consultation = book()
    assert consultation.starts_at == TUESDAY_10
    assert consultation.ends_at == TUESDAY_10 + timedelta(minutes=60)
    assert consultation.status == "booked" and not consultation.rush
    assert consultation.latest_safe_date == date(2027, 9, 4) - timedelta(days=8 * 7 + 5 + 7)
    assert re.fullmatch(r"DC-[2-9A-HJKMNP-Z]{6}", consultation.reference)  # no 0/O, 1/I/L
    hold_mail, mail = outbox(studio)  # the guest's confirm link, then the confirmation
    assert "Confirm" in hold_mail["Subject"] and not list(hold_mail.iter_attachments())
    assert mail["To"] == "ada@example.com"
    assert consultation.reference in mail["Subject"]
    event = ics_event(mail)
    assert event.decoded("dtstart") == datetime(2027, 3, 2, 10, 0, tzinfo=LONDON)
    assert "TZID" not in event["dtstart"].params  # UTC, read alike by every client
    assert str(event["uid"]).startswith(f"consultation-{consultation.id}-")
    assert "mailto:atelier@diadem.test" in str(event["organizer"])
    assert "Hatton Garden" in str(event["location"])
    assert "/consultations/manage/" in mail.get_body(("plain",)).get_content()


def test_the_same_slot_cannot_be_booked_twice(studio):
    book()
    with pytest.raises(services.SlotTaken) as exc:
        book(email="someone-else@example.com")
    assert str(exc.value) == "That slot was just taken — please pick another."
    assert db.session.execute(db.select(db.func.count(Consultation.id))).scalar() == 1


def test_database_refuses_a_second_active_booking_of_a_start_time(studio):
    # The partial unique index holds even if the service's checks were bypassed.
    first = book()
    clone = Consultation(
        **{
            c.name: getattr(first, c.name)
            for c in Consultation.__table__.columns
            if c.name not in ("id", "reference")
        },
        reference="DC-CLONE1",
    )
    db.session.add(clone)
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        db.session.commit()
    db.session.rollback()


def test_cancelling_frees_the_slot(studio):
    first = book()
    with atomic():
        services.cancel_consultation(consultation_id=first.id, now=NOW)
    second = book(email="next@example.com")
    assert second.starts_at == first.starts_at
    assert [c.status for c in db.session.execute(db.select(Consultation)).scalars()] == [
        "cancelled",
        "booked",
    ]


def test_availability_hides_booked_slots(studio):
    before = {s.starts_at for s in services.available_slots(now=NOW)}
    assert TUESDAY_10 in before and TUESDAY_1115 in before
    book()
    after = {s.starts_at for s in services.available_slots(now=NOW)}
    assert before - after == {TUESDAY_10}


def test_times_outside_the_grid_are_refused(studio):
    for starts_at in (
        datetime(2027, 3, 2, 10, 30),  # off the grid
        datetime(2027, 3, 1, 10, 0),  # Monday: closed
        datetime(2027, 3, 2, 16, 15),  # would end after closing
        datetime(2027, 6, 1, 9, 0),  # beyond the 60-day horizon
        datetime(2027, 2, 27, 10, 0),  # in the past
    ):
        with pytest.raises(services.SlotUnavailable, match="not open for booking"):
            book(starts_at)
    with pytest.raises(services.SlotUnavailable, match="too soon"):  # minimum notice: 24 h
        book(now=TUESDAY_10 - timedelta(hours=2))


def test_buffers_hold_after_staff_change_the_length(studio):
    book()  # 10:00-11:00 with a 15-minute buffer
    settings = services.get_settings()
    changes = services.SettingsUpdate(
        **{name: getattr(settings, name) for name in services.SETTINGS_FIELDS},
        weekly_hours=services.weekly_hours(),
    )
    with atomic():
        services.update_settings(changes=replace(changes, consultation_minutes=30))
    # New grid: 10:00, 10:45, 11:30, ... The existing booking blocks 10:00 and 10:45 (which
    # starts inside it); 11:30 starts 30 minutes after it ends, clear of the buffer.
    tuesday = sorted(
        s.starts_at for s in services.available_slots(now=NOW) if s.local_day == date(2027, 3, 2)
    )
    assert tuesday[0] == datetime(2027, 3, 2, 11, 30)
    with pytest.raises(services.SlotTaken):
        book(datetime(2027, 3, 2, 10, 45), email="b@example.com")


def test_exceptions_and_weekly_hours_change_availability(studio):
    with atomic():
        services.set_exception(
            first_day=date(2027, 3, 2), last_day=date(2027, 3, 3), hours=(), note="Trade fair"
        )
        services.set_exception(
            first_day=date(2027, 3, 4),
            last_day=None,
            hours=(OpeningInterval(time(14), time(16)),),
            note="Afternoon only",
        )
    days = {}
    for slot in services.available_slots(now=NOW):
        days.setdefault(slot.local_day, []).append(f"{slot.local_start:%H:%M}")
    assert date(2027, 3, 2) not in days and date(2027, 3, 3) not in days
    assert days[date(2027, 3, 4)] == ["14:00"]  # 15:15 would end after 16:00
    with pytest.raises(services.SlotUnavailable):
        book()
    [exception] = [e for e in services.list_exceptions() if e.day == date(2027, 3, 4)]
    with atomic():
        services.delete_exception(exception_id=exception.id)
    assert len(services.list_exceptions()) == 2


def test_bookings_on_a_newly_closed_day_are_listed_for_staff(studio):
    consultation = book()
    with atomic():
        services.set_exception(first_day=date(2027, 3, 2), last_day=None, hours=(), note="")
    assert services.bookings_clashing_with_exceptions(now=NOW) == [consultation]


def test_booking_across_the_dst_change_keeps_its_wall_clock_time(studio):
    # Booked on 1 March (GMT) for 10:00 on Tuesday 30 March, after the clocks go forward.
    consultation = book(datetime(2027, 3, 30, 9, 0))
    db.session.expire_all()
    stored = db.session.get(Consultation, consultation.id)
    assert stored.starts_at == datetime(2027, 3, 30, 9, 0)  # UTC
    assert stored.local_start == datetime(2027, 3, 30, 10, 0, tzinfo=LONDON)
    assert stored.when() == "Tuesday, 30 March 2027, 10:00 BST"
    event = ics_event(outbox(studio)[1])
    assert event.decoded("dtstart") == datetime(2027, 3, 30, 10, 0, tzinfo=LONDON)
    assert event.decoded("dtstart").utcoffset() == timedelta(0)  # written in UTC
    # The studio day lists it on 30 March, and 10:00 BST is taken, not 10:00 UTC.
    assert services.consultations_on(date(2027, 3, 30)) == [stored]
    free = {s.starts_at for s in services.available_slots(now=NOW)}
    assert datetime(2027, 3, 30, 9, 0) not in free
    assert datetime(2027, 3, 31, 9, 0) in free


def test_event_close_to_the_date_needs_rush_consent(studio):
    # Latest safe date for 20 April with 8 weeks + 5 + 7 days: 11 February: already passed.
    with pytest.raises(services.InvalidBooking) as exc:
        book(event_date=date(2027, 4, 20))
    assert exc.value.field == "accept_rush"
    consultation = book(event_date=date(2027, 4, 20), accept_rush=True)
    assert consultation.rush
    assert consultation.latest_safe_date == date(2027, 2, 11)


def test_product_lead_time_wins_over_the_studio_default(studio, custom_product):
    # A piece's window behind the bench queue wins (10 h behind an empty queue: 1-3 weeks);
    # its fixed lead time is the fallback when it has no bench time recorded.
    custom_product.lead_time_weeks = 20
    db.session.commit()
    plan = services.lead_time_plan(event_date=date(2027, 9, 4), product_id=custom_product.id)
    assert plan.lead_time_weeks == 3
    custom_product.bench_minutes = 0
    db.session.commit()
    plan = services.lead_time_plan(event_date=date(2027, 9, 4), product_id=custom_product.id)
    assert plan.lead_time_weeks == 20
    assert plan.latest_safe_date == date(2027, 9, 4) - timedelta(weeks=20, days=12)
    default = services.lead_time_plan(event_date=date(2027, 9, 4))
    assert default.lead_time_weeks == 8


def test_event_date_rules(studio):
    for event_date, message in (
        (date(2027, 2, 20), "in the past"),
        (date(2027, 3, 1), "before this consultation"),
        (date(2031, 1, 1), "more than 3 years"),
    ):
        with pytest.raises(services.InvalidBooking, match=message) as exc:
            book(event_date=event_date, accept_rush=True)
        assert exc.value.field == "event_date"


def _snapshot(user_id, **kw):
    from app.tryon.models import TryonSnapshot

    snap = TryonSnapshot(
        user_id=user_id,
        image_name="x.png",
        head_circumference_mm=kw.get("mm", 571),
        recommended_size=kw.get("size", "L"),
    )
    db.session.add(snap)
    db.session.commit()
    return snap


def test_own_snapshot_carries_size_and_measurement(studio):
    from tests.helpers import make_user

    owner = make_user(studio, email="owner@example.com")
    snap = _snapshot(owner)
    consultation = book(
        user_id=owner,
        snapshot_id=snap.id,
        fit=services.FitNotes(),  # no measurement typed: the try-on's is used
    )
    assert consultation.snapshot_id == snap.id
    assert consultation.recommended_size == "L"
    assert consultation.head_circumference_mm == 571


def test_someone_elses_snapshot_is_refused(studio):
    from tests.helpers import make_user

    owner = make_user(studio, email="owner@example.com")
    other = make_user(studio, email="other@example.com")
    snap = _snapshot(owner)
    for user_id in (other, None):
        with pytest.raises(services.SnapshotNotFound):
            book(user_id=user_id, snapshot_id=snap.id)
    assert db.session.execute(db.select(Consultation)).first() is None


def test_manage_tokens_round_trip_and_refuse_tampering(studio):
    consultation = book()
    token = services.manage_token(consultation)
    assert services.consultation_for_token(token=token) is consultation
    for bad in (token[:-2] + "xx", "junk", token.replace(".", "", 1)):
        with pytest.raises(services.InvalidManageLink):
            services.consultation_for_token(token=bad)
    # A token from another purpose (same key, other salt) is not a manage link.
    from itsdangerous import URLSafeTimedSerializer

    other = URLSafeTimedSerializer(studio.secret_key, salt="diadem.password-reset")
    with pytest.raises(services.InvalidManageLink):
        services.consultation_for_token(
            token=other.dumps({"c": consultation.id, "k": consultation.manage_key})
        )
    # Links already emailed (signed before app.common.links existed) still open.
    earlier = URLSafeTimedSerializer(studio.secret_key, salt="diadem.consultation")
    assert (
        services.consultation_for_token(
            token=earlier.dumps({"c": consultation.id, "k": consultation.manage_key})
        )
        is consultation
    )
    # Rotating the key revokes every earlier link.
    consultation.manage_key = "0" * 32
    db.session.commit()
    with pytest.raises(services.InvalidManageLink):
        services.consultation_for_token(token=token)


def test_changes_close_24_hours_before(studio):
    consultation = book()
    just_inside = TUESDAY_10 - timedelta(hours=24, minutes=1)
    assert services.can_change(consultation, now=just_inside)
    too_late = TUESDAY_10 - timedelta(hours=23)
    assert not services.can_change(consultation, now=too_late)
    with pytest.raises(services.ChangesClosed, match="24 hours"), atomic():
        services.cancel_consultation(consultation_id=consultation.id, now=too_late)
    with pytest.raises(services.ChangesClosed), atomic():
        services.reschedule_consultation(
            consultation_id=consultation.id, starts_at=datetime(2027, 3, 5, 10, 0), now=too_late
        )


def test_reschedule_moves_the_booking_and_frees_the_old_slot(studio):
    consultation = book()
    consultation.reminder_sent_at = NOW
    db.session.commit()
    with atomic():
        moved = services.reschedule_consultation(
            consultation_id=consultation.id, starts_at=datetime(2027, 3, 30, 9, 0), now=NOW
        )
    assert moved.starts_at == datetime(2027, 3, 30, 9, 0)
    assert moved.reschedule_count == 1 and moved.reminder_sent_at is None
    free = {s.starts_at for s in services.available_slots(now=NOW)}
    assert TUESDAY_10 in free
    mails = outbox(studio)
    assert len(mails) == 3 and "moved" in mails[2]["Subject"]
    event = ics_event(mails[2])
    assert event["sequence"] == 1
    assert event.decoded("dtstart") == datetime(2027, 3, 30, 10, 0, tzinfo=LONDON)
    # Someone else may now take the old slot; nobody may take the new one.
    book(email="x@example.com")
    with pytest.raises(services.SlotTaken):
        book(datetime(2027, 3, 30, 9, 0), email="y@example.com")


def test_reschedule_to_a_slot_within_its_own_buffer_is_allowed(studio):
    consultation = book()
    with atomic():
        moved = services.reschedule_consultation(
            consultation_id=consultation.id, starts_at=TUESDAY_1115, now=NOW
        )
    assert moved.starts_at == TUESDAY_1115


def test_cancel_sends_a_cancelling_invite(studio):
    consultation = book()
    with atomic():
        services.cancel_consultation(consultation_id=consultation.id, now=NOW)
    mail = outbox(studio)[-1]
    assert "cancelled" in mail["Subject"]
    event = ics_event(mail)
    assert str(event["status"]) == "CANCELLED"
    with pytest.raises(services.ChangesClosed, match="cancelled"), atomic():
        services.cancel_consultation(consultation_id=consultation.id, now=NOW)


def test_reminders_are_sent_once(studio):
    soon = book()  # Tuesday 10:00
    later = book(datetime(2027, 3, 5, 10, 0), email="later@example.com")
    cancelled = book(datetime(2027, 3, 2, 12, 30), email="gone@example.com")
    with atomic():
        services.cancel_consultation(consultation_id=cancelled.id, now=NOW)
    before = len(outbox(studio))
    evening = datetime(2027, 3, 1, 18, 0)  # 16 hours before Tuesday 10:00
    assert send_reminders(now=evening) == 1
    assert send_reminders(now=evening) == 0
    assert send_reminders(now=evening + timedelta(hours=1)) == 0
    reminders = outbox(studio)[before:]
    assert [m["To"] for m in reminders] == ["ada@example.com"]
    assert "Reminder" in reminders[0]["Subject"]
    db.session.expire_all()
    assert db.session.get(Consultation, soon.id).reminder_sent_at == evening
    assert db.session.get(Consultation, later.id).reminder_sent_at is None


def test_a_failed_reminder_stays_queued_and_is_delivered_once_by_the_sweep(studio, monkeypatch):
    from app.common.mail import deliver_outbox
    from app.common.outbox import OutboxMessage

    book()
    evening = datetime(2027, 3, 1, 18, 0)

    def broken(message):
        raise OSError("mail server down")

    monkeypatch.setattr("app.common.mail.transmit", broken)
    before = len(outbox(studio))
    assert send_reminders(now=evening) == 1  # claimed and queued; the delivery fails
    db.session.expire_all()
    assert db.session.execute(db.select(Consultation.reminder_sent_at)).scalar() == evening
    queued = db.session.execute(
        db.select(OutboxMessage).where(OutboxMessage.template == "consultation_reminder")
    ).scalar_one()
    assert (queued.sent_at, queued.attempts) == (None, 1)
    assert send_reminders(now=evening) == 0  # no second reminder while the first waits
    monkeypatch.undo()
    assert deliver_outbox(now=queued.next_attempt_at).sent == 1
    assert deliver_outbox(now=queued.next_attempt_at).sent == 0
    assert len(outbox(studio)) == before + 1


def test_consultations_on_a_studio_day(studio):
    first = book()
    second = book(TUESDAY_1115, email="b@example.com")
    gone = book(datetime(2027, 3, 2, 12, 30), email="c@example.com")
    with atomic():
        services.cancel_consultation(consultation_id=gone.id, now=NOW)
    book(datetime(2027, 3, 3, 10, 0), email="d@example.com")
    assert services.consultations_on(date(2027, 3, 2)) == [first, second]
    assert services.consultations_on(date(2027, 3, 4)) == []


def test_staff_outcomes_and_notes(studio):
    from tests.helpers import make_user

    staff = make_user(studio, email="maker@example.com", role="staff")
    consultation = book()
    with pytest.raises(services.BookingError, match="not started"), atomic():
        services.mark_outcome(consultation_id=consultation.id, status="done", now=NOW)
    with atomic():
        services.mark_outcome(consultation_id=consultation.id, status="no_show", now=TUESDAY_10)
    assert consultation.status == "no_show"
    with pytest.raises(services.BookingError), atomic():
        services.mark_outcome(consultation_id=consultation.id, status="cancelled", now=TUESDAY_10)
    with atomic():
        note = services.add_staff_note(
            consultation_id=consultation.id, author_id=staff, body="  Prefers rose gold  "
        )
    assert note.body == "Prefers rose gold"
    with pytest.raises(services.BookingError), atomic():
        services.add_staff_note(consultation_id=consultation.id, author_id=staff, body="  ")


def test_settings_are_created_once_with_default_hours(studio):
    settings = services.get_settings()
    assert settings.id == 1 and settings.consultation_minutes == 60
    hours = services.weekly_hours()
    assert sorted(hours) == [1, 2, 3, 4, 5]
    services.get_settings()
    assert sum(len(v) for v in services.weekly_hours().values()) == 5


def test_a_first_read_of_the_settings_needs_no_transaction_and_leaves_nothing(app_ctx):
    from app.booking.models import StudioSettings

    settings = services.get_settings()  # a GET page before staff ever saved the settings
    assert settings.consultation_minutes == 60 and sorted(services.weekly_hours()) == [
        1,
        2,
        3,
        4,
        5,
    ]
    db.session.rollback()  # the end of that request
    assert db.session.get(StudioSettings, 1) is None
    with atomic():
        services.get_settings()
    db.session.remove()
    assert db.session.get(StudioSettings, 1) is not None
    assert sum(len(v) for v in services.weekly_hours().values()) == 5


def test_no_mail_leaves_for_a_booking_that_is_rolled_back(studio):
    with pytest.raises(RuntimeError), atomic():
        services.book_consultation(request=make_request(), user_id=None, now=NOW)
        raise RuntimeError("a later step of the same request failed")
    assert outbox(studio) == []
    assert db.session.execute(db.select(Consultation)).first() is None


def test_fit_notes_travel_as_text(studio):
    consultation = book(
        fit=services.FitNotes(
            head_circumference_mm=565,
            circumference_unit="cm",
            hairstyle="updo",
            allergies="Nickel",
            notes="Low bun, cathedral veil",
        ),
        event_date=date(2027, 4, 20),
        accept_rush=True,
    )
    text = services.fit_notes_text(consultation)
    assert "Head circumference: 56.5 cm" in text
    assert "Hairstyle: Updo / bun" in text
    assert "Allergies: Nickel" in text
    assert "RUSH" in text


def test_a_try_on_estimate_travels_to_the_order_as_an_estimate_with_its_range(studio):
    from tests.helpers import make_user

    owner = make_user(studio, email="owner@example.com")
    snap = _snapshot(owner, mm=554)
    snap.head_circumference_low_mm, snap.head_circumference_high_mm = 529, 579
    db.session.commit()
    estimated = book(user_id=owner, snapshot_id=snap.id, fit=services.FitNotes())
    assert (
        "Head circumference: 55.4 cm (estimated by the try-on camera, likely 52.9–57.9 cm: "
        "a guide, not a tape measure)"
    ) in services.fit_notes_text(estimated).splitlines()
    # A snapshot saved before ranges were kept is still an estimate; a typed size is not.
    snap.head_circumference_low_mm = None
    assert (
        "Head circumference: 55.4 cm (estimated by the try-on camera: a guide, not a tape "
        "measure)" in services.fit_notes_text(estimated).splitlines()
    )
    estimated.head_circumference_mm = 560
    assert "Head circumference: 56 cm" in services.fit_notes_text(estimated).splitlines()


# ------------------------------------------------------------------ custom order drafts


def test_order_draft_carries_the_fit_notes(studio, custom_product):
    from app.checkout.models import Order

    consultation = book(
        product_id=custom_product.id,
        fit=services.FitNotes(
            head_circumference_mm=575, circumference_unit="cm", allergies="Nickel", notes="Low bun"
        ),
    )
    with atomic():
        drafted = services.create_order_draft(consultation_id=consultation.id, now=NOW)
    assert drafted.order_number and drafted.order_id
    order = db.session.get(Order, drafted.order_id)
    assert order.status == "draft" and order.email == "ada@example.com"
    assert "Head circumference: 57.5 cm" in order.notes and "Allergies: Nickel" in order.notes
    assert consultation.reference in order.notes
    [line] = order.lines
    assert line.size_code == "L"  # 575 mm falls in L (570-600)
    with pytest.raises(services.BookingError, match="already has an order draft"), atomic():
        services.create_order_draft(consultation_id=consultation.id, now=NOW)
    assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 1


def test_order_draft_refusal_releases_the_claim(studio, custom_product):
    consultation = book(product_id=custom_product.id)
    with pytest.raises(services.BookingError, match="not made in"), atomic():
        services.create_order_draft(consultation_id=consultation.id, now=NOW, metal_code="platinum")
    db.session.expire_all()
    assert db.session.get(Consultation, consultation.id).order_drafted_at is None
    with atomic():
        drafted = services.create_order_draft(consultation_id=consultation.id, now=NOW)
    assert drafted.order_number


def test_order_draft_needs_a_custom_piece(studio):
    consultation = book()
    with pytest.raises(services.BookingError, match="custom piece") as exc, atomic():
        services.create_order_draft(consultation_id=consultation.id, now=NOW)
    assert exc.value.field == "product"


def test_order_draft_keeps_the_consultation_event_date(studio, custom_product):
    from app.checkout.models import Order

    consultation = book(product_id=custom_product.id, event_date=date(2027, 10, 16))
    with atomic():
        drafted = services.create_order_draft(consultation_id=consultation.id, now=NOW)
    order = db.session.get(Order, drafted.order_id, populate_existing=True)
    assert order.event_date == date(2027, 10, 16)


def test_a_failure_midway_through_a_draft_leaves_nothing_behind(
    studio, custom_product, monkeypatch
):
    # The claim, the order and the link are one transaction: if anything after the first write
    # fails, neither a half-made order nor a claimed-but-orderless consultation is left.
    from app.checkout import services as checkout
    from app.checkout.models import Order

    consultation = book(product_id=custom_product.id)
    real_draft = checkout.create_custom_order_draft

    def draft_then_fail(**kwargs):
        real_draft(**kwargs)
        raise RuntimeError("the connection dropped")

    monkeypatch.setattr(checkout, "create_custom_order_draft", draft_then_fail)
    with pytest.raises(RuntimeError), atomic():
        services.create_order_draft(consultation_id=consultation.id, now=NOW)
    db.session.expire_all()
    assert db.session.execute(db.select(db.func.count(Order.id))).scalar() == 0
    stored = db.session.get(Consultation, consultation.id)
    assert stored.order_drafted_at is None and stored.order_id is None
    monkeypatch.undo()
    with atomic():
        drafted = services.create_order_draft(consultation_id=consultation.id, now=NOW)
    assert drafted.order_number
