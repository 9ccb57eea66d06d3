"""Signed manage links for customers without a login."""

from __future__ import annotations

import hmac

from app.booking.models import Consultation
from app.booking.services.errors import InvalidManageLink
from app.booking.services.reading import _with_details
from app.common.links import sign, unsign
from app.extensions import db

TOKEN_SALT = "diadem.consultation"
CONFIRM_SALT = "diadem.consultation-confirm"  # a manage link never confirms a guest's hold


def manage_token(consultation: Consultation) -> str:
    """The signed value of a manage link; rotating manage_key revokes every earlier one."""
    return sign({"c": consultation.id, "k": consultation.manage_key}, salt=TOKEN_SALT)


def _consultation_for(token: str, salt: str) -> Consultation:
    data = unsign(token, salt=salt)
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        raise InvalidManageLink("That link is not valid.")
    consultation = db.session.get(Consultation, data["c"], options=_with_details())
    if consultation is None or not hmac.compare_digest(
        str(data.get("k", "")), consultation.manage_key
    ):
        raise InvalidManageLink("That link is not valid.")
    return consultation


def consultation_for_token(*, token: str) -> Consultation:
    """The consultation a signed manage link names; raise InvalidManageLink if forged or revoked."""
    return _consultation_for(token, TOKEN_SALT)


def confirm_token(consultation: Consultation) -> str:
    """The signed value of the link emailed to a guest to confirm their booking."""
    return sign({"c": consultation.id, "k": consultation.manage_key}, salt=CONFIRM_SALT)


def consultation_for_confirm_token(*, token: str) -> Consultation:
    """The consultation a confirm link names; raise InvalidManageLink if forged or revoked."""
    return _consultation_for(token, CONFIRM_SALT)
