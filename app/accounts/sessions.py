"""Sign-ins kept on the server, so logging out or changing the password really ends them.

Flask's session cookie is signed, not stored: a copy of it (or of the remember-me cookie) would
stay valid after logout. Each sign-in is therefore a ``LoginSession`` row whose random key rides
in the user id that Flask-Login puts in both cookies (``User.get_id``); a request is signed in only
while that row is open.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select, update
from sqlalchemy.orm import InstrumentedAttribute, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.accounts.models import LoginSession, User
from app.domain.clock import utcnow
from app.extensions import db

_MAX_ID_DIGITS = 18  # below 2**63: a longer number in a forged cookie is simply nobody

# What other features read about the signed-in buyer on every page (the cart count in the
# header): a scalar subquery on the user's id each, read in the sign-in check's own statement,
# one round trip to the database instead of one per feature. Name -> builder.
SignInRead = Callable[[InstrumentedAttribute[int]], ColumnElement[Any]]
_reads: dict[str, SignInRead] = {}
# The user is read as plain columns and put into the session as loaded (see _loaded_user):
# the ORM's loading and a second session cost more than the round trip they wrap.
_USER_ATTRIBUTES = tuple(attr.key for attr in User.__mapper__.column_attrs)
_USER_COLUMNS = tuple(getattr(User, name) for name in _USER_ATTRIBUTES)
_USER_ID = _USER_ATTRIBUTES.index("id")
_statement: tuple[tuple[str, ...], Select] | None = None


def read_with_sign_in(name: str, column: SignInRead) -> None:
    """Read ``column(User.id)`` with every sign-in check; the value is ``signed_in_read(name)``."""
    global _statement
    _reads[name] = column
    _statement = None


def _open_sign_in() -> tuple[tuple[str, ...], Select]:
    """The statement run on every signed-in request (built once): the user while the sign-in is
    open, and the registered reads."""
    global _statement
    if _statement is None:
        names = tuple(_reads)
        statement = (
            select(*_USER_COLUMNS, *(_reads[name](User.id).label(name) for name in names))
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(
                User.id == bindparam("user_id"),
                LoginSession.key == bindparam("key"),
                LoginSession.ended_at.is_(None),
            )
        )
        _statement = (names, statement)
    return _statement


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
    names, statement = _open_sign_in()
    # One statement, read outside the request's transaction (its own snapshot, as every
    # statement under READ COMMITTED): a page that reads nothing else then costs one round trip
    # to the database, not three (BEGIN, the check, ROLLBACK).
    with db.engine.connect() as connection:
        reader = connection.execution_options(isolation_level="AUTOCOMMIT")
        row = reader.execute(statement, {"user_id": int(user_id), "key": key}).one_or_none()
    if row is None:
        return None
    user = _loaded_user(row[: len(_USER_COLUMNS)])
    user.session_key = key
    user.sign_in_reads = dict(zip(names, row[len(_USER_COLUMNS) :], strict=True))
    return user


def _loaded_user(values: Sequence[Any]) -> User:
    """The user as the ORM would have loaded it into the request's session (no SQL): views may
    change it or lazy-load its relationships."""
    key = identity_key(User, values[_USER_ID])
    known = db.session.identity_map.get(key)
    if known is not None:  # already loaded in this request: that copy stands
        return known
    user = User.__mapper__.class_manager.new_instance()
    for name, value in zip(_USER_ATTRIBUTES, values, strict=True):
        set_committed_value(user, name, value)
    make_transient_to_detached(user)
    db.session.add(user)
    return user


def signed_in_read(user: Any, name: str) -> Any:
    """A value read with ``user``'s sign-in check this request (KeyError: none was)."""
    reads = getattr(user, "sign_in_reads", None)
    if reads is None:
        raise KeyError(name)
    return reads[name]


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
