"""Production stages, the one transition table, the QC checklist and the four-eyes rule.

Three tracks share one table: studio pieces (numbered editions finished to order), custom
commissions (two customer approvals: the CAD render and the hand-finish proof) and repairs.
Each transition names *how* it may happen (``Via``): a staff button, uploading a design for
the customer, the customer's decision, a payment, the shipping form, a repair quote. Anything
not in the table is refused with a message that says what is possible instead.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from app.domain.money import div_round


class Track(enum.StrEnum):
    STUDIO = "studio"
    CUSTOM = "custom"
    REPAIR = "repair"


class Via(enum.StrEnum):
    MOVE = "move"  # a staff member presses the button for this step
    DESIGN_UPLOAD = "design_upload"  # staff upload a CAD render / hand-finish proof
    CUSTOMER_DECISION = "customer_decision"  # the customer approves or asks for changes
    PAYMENT = "payment"  # a payment is recorded (checkout)
    SHIPMENT = "shipment"  # the shipping form: carrier and tracking number
    ASSESSMENT = "assessment"  # a repair is assessed
    QUOTE = "quote"  # a repair quote is sent


STAGE_LABELS: dict[str, str] = {
    # production
    "paid": "Paid",
    "deposit_paid": "Deposit paid",
    "cad_design": "CAD design",
    "cad_approval": "CAD render with the customer",
    "casting": "Casting and fabrication",
    "hand_finishing": "Hand finishing",
    "proof_approval": "Hand-finish proof with the customer",
    "qc": "Quality control",
    "balance_paid": "Balance paid",
    "packed": "Packed",
    "shipped": "Shipped",
    # repairs
    "received": "Received",
    "assessed": "Assessed",
    "quote_sent": "Quote sent",
    "approved": "Quote approved",
    "declined": "Quote declined",
    "in_repair": "In repair",
    "returned": "Returned",
}

TRACK_STAGES: dict[Track, tuple[str, ...]] = {
    Track.STUDIO: ("paid", "hand_finishing", "qc", "packed", "shipped"),
    Track.CUSTOM: (
        "deposit_paid",
        "cad_design",
        "cad_approval",
        "casting",
        "hand_finishing",
        "proof_approval",
        "qc",
        "balance_paid",
        "packed",
        "shipped",
    ),
    Track.REPAIR: (
        "received",
        "assessed",
        "quote_sent",
        "approved",
        "declined",
        "in_repair",
        "qc",
        "returned",
    ),
}

INITIAL_STAGE: dict[Track, str] = {
    Track.STUDIO: "paid",
    Track.CUSTOM: "deposit_paid",
    Track.REPAIR: "received",
}

FINAL_STAGES = frozenset({"shipped", "returned"})


@dataclass(frozen=True, slots=True)
class Transition:
    track: Track
    source: str
    target: str
    via: Via
    label: str  # what the button or the history says
    needs_qc: bool = False  # the piece's QC must have passed


_S, _C, _R = Track.STUDIO, Track.CUSTOM, Track.REPAIR

# THE table. Every stage change anywhere in Diadem is checked against it.
TRANSITIONS: tuple[Transition, ...] = (
    # studio pieces: paid -> hand finishing -> QC -> packed -> shipped
    Transition(_S, "paid", "hand_finishing", Via.MOVE, "Start hand finishing"),
    Transition(_S, "hand_finishing", "qc", Via.MOVE, "Hand finishing done: send to QC"),
    Transition(_S, "qc", "hand_finishing", Via.MOVE, "Back to hand finishing (rework)"),
    Transition(_S, "qc", "packed", Via.MOVE, "Pack", needs_qc=True),
    Transition(_S, "packed", "shipped", Via.SHIPMENT, "Ship", needs_qc=True),
    # custom commissions, with the two customer approvals
    Transition(_C, "deposit_paid", "cad_design", Via.MOVE, "Start CAD design"),
    Transition(
        _C, "cad_design", "cad_approval", Via.DESIGN_UPLOAD, "Send CAD render to the customer"
    ),
    Transition(
        _C, "cad_approval", "casting", Via.CUSTOMER_DECISION, "Customer approved the CAD render"
    ),
    Transition(
        _C, "cad_approval", "cad_design", Via.CUSTOMER_DECISION, "Customer asked for CAD changes"
    ),
    Transition(_C, "casting", "hand_finishing", Via.MOVE, "Casting done: start hand finishing"),
    Transition(
        _C,
        "hand_finishing",
        "proof_approval",
        Via.DESIGN_UPLOAD,
        "Send hand-finish proof to the customer",
    ),
    Transition(_C, "proof_approval", "qc", Via.CUSTOMER_DECISION, "Customer approved the proof"),
    Transition(
        _C,
        "proof_approval",
        "hand_finishing",
        Via.CUSTOMER_DECISION,
        "Customer asked for finishing changes",
    ),
    Transition(_C, "qc", "hand_finishing", Via.MOVE, "Back to hand finishing (rework)"),
    Transition(_C, "qc", "balance_paid", Via.PAYMENT, "Balance received", needs_qc=True),
    Transition(_C, "balance_paid", "packed", Via.MOVE, "Pack", needs_qc=True),
    Transition(_C, "packed", "shipped", Via.SHIPMENT, "Ship", needs_qc=True),
    # repairs
    Transition(_R, "received", "assessed", Via.ASSESSMENT, "Record the assessment"),
    Transition(_R, "assessed", "quote_sent", Via.QUOTE, "Send the quote"),
    Transition(_R, "quote_sent", "approved", Via.CUSTOMER_DECISION, "Quote accepted"),
    Transition(_R, "quote_sent", "declined", Via.CUSTOMER_DECISION, "Quote declined"),
    Transition(_R, "approved", "in_repair", Via.MOVE, "Start the repair"),
    Transition(_R, "in_repair", "qc", Via.MOVE, "Repair done: send to QC"),
    Transition(_R, "qc", "in_repair", Via.MOVE, "Back to the bench (rework)"),
    Transition(_R, "qc", "returned", Via.MOVE, "Return to the customer", needs_qc=True),
    Transition(_R, "declined", "returned", Via.MOVE, "Return unrepaired"),
)

_TABLE: dict[tuple[Track, str, str], Transition] = {
    (t.track, t.source, t.target): t for t in TRANSITIONS
}

_HOW: dict[Via, str] = {
    Via.MOVE: "a staff member moves it on",
    Via.DESIGN_UPLOAD: "staff upload the design for the customer to approve",
    Via.CUSTOMER_DECISION: "the customer approves or asks for changes",
    Via.PAYMENT: "the payment is recorded",
    Via.SHIPMENT: "the shipping form (carrier and tracking number) is used",
    Via.ASSESSMENT: "the assessment is recorded",
    Via.QUOTE: "the quote is sent",
}

TRACK_NOUNS: dict[Track, str] = {
    Track.STUDIO: "studio piece",
    Track.CUSTOM: "custom commission",
    Track.REPAIR: "repair",
}


class TransitionRefused(ValueError):
    """The stage change is not allowed; the message says why and what is possible."""


class QcRequired(TransitionRefused):
    """The stage change needs a passing QC check first."""


class FourEyesViolation(ValueError):
    """The checker is the artisan whose work is being checked."""


# What the customer reads where the staff wording would be odd ("with the customer").
CUSTOMER_STAGE_LABELS: dict[str, str] = {
    "cad_approval": "Your approval of the CAD render",
    "proof_approval": "Your approval of the hand-finish proof",
    "casting": "Casting and fabrication",
    "qc": "Quality control",
}


def customer_stage_label(stage: str | None) -> str:
    return CUSTOMER_STAGE_LABELS.get(stage or "", stage_label(stage))


def stage_label(stage: str | None) -> str:
    if stage is None:
        return "Not started"
    return STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())


def next_transitions(
    track: Track | str, source: str | None, via: Via | None = None
) -> list[Transition]:
    """The transitions out of ``source`` on ``track`` (only those made ``via`` when given)."""
    return [
        t
        for t in TRANSITIONS
        if t.track == track and t.source == source and (via is None or t.via == via)
    ]


def check_transition(
    track: Track | str,
    source: str | None,
    target: str,
    *,
    via: Via,
    qc_passed: bool = False,
) -> Transition:
    """Return the table's transition, or raise TransitionRefused / QcRequired saying why not."""
    try:
        track = Track(track)
    except ValueError:
        raise TransitionRefused(f"Unknown production track {track!r}.") from None
    noun = TRACK_NOUNS[track]
    if source is None:
        raise TransitionRefused(
            f"This {noun} has not started yet: its payment has not been recorded."
        )
    if target == source:
        raise TransitionRefused(f"This {noun} is already at {stage_label(target)}.")
    transition = _TABLE.get((track, source, target))
    if transition is None:
        options = next_transitions(track, source)
        if target not in STAGE_LABELS:
            lead = f"{target!r} is not a stage."
        else:
            lead = f"A {noun} cannot go from {stage_label(source)} to {stage_label(target)}."
        if options:
            allowed = ", ".join(stage_label(t.target) for t in options)
            raise TransitionRefused(f"{lead} From {stage_label(source)} it can go to: {allowed}.")
        raise TransitionRefused(f"{lead} {stage_label(source)} is the last stage.")
    if transition.via != via:
        raise TransitionRefused(
            f"A {noun} moves from {stage_label(source)} to {stage_label(target)} only when "
            f"{_HOW[transition.via]}."
        )
    if transition.needs_qc and not qc_passed:
        raise QcRequired(
            f"This {noun} cannot move to {stage_label(target)} until its QC check passes."
        )
    return transition


def check_four_eyes(*, artisan_id: int | None, checker_id: int) -> None:
    """The person checking a piece must not be the artisan who finished it."""
    if artisan_id is None:
        raise FourEyesViolation("Name the artisan who finished the piece before checking it.")
    if artisan_id == checker_id:
        raise FourEyesViolation(
            "You finished this piece, so someone else must check it (four-eyes rule)."
        )


# --- the QC checklist ---------------------------------------------------------------------

WEIGHT_TOLERANCE_PERMILLE = 30  # ±3 % of the specified metal weight
FINISH_GRADES: dict[str, str] = {
    "A": "A: flawless mirror and satin areas",
    "B": "B: fine; faint tool marks only under a loupe",
    "C": "C: visible marks or uneven polish (rework)",
}
PASSING_FINISH_GRADES = frozenset({"A", "B"})


@dataclass(frozen=True, slots=True)
class QcItem:
    code: str
    label: str
    help: str


QC_TEMPLATE: tuple[QcItem, ...] = (
    QcItem("stone_tightness", "Stone tightness", "No stone moves or rattles under the loupe."),
    QcItem("solder_integrity", "Solder integrity", "Every joint closed, no pits or cracks."),
    QcItem("hallmark_present", "Hallmark present", "Hallmark and maker's mark legible."),
    QcItem("weight", "Weight within tolerance", "Measured against the specification."),
    QcItem("finish", "Finish grade", "A or B passes; C goes back for rework."),
)


def expected_weight_mg(base_weight_mg: int, size_permille: int = 0) -> int:
    """The specified metal weight for a size: larger sizes use proportionally more metal."""
    return base_weight_mg + div_round(base_weight_mg * size_permille, 1000)


def weight_within_tolerance(
    measured_mg: int, expected_mg: int, tolerance_permille: int = WEIGHT_TOLERANCE_PERMILLE
) -> bool:
    return abs(measured_mg - expected_mg) * 1000 <= expected_mg * tolerance_permille


def parse_grams(text: str) -> int:
    """Parse a weight typed in grams ("101.25") into integer milligrams; ValueError if not."""
    try:
        value = Decimal(str(text).strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a weight in grams") from None
    if not value.is_finite() or value <= 0:
        raise ValueError("The weight must be a positive number of grams")
    mg = value * 1000
    if mg != mg.to_integral_value():
        raise ValueError("Weigh to the milligram at most (three decimal places)")
    return int(mg)


def format_grams(mg: int) -> str:
    whole, frac = divmod(mg, 1000)
    return f"{whole}.{frac:03d} g"


@dataclass(frozen=True, slots=True)
class QcResult:
    stone_tightness: bool
    solder_integrity: bool
    hallmark_present: bool
    measured_mg: int
    expected_mg: int
    finish_grade: str
    tolerance_permille: int = WEIGHT_TOLERANCE_PERMILLE

    def __post_init__(self) -> None:
        if self.finish_grade not in FINISH_GRADES:
            raise ValueError(f"Unknown finish grade {self.finish_grade!r}")
        if self.measured_mg <= 0 or self.expected_mg <= 0:
            raise ValueError("Weights must be positive")

    @property
    def weight_ok(self) -> bool:
        return weight_within_tolerance(self.measured_mg, self.expected_mg, self.tolerance_permille)

    @property
    def finish_ok(self) -> bool:
        return self.finish_grade in PASSING_FINISH_GRADES

    def item_results(self) -> dict[str, bool]:
        return {
            "stone_tightness": self.stone_tightness,
            "solder_integrity": self.solder_integrity,
            "hallmark_present": self.hallmark_present,
            "weight": self.weight_ok,
            "finish": self.finish_ok,
        }

    @property
    def passed(self) -> bool:
        return all(self.item_results().values())

    @property
    def failures(self) -> list[str]:
        results = self.item_results()
        return [item.label for item in QC_TEMPLATE if not results[item.code]]


# Every production stage once, in workshop order (dashboards and filters).
PRODUCTION_STAGES: tuple[str, ...] = (
    "paid",
    "deposit_paid",
    "cad_design",
    "cad_approval",
    "casting",
    "hand_finishing",
    "proof_approval",
    "qc",
    "balance_paid",
    "packed",
    "shipped",
)
