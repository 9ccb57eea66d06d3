"""Account operations: registration, authentication, password reset tokens.

Registering answers the same whether or not the address has an account, so the form cannot be
used to find out who shops here: a new address gets an account awaiting confirmation and a
link to finish; a taken one gets a note to its owner. Nobody is signed in until the link is used.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app.accounts.models import Role, User, password_hash_method
from app.accounts.sessions import end_all_sessions
from app.common.links import LinkExpired, public_url, read_signed, sign
from app.common.mail import send_mail_after_commit
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.extensions import db

RESET_SALT = "diadem.password-reset"
CONFIRM_SALT = "diadem.confirm-address"
CONFIRM_MAX_AGE = 3 * 24 * 60 * 60  # seconds the link to finish registering works


class AccountError(Exception):
    """Raised when an account operation cannot be done; the message is for the user."""


class EmailTaken(AccountError):
    pass


class InvalidResetToken(AccountError):
    pass


class InvalidConfirmToken(AccountError):
    pass


class WrongPassword(AccountError):
    pass


class AddressNotConfirmed(AccountError):
    """The password is right but the account's address has not been confirmed yet."""

    def __init__(self, message: str, *, user_id: int) -> None:
        super().__init__(message)
        self.user_id = user_id


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.execute(
        db.select(User).where(User.email == normalise_email(email))
    ).scalar_one_or_none()


def register_user(*, email: str, password: str, name: str = "", role: Role = Role.CUSTOMER) -> User:
    """Create an account; raise EmailTaken if the address is already registered."""
    user = User(email=normalise_email(email), name=name.strip(), role=role.value)
    user.set_password(password)
    _insert_user(user)
    return user


def _insert_user(user: User) -> None:
    try:
        # A savepoint, so a taken address undoes only this insert (outside atomic() it commits).
        with atomic():
            db.session.add(user)
            db.session.flush()
    except IntegrityError as exc:
        raise EmailTaken("An account with that email already exists.") from exc


def request_registration(*, email: str, password: str, name: str, next_path: str = "") -> None:
    """Register someone on the site, answering the same whether or not the address is taken.

    A new address gets an account awaiting confirmation and an email with the link that
    finishes it; a registration still awaiting confirmation takes the newer name and password
    (the earlier link stops working). A confirmed account's owner is told by email that someone
    tried, with a password reset link. Either way one message goes out, after the commit, and
    nobody is signed in.
    """
    address = normalise_email(email)
    # Hash first on every path, so the time taken does not tell a taken address from a new one.
    password_hash = generate_password_hash(password, method=password_hash_method())
    user = find_user_by_email(address)
    if user is None:
        user = User(email=address, name=name.strip(), role=Role.CUSTOMER.value)
        user.password_hash = password_hash
        user.unconfirmed_since = utcnow()
        try:
            _insert_user(user)
        except EmailTaken:
            # Someone registered the same address a moment ago: treat it as taken.
            user = find_user_by_email(address)
            if user is None:
                raise
            _tell_owner_of_attempt(user)
            return
    elif user.unconfirmed_since is not None:
        user.name = name.strip()
        user.password_hash = password_hash
        user.unconfirmed_since = utcnow()
    else:
        _tell_owner_of_attempt(user)
        return
    send_confirmation(user=user, next_path=next_path)


def send_confirmation(*, user: User, next_path: str = "") -> None:
    """Email the link that confirms the address and finishes the account (after the commit)."""
    token = sign({"uid": user.id, "fp": _fingerprint(user), "next": next_path}, salt=CONFIRM_SALT)
    send_mail_after_commit(
        to=user.email,
        subject="Finish creating your Diadem account",
        template="account_confirm",
        user=user,
        link=public_url("accounts.confirm_address", token=token),
        days=CONFIRM_MAX_AGE // 86400,
    )


def _tell_owner_of_attempt(user: User) -> None:
    send_mail_after_commit(
        to=user.email,
        subject="Someone tried to register with your address",
        template="registration_attempt",
        user=user,
        login_link=public_url("accounts.login"),
        reset_link=public_url("accounts.reset_password", token=make_reset_token(user=user)),
        minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
    )


def pending_registration(*, token: str, max_age: int | None = None) -> tuple[User, str]:
    """The account a confirmation link finishes and where to go next; InvalidConfirmToken if the
    link is forged, expired, superseded by a newer registration or already used."""
    try:
        data = read_signed(token, salt=CONFIRM_SALT, max_age=max_age or CONFIRM_MAX_AGE)
    except LinkExpired as exc:
        raise InvalidConfirmToken("That link has expired; register again for a new one.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        raise InvalidConfirmToken("That link is not valid.")
    user = db.session.get(User, data["uid"])
    if user is None or user.unconfirmed_since is None or data.get("fp") != _fingerprint(user):
        raise InvalidConfirmToken(
            "That link has already been used or replaced by a newer one; sign in, or register "
            "again for a new link."
        )
    next_path = data.get("next")
    return user, next_path if isinstance(next_path, str) else ""


def confirm_address(*, user_id: int, password: str) -> None:
    """Mark the account's address confirmed; from now on it can sign in.

    The link alone is not enough: someone may register another person's address with a
    password of their own and wait for the owner to click. Asking for the password chosen at
    registration means only the person who registered, reading that address, can finish.
    Raises WrongPassword otherwise.
    """
    user = db.session.get(User, user_id)
    if user is None:
        raise InvalidConfirmToken("That account no longer exists.")
    if not user.check_password(password):
        raise WrongPassword(
            "That is not the password chosen when registering. If you did not register with "
            "us, close this page: the account stays locked."
        )
    user.unconfirmed_since = None


# A hash of nothing anyone knows, per hash method, made on first use.
_UNKNOWN_ACCOUNT_HASH: dict[str, str] = {}


def authenticate(*, email: str, password: str) -> User | None:
    """Return the user if the credentials match, else None (same answer for both failures).

    Raises AddressNotConfirmed for the right password of an account not yet confirmed.

    An unknown address costs the same password hashing as a known one, so the time taken does
    not tell whether an account exists.
    """
    user = find_user_by_email(email)
    if user is None:
        method = password_hash_method()
        if method not in _UNKNOWN_ACCOUNT_HASH:
            _UNKNOWN_ACCOUNT_HASH[method] = generate_password_hash(
                secrets.token_hex(16), method=method
            )
        check_password_hash(_UNKNOWN_ACCOUNT_HASH[method], password)
        return None
    if not user.check_password(password):
        return None
    if user.unconfirmed_since is not None:
        # Only someone who knows the password learns this, so it gives nothing away.
        raise AddressNotConfirmed(
            "Confirm your address first: we have emailed you a new link to finish.",
            user_id=user.id,
        )
    return user


def _fingerprint(user: User) -> str:
    # Binding the token to the current password hash makes it single-use: once the
    # password changes, every earlier link stops working.
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def make_reset_token(*, user: User, secret_key: str | None = None) -> str:
    """A signed reset link token (signed with the app's secret key; ``secret_key`` is unused)."""
    return sign({"uid": user.id, "fp": _fingerprint(user)}, salt=RESET_SALT)


def user_for_reset_token(*, token: str, max_age: int, secret_key: str | None = None) -> User:
    """Return the user a reset token is for; raise InvalidResetToken if bad, used or expired."""
    try:
        data = read_signed(token, salt=RESET_SALT, max_age=max_age)
    except LinkExpired as exc:
        raise InvalidResetToken("That reset link has expired; ask for a new one.") from exc
    if data is None:
        raise InvalidResetToken("That reset link is not valid.")
    user = db.session.get(User, data.get("uid")) if isinstance(data, dict) else None
    if user is None or data.get("fp") != _fingerprint(user):
        raise InvalidResetToken("That reset link has already been used.")
    return user


def reset_password(*, user_id: int, password: str) -> None:
    user = db.session.get(User, user_id)
    if user is None:
        raise InvalidResetToken("That account no longer exists.")
    user.set_password(password)
    user.unconfirmed_since = None  # the reset link came to the address, which proves it
    end_all_sessions(user.id)  # a copied cookie, or the device that was lost, is signed out


def ensure_staff(
    *, email: str, password: str, admin: bool = False, name: str = ""
) -> tuple[User, bool]:
    """Create or promote a staff login; return (user, created)."""
    role = Role.ADMIN if admin else Role.STAFF
    user = find_user_by_email(email)
    if user is None:
        return register_user(email=email, password=password, name=name, role=role), True
    user.role = role.value
    user.unconfirmed_since = None
    if name:
        user.name = name
    user.set_password(password)
    end_all_sessions(user.id)
    return user, False


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)
