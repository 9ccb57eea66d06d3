"""What a return adds to a piece's passport: its arrival, its inspection and what became of it.

Entries use the kinds the passport already knows ("note" for the arrival and the outcome, "qc"
for the inspection), so the whole story reads in order on the public page for the next owner.
"""

from __future__ import annotations

from app.checkout.models import OrderLine
from app.domain import returns as policy
from app.provenance import services as provenance
from app.returns.models import ReturnRequest

OUTCOME_SUMMARIES = {
    "restocked": "Back in its edition and available again, with its number and history.",
    "withheld": "Withheld from sale after failing the return inspection.",
    "kept": "Kept at the atelier after the return inspection.",
    "retired": "Retired after failing the return inspection.",
}


def _passport_id(line: OrderLine) -> int:
    return provenance.passport_for_line(line).id


def record_arrival(request: ReturnRequest, line: OrderLine, *, by_user_id: int) -> None:
    provenance.record_entry(
        passport_id=_passport_id(line),
        kind="note",
        summary=f"Returned to the atelier by its owner (return {request.ra_number}), "
        "insured and signed for.",
        recorded_by_id=by_user_id,
        details={"event": "returned", "return": request.ra_number},
    )


def record_inspection(
    request: ReturnRequest, line: OrderLine, *, passed: bool, items: tuple[str, ...], by: int
) -> None:
    labels = dict(policy.INSPECTION_ITEMS)
    if passed:
        summary = "Return inspection passed: " + ", ".join(labels[k].lower() for k in items) + "."
    else:
        missing = [labels[k].lower() for k in policy.INSPECTION_KEYS if k not in items]
        summary = "Return inspection failed" + (f": {', '.join(missing)}." if missing else ".")
    provenance.record_entry(
        passport_id=_passport_id(line),
        kind="qc",
        summary=summary,
        recorded_by_id=by,
        details={
            "event": "inspected",
            "context": "return",
            "return": request.ra_number,
            "result": "passed" if passed else "failed",
            "items": {key: key in items for key in policy.INSPECTION_KEYS},
        },
    )


def record_outcome(request: ReturnRequest, line: OrderLine, outcome: str, *, by: int) -> None:
    provenance.record_entry(
        passport_id=_passport_id(line),
        kind="note",
        summary=OUTCOME_SUMMARIES[outcome],
        recorded_by_id=by,
        details={"event": outcome, "return": request.ra_number},
    )
