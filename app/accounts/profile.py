"""A customer changing their own account: name, email address and password.

A new address takes effect only when the link sent to it is followed (a page, then its button),
so nobody can move an account to an address they do not read, and a mail scanner that opens
the link changes nothing. Asking for it needs the current password, so a borrowed session
cannot take the account away; the answer is the same whether or not the new address already
has an account (that address's owner gets a note instead of a link). Once it changes, the old
address is told. The link is bound to the address and password it was asked under: after
either changes, it stops working.

A new password needs the current one; every other sign-in of the account ends (the
``LoginSession`` rows of app.accounts.sessions), the one that changed it goes on.

Services never commit: the caller wraps each call in ``atomic()``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.accounts.services import (
    AccountError,
    EmailTaken,
    WrongPassword,
    find_user_by_email,
    normalise_email,
)
from app.accounts.sessions import end_other_sessions
from app.common.links import LinkExpired, public_url, read_signed, sign
from app.common.mail import send_mail_after_commit
from app.common.transactions import atomic
from app.extensions import db

EMAIL_CHANGE_SALT = "diadem.email-change"
EMAIL_CHANGE_MAX_AGE = 24 * 60 * 60  # seconds the link to the new address works


class InvalidEmailChange(AccountError):
    pass


def _account(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise AccountError("That account no longer exists.")
    return user


def change_name(*, user_id: int, name: str) -> User:
    """Rename the account (the name on orders to come, emails and the account page)."""
    user = _account(user_id)
    user.name = name.strip()
    return user


def _fingerprint(user: User) -> str:
    # The link stops working once the address or the password changes (used, or superseded).
    return hashlib.sha256(f"{user.email}\n{user.password_hash}".encode()).hexdigest()[:16]


def request_email_change(*, user_id: int, new_email: str, password: str) -> str:
    """Send the link that moves the account to ``new_email``; return the address written to.

    Raises WrongPassword, or AccountError when the new address is the current one. An address
    that already has an account gets a note saying so instead of a link, and the caller
    answers the same either way.
    """
    user = _account(user_id)
    if not user.check_password(password):
        raise WrongPassword("That is not your current password.")
    address = normalise_email(new_email)
    if address == user.email:
        raise AccountError("That is already your account's address.")
    if find_user_by_email(address) is not None:
        send_mail_after_commit(
            to=address,
            subject="Someone tried to move a Diadem account to your address",
            template="email_change_taken",
            login_link=public_url("accounts.login"),
        )
        return address
    token = sign({"uid": user.id, "new": address, "fp": _fingerprint(user)}, salt=EMAIL_CHANGE_SALT)
    send_mail_after_commit(
        to=address,
        subject="Confirm your new Diadem address",
        template="email_change_confirm",
        user=user,
        link=public_url("accounts.confirm_email_change", token=token),
        hours=EMAIL_CHANGE_MAX_AGE // 3600,
    )
    return address


@dataclass(frozen=True)
class EmailChange:
    user: User
    new_email: str


def pending_email_change(*, token: str, max_age: int = EMAIL_CHANGE_MAX_AGE) -> EmailChange:
    """The account and new address a link names; InvalidEmailChange if forged, expired or spent."""
    try:
        data = read_signed(token, salt=EMAIL_CHANGE_SALT, max_age=max_age)
    except LinkExpired as exc:
        raise InvalidEmailChange(
            "That link has expired; ask for a new one on your account page."
        ) from exc
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("uid"), int)
        or not isinstance(data.get("new"), str)
    ):
        raise InvalidEmailChange("That link is not valid.")
    user = db.session.get(User, data["uid"])
    if user is None or data.get("fp") != _fingerprint(user):
        raise InvalidEmailChange(
            "That link has already been used, or your address or password changed since it "
            "was sent; ask for a new one on your account page."
        )
    return EmailChange(user=user, new_email=data["new"])


def confirm_email_change(*, token: str) -> EmailChange:
    """Move the account to the address the link was sent to, and tell the old address."""
    change = pending_email_change(token=token)
    user, old_email = change.user, change.user.email
    try:
        with atomic():  # a savepoint: an address taken meanwhile fails only this
            user.email = change.new_email
            db.session.flush()
    except IntegrityError as exc:
        db.session.refresh(user)
        raise EmailTaken(
            "That address now belongs to another account, so yours keeps its address."
        ) from exc
    send_mail_after_commit(
        to=old_email,
        subject="Your Diadem account has a new address",
        template="email_changed_notice",
        user=user,
        new_email=change.new_email,
    )
    return change


def change_password(
    *, user_id: int, current_password: str, new_password: str, keep_session_key: str | None
) -> int:
    """Set a new password after checking the current one; end every other sign-in.

    Returns how many other sign-ins were ended. Raises WrongPassword.
    """
    user = _account(user_id)
    if not user.check_password(current_password):
        raise WrongPassword("That is not your current password.")
    user.set_password(new_password)
    ended = end_other_sessions(user.id, keep_key=keep_session_key)
    send_mail_after_commit(
        to=user.email,
        subject="Your Diadem password was changed",
        template="password_changed",
        user=user,
        reset_link=public_url("accounts.forgot_password"),
    )
    return ended
