from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.artisans import ArtisanProfile, PublicArtisan
from app.accounts.models import User
from app.catalog.models import Metal, Product
from app.common import dates
from app.domain.clock import utcnow
from app.domain.scheduling import to_local
from app.extensions import db
from app.tryon.models import TryonSnapshot


class ConsultationStatus(enum.StrEnum):
    # A guest's booking holds its slot until hold_expires_at while the email is confirmed;
    # unconfirmed by then it is LAPSED and the slot is free again.
    PENDING = "pending"
    LAPSED = "lapsed"
    BOOKED = "booked"
    CANCELLED = "cancelled"
    DONE = "done"
    NO_SHOW = "no_show"


class ConsultationMode(enum.StrEnum):
    STUDIO = "studio"
    VIDEO = "video"


class EventKind(enum.StrEnum):
    WEDDING = "wedding"
    PAGEANT = "pageant"
    GALA = "gala"
    OTHER = "other"


EVENT_KIND_LABELS = {
    EventKind.WEDDING.value: "Wedding",
    EventKind.PAGEANT.value: "Pageant",
    EventKind.GALA.value: "Gala",
    EventKind.OTHER.value: "Other event",
}
MODE_LABELS = {
    ConsultationMode.STUDIO.value: "In the studio",
    ConsultationMode.VIDEO.value: "By video",
}
STATUS_LABELS = {
    ConsultationStatus.PENDING.value: "Awaiting email confirmation",
    ConsultationStatus.LAPSED.value: "Lapsed (never confirmed)",
    ConsultationStatus.BOOKED.value: "Booked",
    ConsultationStatus.CANCELLED.value: "Cancelled",
    ConsultationStatus.DONE.value: "Done",
    ConsultationStatus.NO_SHOW.value: "No-show",
}
HAIRSTYLES = {
    "": "Not decided yet",
    "down": "Worn down",
    "half-up": "Half up",
    "updo": "Updo / bun",
    "braids": "Braids",
    "short": "Short hair",
}
VEILS = {"": "Not decided yet", "veil": "With a veil", "no-veil": "No veil"}
BUDGETS = {
    "": "Prefer to discuss",
    "under-2k": "Under $2,000",
    "2k-5k": "$2,000–5,000",
    "5k-10k": "$5,000–10,000",
    "over-10k": "Over $10,000",
}


# Statuses that hold their slot in the unique start index (a pending hold past its expiry still
# does until it is marked lapsed, which booking does under the day lock before it inserts).
FREE_SLOT_STATUSES = (ConsultationStatus.CANCELLED.value, ConsultationStatus.LAPSED.value)

# The first line of the note written when a customer changes their fit notes after booking;
# staff read when and what changed in the consultation's notes (no author: not a staff note).
FIT_NOTES_CHANGED_HEADING = "The customer changed their fit notes:"

# Plausible adult head circumferences; anything outside is a typo or the wrong unit.
MIN_HEAD_MM = 450
MAX_HEAD_MM = 700


def tryon_estimate_note(snapshot: TryonSnapshot) -> str:
    """Say that a snapshot's head size is the try-on camera's estimate, with its 80% range.

    The one wording wherever the estimate travels: fit notes, the booking form, order drafts.
    """
    likely = f", likely {snapshot.head_circumference_range_cm} cm"
    if not snapshot.head_circumference_range_cm:
        likely = ""  # snapshots saved before the range was kept
    return f"estimated by the try-on camera{likely}: a guide, not a tape measure"


def head_estimate_note(consultation: Consultation) -> str | None:
    """The estimate note when the consultation's head size is its try-on snapshot's, else None.

    A size the customer typed (in inches, or any other than the snapshot's) is their own measure.
    """
    snapshot = consultation.snapshot
    if consultation.head_circumference_mm is None or consultation.circumference_unit == "in":
        return None
    if snapshot is None or snapshot.head_circumference_mm != consultation.head_circumference_mm:
        return None
    return tryon_estimate_note(snapshot)


class StudioSettings(db.Model):
    """The single row of consultation settings staff edit (id is always 1)."""

    __tablename__ = "consultation_settings"
    __table_args__ = (
        CheckConstraint("id = 1", name="single_row"),
        CheckConstraint("consultation_minutes BETWEEN 15 AND 240", name="length_range"),
        CheckConstraint("buffer_minutes BETWEEN 0 AND 120", name="buffer_range"),
        CheckConstraint("horizon_days BETWEEN 1 AND 365", name="horizon_range"),
        CheckConstraint("min_notice_hours BETWEEN 0 AND 336", name="notice_range"),
        CheckConstraint("change_cutoff_hours BETWEEN 0 AND 336", name="cutoff_range"),
        CheckConstraint("default_lead_time_weeks BETWEEN 1 AND 52", name="lead_range"),
        CheckConstraint("shipping_days BETWEEN 0 AND 60", name="shipping_range"),
        CheckConstraint("safety_days BETWEEN 0 AND 60", name="safety_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_minutes: Mapped[int] = mapped_column(default=60)
    buffer_minutes: Mapped[int] = mapped_column(default=15)
    horizon_days: Mapped[int] = mapped_column(default=60)
    min_notice_hours: Mapped[int] = mapped_column(default=24)
    change_cutoff_hours: Mapped[int] = mapped_column(default=24)
    default_lead_time_weeks: Mapped[int] = mapped_column(default=8)
    shipping_days: Mapped[int] = mapped_column(default=5)
    safety_days: Mapped[int] = mapped_column(default=7)
    # The video link for consultations whose artisan has none (app.booking.services.meetings);
    # with neither, video consultations are not offered.
    default_meeting_link: Mapped[str | None] = mapped_column(String(500))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OpeningHours(db.Model):
    """One stretch of weekly opening on the studio clock (a weekday may have several)."""

    __tablename__ = "consultation_opening_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opens"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int]  # 0 = Monday
    opens_at: Mapped[time]
    closes_at: Mapped[time]


class CalendarException(db.Model):
    """A date whose hours differ from the week: closed (no hours) or special hours."""

    __tablename__ = "consultation_exceptions"
    __table_args__ = (
        CheckConstraint(
            "(opens_at IS NULL AND closes_at IS NULL) OR "
            "(opens_at IS NOT NULL AND closes_at IS NOT NULL AND closes_at > opens_at)",
            name="hours_complete",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    opens_at: Mapped[time | None]
    closes_at: Mapped[time | None]
    note: Mapped[str] = mapped_column(String(200), default="")

    @property
    def closed(self) -> bool:
        return self.opens_at is None


class ConsultationDay(db.Model):
    """One row per studio day that has bookings; updating it serialises bookings of that day.

    The unique index on active start times stops two bookings of one slot; this row lock also
    stops two bookings of *different* start times that sit inside each other's buffers (possible
    after staff change the length or buffer), on PostgreSQL and SQLite alike.
    """

    __tablename__ = "consultation_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    bookings_changed: Mapped[int] = mapped_column(default=0)


class ArtisanCalendar(db.Model):
    """An artisan's consultation calendar: whether they take consultations, and whose week.

    Without ``own_hours`` the artisan keeps the studio's weekly hours; their exceptions (days
    off, special hours) apply on top of the studio's either way.
    """

    __tablename__ = "consultation_artisan_calendars"

    artisan_id: Mapped[int] = mapped_column(
        ForeignKey("artisan_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    takes_consultations: Mapped[bool] = mapped_column(default=False)
    own_hours: Mapped[bool] = mapped_column(default=False)


class ArtisanHours(db.Model):
    """One stretch of an artisan's own weekly hours on the studio clock."""

    __tablename__ = "consultation_artisan_hours"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opens"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    artisan_id: Mapped[int] = mapped_column(
        ForeignKey("artisan_profiles.id", ondelete="CASCADE"), index=True
    )
    weekday: Mapped[int]  # 0 = Monday
    opens_at: Mapped[time]
    closes_at: Mapped[time]


class ArtisanException(db.Model):
    """A date an artisan is off (no hours) or keeps special hours; wins over the studio's."""

    __tablename__ = "consultation_artisan_exceptions"
    __table_args__ = (
        UniqueConstraint("artisan_id", "day"),
        CheckConstraint(
            "(opens_at IS NULL AND closes_at IS NULL) OR "
            "(opens_at IS NOT NULL AND closes_at IS NOT NULL AND closes_at > opens_at)",
            name="hours_complete",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    artisan_id: Mapped[int] = mapped_column(ForeignKey("artisan_profiles.id", ondelete="CASCADE"))
    day: Mapped[date]
    opens_at: Mapped[time | None]
    closes_at: Mapped[time | None]
    note: Mapped[str] = mapped_column(String(200), default="")

    @property
    def closed(self) -> bool:
        return self.opens_at is None


class ArtisanDay(db.Model):
    """One row per (artisan, studio day) with bookings: ConsultationDay's lock, per artisan."""

    __tablename__ = "consultation_artisan_days"

    artisan_id: Mapped[int] = mapped_column(
        ForeignKey("artisan_profiles.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    bookings_changed: Mapped[int] = mapped_column(default=0)


class Consultation(db.Model):
    __tablename__ = "consultations"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'lapsed', 'booked', 'cancelled', 'done', 'no_show')",
            name="status_known",
        ),
        CheckConstraint(
            "status != 'pending' OR hold_expires_at IS NOT NULL", name="pending_has_hold"
        ),
        CheckConstraint("mode IN ('studio', 'video')", name="mode_known"),
        CheckConstraint(
            "event_kind IN ('wedding', 'pageant', 'gala', 'other')", name="event_kind_known"
        ),
        CheckConstraint("ends_at > starts_at", name="ends_after_starts"),
        CheckConstraint(
            f"head_circumference_mm IS NULL OR "
            f"head_circumference_mm BETWEEN {MIN_HEAD_MM} AND {MAX_HEAD_MM}",
            name="head_plausible",
        ),
        CheckConstraint(
            "circumference_unit IS NULL OR circumference_unit IN ('cm', 'in')", name="unit_known"
        ),
        # No double booking: one active consultation per artisan and start time (and one per
        # start time among those with no artisan: the studio's own calendar, from before
        # artisans took bookings). Cancelling (or a hold lapsing) frees the slot because those
        # rows drop out of these partial indexes.
        Index(
            "uq_consultations_active_start",
            "starts_at",
            unique=True,
            sqlite_where=text("status NOT IN ('cancelled', 'lapsed') AND artisan_id IS NULL"),
            postgresql_where=text("status NOT IN ('cancelled', 'lapsed') AND artisan_id IS NULL"),
        ),
        Index(
            "uq_consultations_artisan_active_start",
            "artisan_id",
            "starts_at",
            unique=True,
            sqlite_where=text("status NOT IN ('cancelled', 'lapsed')"),
            postgresql_where=text("status NOT IN ('cancelled', 'lapsed')"),
        ),
        Index("ix_consultations_reminder_due", "status", "starts_at"),
        Index("ix_consultations_hold_due", "status", "hold_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)
    # Part of the signed manage links, so they name one booking and can be revoked.
    manage_key: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(254))
    # Who is booking, for the cap on upcoming consultations: the address normalised (lower case,
    # no +tag) and the random id the booking form keeps in the visitor's session.
    email_key: Mapped[str] = mapped_column(String(254), index=True)
    session_key: Mapped[str | None] = mapped_column(String(64), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    # The artisan the customer meets; None for bookings made before artisans took consultations.
    artisan_id: Mapped[int | None] = mapped_column(
        ForeignKey("artisan_profiles.id", ondelete="SET NULL")
    )
    snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("tryon_snapshots.id", ondelete="SET NULL")
    )
    event_kind: Mapped[str] = mapped_column(String(16))
    event_date: Mapped[date]
    mode: Mapped[str] = mapped_column(String(8))
    starts_at: Mapped[datetime]  # naive UTC
    ends_at: Mapped[datetime]
    studio_timezone: Mapped[str] = mapped_column(String(64))
    customer_timezone: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12), default=ConsultationStatus.BOOKED.value)
    # Naive UTC: while pending, the slot is held until then; None once confirmed.
    hold_expires_at: Mapped[datetime | None]
    confirmed_at: Mapped[datetime | None]
    rush: Mapped[bool] = mapped_column(default=False)
    latest_safe_date: Mapped[date]
    lead_time_weeks: Mapped[int]
    # Fit notes
    head_circumference_mm: Mapped[int | None]
    circumference_unit: Mapped[str | None] = mapped_column(String(2))
    recommended_size: Mapped[str | None] = mapped_column(String(8))
    hairstyle: Mapped[str] = mapped_column(String(20), default="")
    veil: Mapped[str] = mapped_column(String(12), default="")
    metal_code: Mapped[str | None] = mapped_column(ForeignKey("metals.code", ondelete="SET NULL"))
    stone_preferences: Mapped[str] = mapped_column(String(200), default="")
    allergies: Mapped[str] = mapped_column(String(200), default="")
    budget: Mapped[str] = mapped_column(String(20), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # Bookkeeping
    reminder_sent_at: Mapped[datetime | None]
    reschedule_count: Mapped[int] = mapped_column(default=0)
    cancelled_at: Mapped[datetime | None]
    # The custom order draft made from this consultation; order_drafted_at is claimed first so
    # two clicks never make two drafts.
    order_drafted_at: Mapped[datetime | None]
    order_id: Mapped[int | None]
    order_number: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = relationship()
    product: Mapped[Product | None] = relationship()
    artisan: Mapped[ArtisanProfile | None] = relationship()
    snapshot: Mapped[TryonSnapshot | None] = relationship()
    metal: Mapped[Metal | None] = relationship()
    staff_notes: Mapped[list[ConsultationNote]] = relationship(
        back_populates="consultation",
        cascade="all, delete-orphan",
        order_by="ConsultationNote.created_at",
    )

    @property
    def is_active(self) -> bool:
        return self.status == ConsultationStatus.BOOKED.value

    @property
    def is_pending(self) -> bool:
        return self.status == ConsultationStatus.PENDING.value

    def hold_lapsed(self, now: datetime) -> bool:
        """Whether this is a guest's hold that was never confirmed in time."""
        if self.status == ConsultationStatus.LAPSED.value:
            return True
        return self.is_pending and self.hold_expires_at is not None and self.hold_expires_at <= now

    @property
    def public_artisan(self) -> PublicArtisan | None:
        """The artisan as customers may see them: a published profile's name and slug."""
        artisan = self.artisan
        if artisan is None or not artisan.published:
            return None
        return PublicArtisan(
            user_id=artisan.user_id,
            name=artisan.display_name,
            slug=artisan.slug,
            has_signature=artisan.signature_key is not None,
        )

    @property
    def event_kind_label(self) -> str:
        return EVENT_KIND_LABELS.get(self.event_kind, self.event_kind)

    @property
    def mode_label(self) -> str:
        return MODE_LABELS.get(self.mode, self.mode)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def local_start(self) -> datetime:
        """The start on the studio clock (aware)."""
        return to_local(self.starts_at, self.studio_timezone)

    @property
    def local_end(self) -> datetime:
        return to_local(self.ends_at, self.studio_timezone)

    def when(self, zone: str | None = None) -> str:
        """The start as people read it, e.g. "Thursday, 1 April 2027, 10:00 BST"."""
        return dates.when(self.starts_at, "full", tz=zone or self.studio_timezone)

    @property
    def customer_when(self) -> str | None:
        """The start in the customer's own zone, when it differs from the studio's."""
        zone = self.customer_timezone
        if not zone or zone == self.studio_timezone:
            return None
        if to_local(self.starts_at, zone).utcoffset() == self.local_start.utcoffset():
            return None
        return self.when(zone)

    @property
    def when_both(self) -> str:
        """The studio's time, then the customer's own where it differs (one-line messages)."""
        theirs = self.customer_when
        return f"{self.when()} (your time: {theirs})" if theirs else self.when()

    @property
    def head_circumference_text(self) -> str | None:
        mm = self.head_circumference_mm
        if mm is None:
            return None
        return f"{mm / 10:g} cm ({mm / 25.4:.1f} in)"

    @property
    def fit_notes_changed_at(self) -> datetime | None:
        """When the customer last changed their fit notes after booking, if they did."""
        changes = [note.created_at for note in self.staff_notes if note.from_customer]
        return max(changes) if changes else None

    def fit_note_items(self) -> list[tuple[str, str]]:
        """The customer's fit notes as (label, text) pairs, skipping blanks."""
        items = [
            ("Hairstyle", HAIRSTYLES.get(self.hairstyle, self.hairstyle) if self.hairstyle else ""),
            ("Veil", VEILS.get(self.veil, self.veil) if self.veil else ""),
            ("Metal", self.metal.name if self.metal else ""),
            ("Stones", self.stone_preferences),
            ("Allergies", self.allergies),
            ("Budget", BUDGETS.get(self.budget, self.budget) if self.budget else ""),
            ("Notes", self.notes),
        ]
        return [(label, value) for label, value in items if value]


class ConsultationNote(db.Model):
    """A note staff add to a consultation."""

    __tablename__ = "consultation_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    consultation: Mapped[Consultation] = relationship(back_populates="staff_notes")
    author: Mapped[User | None] = relationship()

    @property
    def from_customer(self) -> bool:
        """Whether this note records the customer's own change of their fit notes."""
        return self.author_id is None and self.body.startswith(FIT_NOTES_CHANGED_HEADING)
