"""Sign-ins kept on the server, so logging out or changing the password really ends them.

Flask's session cookie is signed, not stored: a copy of it (or of the remember-me cookie) would
stay valid after logout. Each sign-in is therefore a ``LoginSession`` row whose random key rides
in the user id that Flask-Login puts in both cookies (``User.get_id``); a request is signed in only
while that row is open.
"""

from __future__ import annotations

import secrets

from sqlalchemy import bindparam, select, update

from app.accounts.models import LoginSession, User
from app.domain.clock import utcnow
from app.extensions import db

_MAX_ID_DIGITS = 18  # below 2**63: a longer number in a forged cookie is simply nobody

# Run on every signed-in request: built once, so each request only binds its two values.
_OPEN_SIGN_IN = (
    select(User)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        LoginSession.key == bindparam("key"),
        LoginSession.ended_at.is_(None),
    )
)


def start_session(user: User) -> None:
    """Open a sign-in for ``user`` (in the caller's transaction) and attach its key."""
    key = secrets.token_urlsafe(32)
    db.session.add(LoginSession(key=key, user_id=user.id, created_at=utcnow()))
    db.session.flush()
    user.session_key = key


def user_for_session(login_id: str) -> User | None:
    """The user behind a Flask-Login id ``"<user id>:<key>"`` while that sign-in is open."""
    user_id, _, key = login_id.partition(":")
    if not (user_id.isdigit() and len(user_id) <= _MAX_ID_DIGITS and key):
        return None
    user = db.session.execute(
        _OPEN_SIGN_IN, {"user_id": int(user_id), "key": key}
    ).scalar_one_or_none()
    if user is not None:
        user.session_key = key
    return user


def end_session(key: str | None) -> None:
    """End one sign-in (logout)."""
    if key:
        db.session.execute(
            update(LoginSession)
            .where(LoginSession.key == key, LoginSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_all_sessions(user_id: int) -> int:
    """End every open sign-in of an account (password change or reset); return how many."""
    result = db.session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
    )
    return result.rowcount or 0


def end_other_sessions(user_id: int, *, keep_key: str | None) -> int:
    """End every open sign-in of an account but ``keep_key`` (a password change made on this
    device); return how many."""
    query = update(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None)
    )
    if keep_key:
        query = query.where(LoginSession.key != keep_key)
    return db.session.execute(query.values(ended_at=utcnow())).rowcount or 0
