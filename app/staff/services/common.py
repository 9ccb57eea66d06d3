"""What every staff production module shares: errors, limits, tracks."""

from __future__ import annotations

from app.checkout.models import OrderLine
from app.domain.production import Track

MAX_DESIGN_FILES = 8
# Workshop steps that go into the piece's provenance passport when a line moves on.
PROVENANCE_STEPS: dict[tuple[str, str], str] = {
    ("cad_approval", "casting"): "CAD design completed and approved",
    ("casting", "hand_finishing"): "Cast and fabricated",
    ("hand_finishing", "qc"): "Hand finished",
    ("hand_finishing", "proof_approval"): "Hand finished",
}


class ProductionError(Exception):
    """A production operation cannot be done; the message is for the person who asked."""


class OrderNotFound(ProductionError):
    pass


class DesignError(ProductionError):
    pass


class ShippingError(ProductionError):
    pass


def track_of(line: OrderLine) -> Track:
    return Track.CUSTOM if line.is_custom else Track.STUDIO
