"""Settings a deployment may override in app.config, with checkout's defaults."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

# Defaults for settings a deployment may override in app.config.
DEFAULTS: dict[str, Any] = {
    # How long a card checkout holds its numbered pieces.
    "CHECKOUT_HOLD_MINUTES": 20,
    # Bank transfers take days: a manual-payment order holds its pieces this long instead.
    "MANUAL_PAYMENT_HOLD_HOURS": 72,
    # One buyer (account, address or browser session) holds at most this many pieces of one
    # edition (a product in a metal) across their unpaid orders.
    "EDITION_HOLD_LIMIT": 2,
    # A guest's bank-transfer order holds its pieces this long until the buyer confirms the
    # address through the emailed link; then MANUAL_PAYMENT_HOLD_HOURS applies.
    "GUEST_UNCONFIRMED_HOLD_MINUTES": 30,
    # Studio pieces are finished and boxed; they leave the atelier within this many days.
    "STUDIO_DISPATCH_DAYS": 5,
    # A guest's signed order link stays valid this long (commissions take months).
    "ORDER_LINK_MAX_AGE_DAYS": 730,
    # The studio's clock: return windows and warranties are counted in its days.
    "STUDIO_TIMEZONE": "Europe/London",
    # Shipped orders with no delivery recorded after this many days are listed to chase.
    "FOLLOW_SHIPMENTS_DAYS": 7,
    # Who sells: printed at the head of every invoice. The company and VAT numbers are empty
    # until a deployment sets DIADEM_SELLER (flask launch-check says so).
    "SELLER": {
        "legal_name": "Diadem Atelier Ltd",
        "address": "14 Hatton Garden, London EC1N 8AT, United Kingdom",
        "company_number": "",
        "vat_number": "",
        "email": "atelier@diadem.test",
    },
    "BANK_TRANSFER_DETAILS": {
        "Account name": "Diadem Atelier Ltd",
        "Bank": "Example Bank plc, London",
        "IBAN": "GB00 EXMP 0000 0000 0000 00",
        "BIC / SWIFT": "EXMPGB2L",
    },
}


def setting(name: str) -> Any:
    return current_app.config.get(name, DEFAULTS[name])


def studio_zone() -> ZoneInfo:
    """The studio's time zone (``STUDIO_TIMEZONE``)."""
    return ZoneInfo(setting("STUDIO_TIMEZONE") or DEFAULTS["STUDIO_TIMEZONE"])


def launch_problems() -> list[str]:
    """What must change before the shop takes real money: placeholders still in use."""
    problems = []
    if setting("BANK_TRANSFER_DETAILS") == DEFAULTS["BANK_TRANSFER_DETAILS"]:
        problems.append(
            "The bank details are the example placeholder: buyers would be told to pay an "
            "account that does not exist. Set DIADEM_BANK_TRANSFER_DETAILS."
        )
    seller = setting("SELLER")
    missing = [key for key in ("company_number", "vat_number") if not seller.get(key)]
    if missing:
        problems.append(
            f"Invoices print no {' or '.join(k.replace('_', ' ') for k in missing)}. "
            "Set DIADEM_SELLER."
        )
    return problems
