"""The staff product form: input shape only (the rules live in catalog.products_admin).

Figures are typed as people say them (grams, hours and minutes, money, a percentage) and
handed to the service in the units the database keeps (milligrams, minutes, minor units,
basis points). Every message starts with the name of its field, so the list of problems at
the top of the page reads on its own. Stones are rows: blank or removed rows are dropped, and
"Add another stone" adds an empty one (no JavaScript needed).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.catalog import products_admin as admin
from app.catalog.models import FitSize, Metal
from app.common.forms import choices
from app.domain.money import MAX_MAJOR_DIGITS, Money, major_text, parse_major


class ScaledNumberField(StringField):
    """A decimal in people's units kept as a whole number of smaller ones (g -> mg).

    ``units`` holds the parsed figure after validation (None when left empty).
    """

    def __init__(
        self,
        label: str,
        validators=None,
        *,
        places: int,
        required: bool = True,
        example: str = "",
        **kwargs,
    ) -> None:
        super().__init__(label, validators, **kwargs)
        self.places = places
        self.required = required
        self.example = example
        self.units: int | None = None

    def process_data(self, value: object) -> None:
        # The service's figures arrive in units (an int): show them as people type them.
        if isinstance(value, int) and not isinstance(value, bool):
            self.data = _decimal_text(Decimal(value).scaleb(-self.places))
        else:
            self.data = value if isinstance(value, str) else ""

    def pre_validate(self, form: Form) -> None:
        self.units = None
        text = (self.data or "").strip().replace(",", "")
        label = self.label.text
        if not text:
            if self.required:
                raise ValidationError(f"{label} is required{self.example}.")
            return
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            message = f"{label}: {text[:20]!r} is not a number{self.example}."
            raise ValidationError(message) from exc
        if not value.is_finite() or (value and value.adjusted() >= MAX_MAJOR_DIGITS):
            raise ValidationError(f"{label}: {text[:20]!r} is not a sensible figure.")
        scaled = value.scaleb(self.places)
        if scaled != scaled.to_integral_value():
            raise ValidationError(f"{label}: at most {self.places} decimal places{self.example}.")
        self.units = int(scaled)


class MoneyField(StringField):
    """An amount in major units ("95" or "95.50"); ``minor`` holds it after validation."""

    def __init__(self, label: str, validators=None, *, required: bool = True, **kwargs) -> None:
        super().__init__(label, validators, **kwargs)
        self.required = required
        self.minor: int | None = None

    def process_data(self, value: object) -> None:
        if isinstance(value, int) and not isinstance(value, bool):
            self.data = major_text(Money(value))
        else:
            self.data = value if isinstance(value, str) else ""

    def pre_validate(self, form: Form) -> None:
        self.minor = None
        text = (self.data or "").strip()
        if not text:
            if self.required:
                raise ValidationError(f"{self.label.text} is required (0 for none).")
            return
        try:
            self.minor = parse_major(text).minor
        except ValueError as exc:
            raise ValidationError(f"{self.label.text}: {exc}.") from exc


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class MetalOfferForm(Form):
    """One of the atelier's metals: offered or not, and its grams when they differ."""

    code = HiddenField()
    offered = BooleanField("Offered")
    grams = ScaledNumberField("Grams", places=3, required=False, example=" (e.g. 182.5)")


class StoneForm(Form):
    kind = StringField("Kind", [Optional(), Length(max=admin.STONE_KIND_LENGTH)])
    count = IntegerField("Count", [Optional(), NumberRange(min=1, max=admin.MAX_STONE_COUNT)])
    unit_price = MoneyField("Unit price", required=False)
    origin = StringField("Origin", [Optional(), Length(max=admin.STONE_TEXT_LENGTH)])
    treatment = StringField("Treatment", [Optional(), Length(max=admin.STONE_TEXT_LENGTH)])
    remove = BooleanField("Remove")

    def is_blank(self) -> bool:
        texts = (self.kind.data, self.unit_price.data, self.origin.data, self.treatment.data)
        typed_count = any((raw or "").strip() for raw in (self.count.raw_data or ()))
        return (
            not any((text or "").strip() for text in texts)
            and self.count.data is None
            and not typed_count
        )


KINDS = [("crown", "Crown"), ("tiara", "Tiara")]
TIERS = [
    ("studio", "Studio edition: numbered pieces from edition runs"),
    ("custom", "Custom commission: made to order, with a deposit"),
]


class ProductForm(FlaskForm):
    name = StringField("Name", [InputRequired(), Length(max=admin.NAME_LENGTH)])
    slug = StringField(
        "Slug",
        [InputRequired(), Length(max=admin.SLUG_LENGTH)],
        description="The piece's address in the shop, /shop/slug: lowercase letters, digits "
        "and hyphens (e.g. aurelia-crown). It cannot change once published.",
    )
    kind = RadioField("Kind", choices=choices(KINDS), validators=[InputRequired()])
    tier = RadioField("Tier", choices=choices(TIERS), validators=[InputRequired()])
    summary = TextAreaField("Summary", [Optional(), Length(max=admin.SUMMARY_LENGTH)])
    story = TextAreaField("Story", [Optional(), Length(max=admin.TEXT_LENGTH)])
    materials = TextAreaField("Materials", [Optional(), Length(max=admin.TEXT_LENGTH)])
    origin = TextAreaField("Origin", [Optional(), Length(max=admin.TEXT_LENGTH)])
    finishing = TextAreaField("Hand-finishing notes", [Optional(), Length(max=admin.TEXT_LENGTH)])
    certification = TextAreaField("Certification", [Optional(), Length(max=admin.TEXT_LENGTH)])
    fit_notes = TextAreaField("Fit adjustments", [Optional(), Length(max=admin.TEXT_LENGTH)])

    metal_weight = ScaledNumberField("Metal weight (grams)", places=3, example=" (e.g. 182.5)")
    default_metal = SelectField("Default metal", choices=[], validate_choice=False)
    metals = FieldList(FormField(MetalOfferForm), label="Metals offered")
    sizes = MultiCheckboxField("Sizes offered", choices=[])

    bench_hours = IntegerField("Bench time: hours", [InputRequired(), NumberRange(0, 2_000)])
    bench_minutes = IntegerField("Bench time: minutes", [Optional(), NumberRange(0, 59)])
    labour_rate = MoneyField("Labour rate per hour")
    provenance = MoneyField("Provenance and certification")
    packaging = MoneyField("Packaging")
    shipping = MoneyField("Shipping")
    insurance = ScaledNumberField("Insurance (% of the goods)", places=2, example=" (e.g. 1.5)")
    lead_time_weeks = IntegerField(
        "Lead time (weeks)", [Optional(), NumberRange(1, admin.MAX_LEAD_TIME_WEEKS)]
    )
    deposit_percent = IntegerField("Deposit (%)", [Optional(), NumberRange(1, 100)])

    stones = FieldList(FormField(StoneForm), label="Stones", max_entries=admin.MAX_STONE_ROWS)
    add_stone = SubmitField("Add another stone")
    save = SubmitField("Save")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.metal_names: dict[str, str] = {}
        # Problems with the metals or stones as a whole (none chosen, a metal listed twice).
        self.group_errors: dict[str, list[str]] = {"metals": [], "stones": []}

    def prepare(self, metals: list[Metal], sizes: list[FitSize], *, spare_stones: int = 1) -> None:
        """Offer the atelier's metals and sizes, tidy the stone rows and name every row.

        Blank and removed stone rows are dropped and ``spare_stones`` empty ones follow the
        filled ones, so a row's place is its number ("Stone 2") here and in the service.
        """
        self.default_metal.choices = choices((m.code, m.name) for m in metals)
        self.sizes.choices = choices(
            (
                s.code,
                f"{s.code} — {s.label} ({_cm(s.min_circumference_mm)}–"
                f"{_cm(s.max_circumference_mm)} cm)",
            )
            for s in sizes
        )
        self.metal_names = {m.code: m.name for m in metals}
        self.stones.entries = [
            entry
            for entry in self.stones.entries
            if not entry.form.remove.data and not entry.form.is_blank()
        ]
        self.add_stone_rows(spare_stones)

    def add_stone_rows(self, count: int = 1) -> None:
        """Add ``count`` empty stone rows (within the maximum) and name every row."""
        for _ in range(count):
            if len(self.stones.entries) >= admin.MAX_STONE_ROWS:
                break
            self.stones.append_entry()
        for number, entry in enumerate(self.stones.entries, start=1):
            for sub in entry.form:
                sub.label.text = f"Stone {number} {sub.short_name.replace('_', ' ')}"
            entry.form.remove.label.text = f"Remove stone {number}"
        for entry in self.metals.entries:
            name = self.metal_names.get(entry.form.code.data, "this metal")
            entry.form.offered.label.text = f"{name}"
            entry.form.grams.label.text = f"Grams of {name}"

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        if self.tier.data != "custom":
            # A studio edition has no commission terms: what was typed there is ignored.
            self.lead_time_weeks.errors = []
            self.deposit_percent.errors = []
        for field, errors in _fields_with_errors(self):
            field.errors = [_named(field.label.text, message) for message in errors]
        return not self.problems()

    def details(self) -> tuple[admin.ProductDetails, list[int]]:
        """The details for the service, and which metal row each offered metal came from."""
        metal_rows = [i for i, entry in enumerate(self.metals.entries) if entry.form.offered.data]
        custom = self.tier.data == "custom"
        details = admin.ProductDetails(
            name=self.name.data or "",
            slug=(self.slug.data or "").strip(),
            kind=self.kind.data or "",
            tier=self.tier.data or "",
            summary=self.summary.data or "",
            story=self.story.data or "",
            materials=self.materials.data or "",
            origin=self.origin.data or "",
            finishing=self.finishing.data or "",
            certification=self.certification.data or "",
            fit_notes=self.fit_notes.data or "",
            metal_weight_mg=self.metal_weight.units,
            bench_minutes=(self.bench_hours.data or 0) * 60 + (self.bench_minutes.data or 0),
            labour_rate_per_hour_minor=self.labour_rate.minor,
            provenance_minor=self.provenance.minor,
            packaging_minor=self.packaging.minor,
            shipping_minor=self.shipping.minor,
            insurance_bp=self.insurance.units,
            lead_time_weeks=self.lead_time_weeks.data if custom else None,
            deposit_percent=self.deposit_percent.data if custom else None,
            default_metal=self.default_metal.data or "",
            metals=tuple(
                admin.MetalOffer(
                    code=self.metals.entries[i].form.code.data or "",
                    weight_mg=self.metals.entries[i].form.grams.units,
                )
                for i in metal_rows
            ),
            size_codes=tuple(self.sizes.data or ()),
            stones=tuple(
                admin.StoneLine(
                    kind=entry.form.kind.data or "",
                    count=entry.form.count.data,
                    unit_price_minor=entry.form.unit_price.minor,
                    origin=entry.form.origin.data or "",
                    treatment=entry.form.treatment.data or "",
                )
                for entry in self.stones.entries
                if not entry.form.is_blank()
            ),
        )
        return details, metal_rows

    def show_problems(self, problems: Iterable[admin.Problem], *, metal_rows: list[int]) -> None:
        """Put the service's problems beside the fields they are about."""
        for problem in problems:
            if problem.field == "stones" and problem.row is not None:
                # Blank rows only follow the filled ones (prepare), so the numbers agree.
                entry = self.stones.entries[problem.row]
                entry.form[problem.part or "kind"].errors.append(problem.message)
            elif problem.field == "metals" and problem.row is not None:
                self.metals.entries[metal_rows[problem.row]].form.grams.errors.append(
                    problem.message
                )
            elif problem.field in self.group_errors:
                self.group_errors[problem.field].append(problem.message)
            else:
                name = SERVICE_FIELDS.get(problem.field, problem.field)
                target = self[name] if name in self._fields else self.name
                target.errors = [*target.errors, problem.message]

    def problems(self) -> list[tuple[str, str]]:
        """(field id, message) for every error on the page, in the order of the form."""
        found = []
        for field in self:
            if field.type == "FieldList":
                found += [(field.id, message) for message in self.group_errors[field.short_name]]
                for entry in field.entries:
                    found += [(sub.id, message) for sub in entry.form for message in sub.errors]
            elif isinstance(field.errors, list | tuple):
                found += [(field.id, message) for message in field.errors]
        return found


# The service's names for the fields the form calls otherwise.
SERVICE_FIELDS = {
    "metal_weight_mg": "metal_weight",
    "bench_minutes": "bench_hours",
    "labour_rate_per_hour_minor": "labour_rate",
    "provenance_minor": "provenance",
    "packaging_minor": "packaging",
    "shipping_minor": "shipping",
    "insurance_bp": "insurance",
}


def new_form_data(metals: list[Metal]) -> dict[str, object]:
    """A new product's starting data: every metal listed (the first offered), no stones."""
    return {
        "kind": "crown",
        "tier": "studio",
        "metals": [{"code": m.code, "offered": i == 0} for i, m in enumerate(metals)],
        "default_metal": metals[0].code if metals else "",
        "bench_hours": 0,
        "bench_minutes": 0,
        "insurance": 0,
    }


def form_data(details: admin.ProductDetails, metals: list[Metal]) -> dict[str, object]:
    """The edit form's starting data from a product's details."""
    offered = {offer.code: offer for offer in details.metals}
    hours, minutes = divmod(details.bench_minutes or 0, 60)
    return {
        "name": details.name,
        "slug": details.slug,
        "kind": details.kind,
        "tier": details.tier,
        "summary": details.summary,
        "story": details.story,
        "materials": details.materials,
        "origin": details.origin,
        "finishing": details.finishing,
        "certification": details.certification,
        "fit_notes": details.fit_notes,
        "metal_weight": details.metal_weight_mg,
        "default_metal": details.default_metal,
        "metals": [
            {
                "code": m.code,
                "offered": m.code in offered,
                "grams": offered[m.code].weight_mg if m.code in offered else None,
            }
            for m in metals
        ],
        "sizes": list(details.size_codes),
        "bench_hours": hours,
        "bench_minutes": minutes,
        "labour_rate": details.labour_rate_per_hour_minor,
        "provenance": details.provenance_minor,
        "packaging": details.packaging_minor,
        "shipping": details.shipping_minor,
        "insurance": details.insurance_bp,
        "lead_time_weeks": details.lead_time_weeks,
        "deposit_percent": details.deposit_percent,
        "stones": [
            {
                "kind": s.kind,
                "count": s.count,
                "unit_price": s.unit_price_minor,
                "origin": s.origin,
                "treatment": s.treatment,
            }
            for s in details.stones
        ],
    }


def _decimal_text(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _cm(mm: int) -> str:
    whole, tenth = divmod(mm, 10)
    return f"{whole}.{tenth}" if tenth else str(whole)


def _fields_with_errors(form: ProductForm) -> Iterator[tuple[Field, list[str]]]:
    for field in form:
        if field.type == "FieldList":
            for entry in field.entries:
                for sub in entry.form:
                    if sub.errors:
                        yield sub, list(sub.errors)
        elif field.errors and isinstance(field.errors, list | tuple):
            yield field, list(field.errors)


def _named(label: str, message: str) -> str:
    """The message, starting with its field's name (WTForms' own messages do not)."""
    if not message or message.lower().startswith(label.lower()):
        return message
    return f"{label}: {message[0].lower()}{message[1:]}"
