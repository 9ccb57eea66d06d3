"""Account operations: registration, authentication, password reset tokens."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from app.accounts.models import Role, User
from app.accounts.sessions import end_all_sessions
from app.common.links import LinkExpired, read_signed, sign
from app.common.transactions import atomic
from app.extensions import db

RESET_SALT = "diadem.password-reset"


class AccountError(Exception):
    """Raised when an account operation cannot be done; the message is for the user."""


class EmailTaken(AccountError):
    pass


class InvalidResetToken(AccountError):
    pass


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
    try:
        # A savepoint, so a taken address undoes only this insert (outside atomic() it commits).
        with atomic():
            db.session.add(user)
            db.session.flush()
    except IntegrityError as exc:
        raise EmailTaken("An account with that email already exists.") from exc
    return user


_UNKNOWN_ACCOUNT_HASH: list[str] = []  # a hash of nothing anyone knows, made on first use


def authenticate(*, email: str, password: str) -> User | None:
    """Return the user if the credentials match, else None (same answer for both failures).

    An unknown address costs the same password hashing as a known one, so the time taken does
    not tell whether an account exists.
    """
    user = find_user_by_email(email)
    if user is None:
        if not _UNKNOWN_ACCOUNT_HASH:
            _UNKNOWN_ACCOUNT_HASH.append(generate_password_hash(secrets.token_hex(16)))
        check_password_hash(_UNKNOWN_ACCOUNT_HASH[0], password)
        return None
    if not user.check_password(password):
        return None
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
    if name:
        user.name = name
    user.set_password(password)
    end_all_sessions(user.id)
    return user, False


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)
