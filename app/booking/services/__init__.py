"""Consultation operations: availability, booking, changes by signed link, reminders, staff tools.

Services never commit: the entry point (a view, the reminders command) wraps the work in
``atomic()``, and mail goes out once it commits. Refusals raise a BookingError whose message is
for the person at the screen.
"""

from __future__ import annotations

from app.booking.services.availability import available_slots as available_slots
from app.booking.services.bookings import MAX_EVENT_YEARS_AHEAD as MAX_EVENT_YEARS_AHEAD
from app.booking.services.bookings import REFERENCE_PREFIX as REFERENCE_PREFIX
from app.booking.services.bookings import BookingRequest as BookingRequest
from app.booking.services.bookings import FitNotes as FitNotes
from app.booking.services.bookings import book_consultation as book_consultation
from app.booking.services.bookings import can_change as can_change
from app.booking.services.bookings import cancel_consultation as cancel_consultation
from app.booking.services.bookings import change_deadline as change_deadline
from app.booking.services.bookings import check_can_change as check_can_change
from app.booking.services.bookings import move_consultation as move_consultation
from app.booking.services.bookings import reschedule_consultation as reschedule_consultation
from app.booking.services.calendars import artisan_calendars as artisan_calendars
from app.booking.services.calendars import artisan_profile as artisan_profile
from app.booking.services.calendars import artisan_weekly_hours as artisan_weekly_hours
from app.booking.services.calendars import bookable_artisans as bookable_artisans
from app.booking.services.calendars import calendar_of as calendar_of
from app.booking.services.calendars import delete_artisan_exception as delete_artisan_exception
from app.booking.services.calendars import keeps_artisan as keeps_artisan
from app.booking.services.calendars import list_artisan_exceptions as list_artisan_exceptions
from app.booking.services.calendars import set_artisan_exception as set_artisan_exception
from app.booking.services.calendars import update_artisan_calendar as update_artisan_calendar
from app.booking.services.errors import SLOT_TAKEN_MESSAGE as SLOT_TAKEN_MESSAGE
from app.booking.services.errors import BookingError as BookingError
from app.booking.services.errors import ChangesClosed as ChangesClosed
from app.booking.services.errors import ConsultationNotFound as ConsultationNotFound
from app.booking.services.errors import HoldLapsed as HoldLapsed
from app.booking.services.errors import InvalidBooking as InvalidBooking
from app.booking.services.errors import InvalidManageLink as InvalidManageLink
from app.booking.services.errors import SlotTaken as SlotTaken
from app.booking.services.errors import SlotUnavailable as SlotUnavailable
from app.booking.services.errors import SnapshotNotFound as SnapshotNotFound
from app.booking.services.errors import TooManyUpcoming as TooManyUpcoming
from app.booking.services.fit_notes import fit_notes_of as fit_notes_of
from app.booking.services.fit_notes import update_fit_notes as update_fit_notes
from app.booking.services.holds import confirm_booking as confirm_booking
from app.booking.services.holds import guest_hold_minutes as guest_hold_minutes
from app.booking.services.holds import lapse_hold as lapse_hold
from app.booking.services.holds import lapsed_hold_ids as lapsed_hold_ids
from app.booking.services.holds import max_upcoming as max_upcoming
from app.booking.services.links import CONFIRM_SALT as CONFIRM_SALT
from app.booking.services.links import TOKEN_SALT as TOKEN_SALT
from app.booking.services.links import confirm_token as confirm_token
from app.booking.services.links import (
    consultation_for_confirm_token as consultation_for_confirm_token,
)
from app.booking.services.links import consultation_for_token as consultation_for_token
from app.booking.services.links import manage_token as manage_token
from app.booking.services.meetings import VIDEO_NOT_WITH_ARTISAN as VIDEO_NOT_WITH_ARTISAN
from app.booking.services.meetings import VIDEO_UNAVAILABLE as VIDEO_UNAVAILABLE
from app.booking.services.meetings import meeting_link_for as meeting_link_for
from app.booking.services.meetings import video_artisans as video_artisans
from app.booking.services.meetings import video_offered as video_offered
from app.booking.services.notifications import REMINDER_HOURS as REMINDER_HOURS
from app.booking.services.notifications import atelier_email as atelier_email
from app.booking.services.notifications import due_reminder_ids as due_reminder_ids
from app.booking.services.notifications import invite_filename as invite_filename
from app.booking.services.notifications import invite_ics as invite_ics
from app.booking.services.notifications import send_reminder as send_reminder
from app.booking.services.notifications import studio_address as studio_address
from app.booking.services.order_drafts import create_order_draft as create_order_draft
from app.booking.services.order_drafts import draft_link as draft_link
from app.booking.services.order_drafts import fit_notes_text as fit_notes_text
from app.booking.services.pieces import custom_products as custom_products
from app.booking.services.pieces import product_by_slug as product_by_slug
from app.booking.services.pieces import snapshot_for_user as snapshot_for_user
from app.booking.services.pieces import snapshots_for_user as snapshots_for_user
from app.booking.services.reading import consultation_for_user as consultation_for_user
from app.booking.services.reading import consultations_for_user as consultations_for_user
from app.booking.services.reading import get_consultation as get_consultation
from app.booking.services.settings import DEFAULT_WEEKLY_HOURS as DEFAULT_WEEKLY_HOURS
from app.booking.services.settings import SETTINGS_FIELDS as SETTINGS_FIELDS
from app.booking.services.settings import SettingsUpdate as SettingsUpdate
from app.booking.services.settings import delete_exception as delete_exception
from app.booking.services.settings import get_settings as get_settings
from app.booking.services.settings import lead_time_plan as lead_time_plan
from app.booking.services.settings import list_exceptions as list_exceptions
from app.booking.services.settings import set_exception as set_exception
from app.booking.services.settings import studio_rules as studio_rules
from app.booking.services.settings import studio_timezone as studio_timezone
from app.booking.services.settings import update_settings as update_settings
from app.booking.services.settings import weekly_hours as weekly_hours
from app.booking.services.staff import add_staff_note as add_staff_note
from app.booking.services.staff import (
    bookings_clashing_with_exceptions as bookings_clashing_with_exceptions,
)
from app.booking.services.staff import consultations_on as consultations_on
from app.booking.services.staff import mark_outcome as mark_outcome
from app.booking.services.staff import staff_schedule as staff_schedule
from app.common.visitors import email_key as email_key
