"""Staff forms for batches: input shape only (catalog.batches checks the rules)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from app.catalog.batches import (
    BATCH_CODE,
    BATCH_CODE_MAX,
    DOCUMENT_KINDS,
    SOURCING_MAX,
    TITLE_MAX,
)
from app.common.forms import choices
from app.domain.editions import EDITION_SIZES

SOURCING_HELP = (
    "What this batch is made of and where it came from, as customers will read it "
    "(e.g. “Recycled 18k gold, refined in Birmingham; lab-grown diamonds”)."
)


class OpenBatchForm(FlaskForm):
    # "<product id>:<metal code>", offered per product (optgroups) so only its metals show.
    edition = SelectField("Design and metal", validators=[InputRequired()], choices=[])
    batch_code = StringField(
        "Batch code",
        validators=[
            DataRequired(),
            Length(max=BATCH_CODE_MAX),
            Regexp(
                rf"^\s*{BATCH_CODE.pattern}\s*$",
                message="Letters and digits joined by single hyphens, e.g. AUR-YG-2027.",
            ),
        ],
    )
    size = SelectField(
        "Edition size",
        choices=choices((str(n), f"{n} pieces") for n in EDITION_SIZES),
        default=str(EDITION_SIZES[1]),
        validators=[InputRequired()],
    )
    sourcing_statement = TextAreaField(
        "Sourcing statement", validators=[DataRequired(), Length(max=SOURCING_MAX)]
    )
    released_on = DateField("Released on", validators=[Optional()])

    @staticmethod
    def edition_value(product_id: int, metal_code: str) -> str:
        return f"{product_id}:{metal_code}"

    @classmethod
    def edition_choices(cls, products) -> list[SelectChoice]:
        """One option per design and offered metal, grouped under the design's name (and naming
        it too, since a closed select shows the option alone)."""
        return [
            SelectChoice(
                cls.edition_value(product.id, metal.code),
                f"{product.name} in {metal.name}",
                optgroup=product.name,
            )
            for product in products
            for metal in product.metals
        ]

    def parsed_edition(self) -> tuple[int, str] | None:
        product, _, metal = (self.edition.data or "").partition(":")
        return (int(product), metal) if product.isdigit() and metal else None


class SourcingForm(FlaskForm):
    sourcing_statement = TextAreaField(
        "Sourcing statement", validators=[DataRequired(), Length(max=SOURCING_MAX)]
    )


class DocumentForm(FlaskForm):
    kind = SelectField(
        "Kind", choices=choices(DOCUMENT_KINDS.items()), validators=[InputRequired()]
    )
    title = StringField("Title", validators=[DataRequired(), Length(max=TITLE_MAX)])
    file = FileField(
        "File (PDF; JPEG, PNG or WebP photo; MP4 or WebM video)",
        validators=[FileRequired("Choose a file to attach.")],
    )


class CloseBatchForm(FlaskForm):
    confirm = BooleanField(
        "Close this batch: its available numbers are withheld and can no longer be bought",
        validators=[DataRequired("Tick the box to confirm closing the batch.")],
    )


class RemoveDocumentForm(FlaskForm):
    """Only the CSRF token."""
