from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import TextInput

from app.booking.models import (
    BUDGETS,
    EVENT_KIND_LABELS,
    HAIRSTYLES,
    MAX_HEAD_MM,
    MIN_HEAD_MM,
    MODE_LABELS,
    VEILS,
)
from app.common.forms import MeetingLinkField, choices
from app.domain.scheduling import WEEKDAYS, SchedulingError, parse_hours, studio_zone

MM_PER_INCH = Decimal("25.4")
MAX_NOTES = 2000


def circumference_to_mm(value: Decimal, unit: str) -> int:
    """Convert a head measurement to whole millimetres; raise ValueError with advice if odd."""
    if unit not in ("cm", "in"):
        raise ValueError("Choose centimetres or inches.")
    if value <= 0:
        raise ValueError("A head circumference is a positive number.")
    mm = value * (10 if unit == "cm" else MM_PER_INCH)
    if MIN_HEAD_MM <= mm <= MAX_HEAD_MM:
        return int(mm.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if unit == "cm" and MIN_HEAD_MM <= value * MM_PER_INCH <= MAX_HEAD_MM:
        raise ValueError(f"{value:g} cm is far too small for a head. Did you mean inches?")
    if unit == "in" and MIN_HEAD_MM <= value * 10 <= MAX_HEAD_MM:
        raise ValueError(f"{value:g} inches is far too big for a head. Did you mean centimetres?")
    if unit == "cm" and MIN_HEAD_MM <= value <= MAX_HEAD_MM:
        raise ValueError(f"That looks like millimetres: enter {value / 10:g} cm, or measure again.")
    low, high = MIN_HEAD_MM / 10, MAX_HEAD_MM / 10
    raise ValueError(
        f"That does not look like a head circumference: heads measure about {low:g}–{high:g} cm "
        f"({MIN_HEAD_MM / 25.4:.1f}–{MAX_HEAD_MM / 25.4:.1f} in). Measure again?"
    )


def measurement_for_form(mm: int, unit: str) -> Decimal:
    """A stored measurement in the customer's unit, short, and giving back the same mm."""
    if unit != "in":
        return Decimal(mm) / 10
    exact = Decimal(mm) / MM_PER_INCH
    for places in ("0.1", "0.01"):
        value = exact.quantize(Decimal(places), rounding=ROUND_HALF_UP)
        try:
            if circumference_to_mm(value, "in") == mm:
                return value
        except ValueError:
            continue  # rounded past the plausible range: one more decimal
    return exact.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


class MeasurementField(DecimalField):
    """A decimal that also accepts a comma as the decimal mark, with a plain error."""

    widget = TextInput()

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist:
            valuelist = [valuelist[0].strip().replace(",", ".")]
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            raise ValueError("Enter the measurement as a number, e.g. 56.5.") from exc


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return choices(labels.items())


class ConsultationForm(FlaskForm):
    """Book a consultation. Slot, product, snapshot and metal choices are set by the view."""

    name = StringField(
        "Your name", validators=[DataRequired("Tell us your name."), Length(max=120)]
    )
    email = EmailField(
        "Email",
        validators=[
            DataRequired("We need an email to send the confirmation."),
            Email("Check the email address."),
            Length(max=254),
        ],
    )
    product = SelectField(
        "Piece you have in mind", choices=choices([("", "Not sure yet")]), default=""
    )
    event_kind = SelectField(
        "Your event", choices=_choices(EVENT_KIND_LABELS), validators=[DataRequired()]
    )
    event_date = DateField(
        "Event date",
        validators=[InputRequired("Tell us the date of your event.")],
        render_kw={"autocomplete": "off"},
    )
    circumference = MeasurementField(
        "Head circumference",
        places=None,
        validators=[Optional()],
        render_kw={"inputmode": "decimal", "step": "0.1"},
    )
    circumference_unit = SelectField(
        "Unit", choices=choices([("cm", "cm"), ("in", "inches")]), default="cm"
    )
    hairstyle = SelectField("Hairstyle on the day", choices=_choices(HAIRSTYLES), default="")
    veil = SelectField("Veil", choices=_choices(VEILS), default="")
    metal = SelectField("Metal preference", choices=choices([("", "Not decided yet")]), default="")
    stone_preferences = StringField(
        "Stone preferences",
        validators=[Length(max=200, message="Keep stone preferences under 200 characters.")],
    )
    allergies = StringField(
        "Allergies (e.g. nickel)",
        validators=[Length(max=200, message="Keep allergies under 200 characters.")],
    )
    budget = SelectField("Budget range", choices=_choices(BUDGETS), default="")
    notes = TextAreaField(
        "Anything else we should know",
        validators=[
            Length(max=MAX_NOTES, message=f"Keep your notes under {MAX_NOTES} characters.")
        ],
    )
    snapshot = SelectField("Try-on snapshot", choices=choices([("", "None")]), default="")
    mode = RadioField(
        "How would you like to meet?",
        choices=_choices(MODE_LABELS),
        default="studio",
        validators=[InputRequired("Choose the studio or a video call.")],
    )
    # Choices set by the view from the bookable artisans; removed when none take bookings.
    # A post without the field (an older page, a script) means any artisan, as the blank choice.
    artisan = SelectField(
        "Who you would like to meet", choices=choices([("", "Any artisan")]), default=""
    )
    slot = StringField("Time", validators=[InputRequired("Pick a time for the consultation.")])
    accept_rush = BooleanField("I understand my event is close: go ahead as a rush commission")
    tz = HiddenField()
    check = SubmitField("Check my timeline")
    submit = SubmitField("Book consultation")

    def __init__(self, *args, today: date, slot_keys: set[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.slot_keys = slot_keys
        self.circumference_mm: int | None = None

    def validate_event_date(self, field: DateField) -> None:
        if field.data is not None and field.data < self.today:
            raise ValidationError("The event date is in the past.")

    def validate_circumference(self, field: DecimalField) -> None:
        if field.data is None:
            return
        try:
            self.circumference_mm = circumference_to_mm(field.data, self.circumference_unit.data)
        except (ValueError, InvalidOperation) as exc:
            raise ValidationError(str(exc)) from exc

    def validate_slot(self, field: StringField) -> None:
        if field.data not in self.slot_keys:
            raise ValidationError(
                "That slot was just taken — please pick another."
                if _looks_like_slot(field.data)
                else "Pick one of the times offered."
            )

    def validate_tz(self, field: HiddenField) -> None:
        # Set by booking.js; anything odd is dropped rather than shown as an error.
        if field.data:
            try:
                studio_zone(field.data)
            except SchedulingError:
                field.data = ""


def _looks_like_slot(value: str | None) -> bool:
    from app.domain.scheduling import parse_slot_key

    try:
        parse_slot_key(value or "")
    except SchedulingError:
        return False
    return True


class RescheduleForm(FlaskForm):
    slot = StringField("New time", validators=[InputRequired("Pick a new time.")])
    accept_rush = BooleanField("I understand this makes it a rush commission")

    def __init__(self, *args, slot_keys: set[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.slot_keys = slot_keys

    validate_slot = ConsultationForm.validate_slot


class FitNotesForm(FlaskForm):
    """Change the fit notes after booking: the booking form's own fields and checks."""

    circumference = ConsultationForm.circumference
    circumference_unit = ConsultationForm.circumference_unit
    hairstyle = ConsultationForm.hairstyle
    veil = ConsultationForm.veil
    metal = ConsultationForm.metal
    stone_preferences = ConsultationForm.stone_preferences
    allergies = ConsultationForm.allergies
    budget = ConsultationForm.budget
    notes = ConsultationForm.notes
    submit = SubmitField("Save my fit notes")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.circumference_mm: int | None = None

    validate_circumference = ConsultationForm.validate_circumference


class ConfirmForm(FlaskForm):
    submit = SubmitField("Confirm my consultation")


class CancelForm(FlaskForm):
    submit = SubmitField("Yes, cancel this consultation")


class OutcomeForm(FlaskForm):
    status = SelectField("Outcome", choices=choices([("done", "Done"), ("no_show", "No-show")]))


class NoteForm(FlaskForm):
    body = TextAreaField(
        "Add a note",
        validators=[
            DataRequired("Write a note first."),
            Length(max=MAX_NOTES, message=f"Keep notes under {MAX_NOTES} characters."),
        ],
    )


class OrderDraftForm(FlaskForm):
    product = SelectField("Piece", choices=choices([("", "From the consultation")]), default="")
    metal = SelectField("Metal", choices=choices([("", "From the fit notes")]), default="")
    size = SelectField("Size", choices=choices([("", "From the try-on")]), default="")


def _int_field(label: str, low: int, high: int, unit: str) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            InputRequired(f"Enter {label.lower()}."),
            NumberRange(low, high, message=f"Use {low} to {high} {unit}."),
        ],
    )


class WeeklyHoursForm(FlaskForm):
    """A week of opening hours, one field a weekday ("10:00-13:00, 14:00-17:00"; blank: closed),
    parsed into ``parsed_hours`` when the form validates."""

    hours_0 = StringField(WEEKDAYS[0])
    hours_1 = StringField(WEEKDAYS[1])
    hours_2 = StringField(WEEKDAYS[2])
    hours_3 = StringField(WEEKDAYS[3])
    hours_4 = StringField(WEEKDAYS[4])
    hours_5 = StringField(WEEKDAYS[5])
    hours_6 = StringField(WEEKDAYS[6])

    def hour_fields(self) -> list[StringField]:
        return [getattr(self, f"hours_{d}") for d in range(7)]

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        self.parsed_hours = {}
        for weekday, field in enumerate(self.hour_fields()):
            try:
                self.parsed_hours[weekday] = parse_hours(field.data or "")
            except SchedulingError as exc:
                field.errors = [*field.errors, str(exc)]
                ok = False
        return ok


class SettingsForm(WeeklyHoursForm):
    consultation_minutes = _int_field("Consultation length", 15, 240, "minutes")
    buffer_minutes = _int_field("Buffer between consultations", 0, 120, "minutes")
    horizon_days = _int_field("Bookings open this far ahead", 1, 365, "days")
    min_notice_hours = _int_field("Minimum notice", 0, 336, "hours")
    change_cutoff_hours = _int_field("Online changes close before", 0, 336, "hours")
    default_lead_time_weeks = _int_field("Default custom lead time", 1, 52, "weeks")
    shipping_days = _int_field("Shipping time", 0, 60, "days")
    safety_days = _int_field("Safety buffer", 0, 60, "days")
    default_meeting_link = MeetingLinkField("Studio video link")


class ExceptionForm(FlaskForm):
    first_day = DateField("From", validators=[InputRequired("Pick the first day.")])
    last_day = DateField("To (optional)", validators=[Optional()])
    hours = StringField("Special hours (blank = closed)")
    note = StringField("Note", validators=[Length(max=200)])

    def validate_hours(self, field: StringField) -> None:
        try:
            self.parsed_hours = parse_hours(field.data or "")
        except SchedulingError as exc:
            raise ValidationError(str(exc)) from exc


class DeleteForm(FlaskForm):
    pass
