"""Every committed write to a numbered piece starts a new catalogue generation.

The free numbers every server shows are kept per catalogue generation (app.catalog.read_model),
so a piece reserved, released, sold or withheld must start a new one. The services that do so
say it themselves (``caching.catalogue_changed()``); this is the net under them: a write to the
``pieces`` table through the ORM session, by unit of work or by a bulk UPDATE/DELETE, marks the
session, and its commit starts a new generation. A script that forgets, or a service written
later, cannot leave stale stock on the shop's pages.

Only what goes through SQLAlchemy's ORM session is seen: SQL typed into psql is not.
"""

from __future__ import annotations

from itertools import chain
from typing import Any

from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from app.catalog.models import Piece
from app.common import caching

_WROTE_PIECES = "diadem_wrote_pieces"


def _note_flush(session: Session, flush_context: UOWTransaction) -> None:
    # after_flush still shows what the flush wrote in new, dirty and deleted.
    if any(isinstance(obj, Piece) for obj in chain(session.new, session.dirty, session.deleted)):
        session.info[_WROTE_PIECES] = True


def _note_bulk(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete or state.is_insert) and (
        state.bind_mapper is not None and state.bind_mapper.class_ is Piece
    ):
        state.session.info[_WROTE_PIECES] = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_WROTE_PIECES, False) and has_app_context():
        caching.bump_generation()


def _after_rollback(session: Session) -> None:
    session.info.pop(_WROTE_PIECES, None)


_LISTENERS: tuple[tuple[str, Any], ...] = (
    ("after_flush", _note_flush),
    ("do_orm_execute", _note_bulk),
    ("after_commit", _after_commit),
    ("after_rollback", _after_rollback),
)


def install() -> None:
    """Listen on every ORM session of the process (once, however many apps are made)."""
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
