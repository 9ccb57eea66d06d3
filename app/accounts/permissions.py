"""Who on the staff may do what: one table, checked by views and templates.

Every staff member runs the workshop (orders, production, QC, shipping, repairs, consultations,
passports). Moving money and changing the atelier's terms is for admins only.

| action                                          | staff | admin |
| ----------------------------------------------- | ----- | ----- |
| see orders, payments, consultations, repairs    | yes   | yes   |
| production stages, design rounds, QC, shipping  | yes   | yes   |
| request a balance payment                       | yes   | yes   |
| repairs: assess, quote, move; passport entries  | yes   | yes   |
| consultation notes, outcomes, order drafts      | yes   | yes   |
| mark an order paid (a bank transfer arrived)    | no    | yes   |
| refund a payment                                | no    | yes   |
| cancel an order                                 | no    | yes   |
| revise a custom piece's price                   | no    | yes   |
| studio settings: hours, slots, closed days      | no    | yes   |
| see the metal rates and their history           | yes   | yes   |
| change a metal rate (reprices the catalogue)    | no    | yes   |
| set hand-finish standards per product kind      | no    | yes   |
| let QC pass below the bench minimum (override)  | no    | yes   |
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from app.accounts.models import Role


class Permission(enum.StrEnum):
    WORKSHOP = "workshop"  # everything staff do day to day
    MARK_PAID = "mark_paid"
    REFUND = "refund"
    CANCEL_ORDER = "cancel_order"
    REVISE_PRICE = "revise_price"
    STUDIO_SETTINGS = "studio_settings"
    SET_RATES = "set_rates"
    FINISH_STANDARDS = "finish_standards"
    QC_OVERRIDE = "qc_override"


GRANTS: dict[Role, frozenset[Permission]] = {
    Role.CUSTOMER: frozenset(),
    Role.STAFF: frozenset({Permission.WORKSHOP}),
    Role.ADMIN: frozenset(Permission),
}


def can(user: Any, permission: Permission) -> bool:
    """Whether ``user`` (a User or Flask-Login's anonymous user) holds ``permission``."""
    if not getattr(user, "is_authenticated", False):
        return False
    return permission in GRANTS.get(Role(user.role), frozenset())


def permission_required(permission: Permission) -> Callable[[Callable[..., Any]], Any]:
    """Guests go to sign in; a signed-in user without the permission gets 403."""

    def decorator(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator
