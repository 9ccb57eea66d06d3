"""Published policies: the quality checklist (from QC's own) and the materials policy.

``/quality`` is generated from the checklist staff fill in (``app.domain.production``'s
``QC_TEMPLATE``, finish grades and weight tolerance, the same definitions the QC form and its
records use), so the published page cannot drift from what is checked. ``/policies/materials``
is the text admins edit at ``/staff/capacity/policies/materials`` (a default until they do).
Both are cached for guests; saving a policy starts a new catalogue generation.
"""

from __future__ import annotations

from flask import Blueprint, render_template

from app.common.caching import cached_page
from app.domain import production
from app.staff import policies

bp = Blueprint(
    "policies",
    __name__,
)


def quality_checklist() -> dict[str, object]:
    """What the quality page publishes, read from the QC definitions themselves."""
    return {
        "items": production.QC_TEMPLATE,
        "finish_grades": production.FINISH_GRADES,
        "passing_grades": sorted(production.PASSING_FINISH_GRADES),
        "tolerance_percent": production.WEIGHT_TOLERANCE_PERMILLE / 10,
    }


@bp.get("/quality")
@cached_page
def quality():
    return render_template("main/quality.html", **quality_checklist())


@bp.get("/policies/materials")
@cached_page
def materials():
    return render_template("main/policy_show.html", policy=policies.get_policy("materials"))
