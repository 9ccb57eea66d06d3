"""Signed manage links for customers without a login."""

from __future__ import annotations

import hmac

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.booking.models import Consultation
from app.booking.services.errors import InvalidManageLink
from app.booking.services.reading import _with_details
from app.extensions import db

TOKEN_SALT = "diadem.consultation"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=TOKEN_SALT)


def manage_token(consultation: Consultation) -> str:
    return _serializer().dumps({"c": consultation.id, "k": consultation.manage_key})


def consultation_for_token(*, token: str) -> Consultation:
    """The consultation a signed manage link names; raise InvalidManageLink if forged or revoked."""
    try:
        data = _serializer().loads(token)
    except BadSignature as exc:
        raise InvalidManageLink("That link is not valid.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        raise InvalidManageLink("That link is not valid.")
    consultation = db.session.get(Consultation, data["c"], options=_with_details())
    if consultation is None or not hmac.compare_digest(
        str(data.get("k", "")), consultation.manage_key
    ):
        raise InvalidManageLink("That link is not valid.")
    return consultation
