"""The waiting list for a sold-out design's next batch.

A guest or a signed-in buyer leaves an address on a design whose numbered pieces are all
sold. Joining answers the same whether or not the address was already waiting (nobody can
learn who is on it); a new entry gets one message saying so. When staff open a batch of the
design (catalog.batches.open_batch, which holds the product row locked), every live entry is
emailed once, through the outbox in that same transaction, and marked notified: a second
batch does not write to it again, and the address may join afresh for the batch after.

Addresses are counted as mailboxes (``app.common.visitors.email_key``: no case, no +tag), as
checkout's hold limit counts them; a partial UNIQUE index keeps one live entry per design and
mailbox, whatever two requests do at once. Every message carries a signed link to leave the
list: opening it shows a page, only its button (a POST) removes the address, so a mail
scanner that follows links removes nobody.

Services never commit: the caller wraps each call in ``atomic()``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from app.catalog.models import EditionRun, Piece, Product, WaitlistEntry, piece_is_free
from app.common.links import public_url, unsign
from app.common.links import sign as sign_value
from app.common.mail import send_mail_after_commit
from app.common.transactions import atomic
from app.common.visitors import email_key
from app.domain.clock import utcnow
from app.extensions import db

LEAVE_SALT = "diadem.waitlist-leave"


class WaitlistError(ValueError):
    """The waiting list cannot do this; the message says why, for the person who asked."""


def _free_pieces(product_id: int) -> int:
    return db.session.execute(
        select(func.count(Piece.id))
        .join(EditionRun, EditionRun.id == Piece.run_id)
        .where(
            EditionRun.product_id == product_id,
            EditionRun.closed_at.is_(None),
            piece_is_free(utcnow()),
        )
    ).scalar_one()


def _live_entry(product_id: int, key: str) -> WaitlistEntry | None:
    return db.session.execute(
        select(WaitlistEntry).where(
            WaitlistEntry.product_id == product_id,
            WaitlistEntry.email_key == key,
            WaitlistEntry.notified_at.is_(None),
        )
    ).scalar_one_or_none()


def join_waitlist(*, product_id: int, email: str, user_id: int | None = None) -> None:
    """Put an address on the design's waiting list (nothing changes if it is already on it).

    Raises WaitlistError for a design that takes no waiting list: a draft, a retired one, a
    commission, or one with numbered pieces free to order now.
    """
    product = db.session.get(Product, product_id)
    if product is None or not product.is_published:
        raise WaitlistError("That piece is no longer in the shop.")
    if not product.is_studio:
        raise WaitlistError(f"{product.name} is made to order: commission it at any time.")
    if _free_pieces(product.id):
        raise WaitlistError(f"{product.name} has numbered pieces free now: order one instead.")
    address = email.strip().lower()
    key = email_key(address)
    if not key or "@" not in key:
        raise WaitlistError("Enter an email address we can write to.")
    if _live_entry(product.id, key) is not None:
        return
    entry = WaitlistEntry(product_id=product.id, email=address, email_key=key, user_id=user_id)
    try:
        with atomic():  # a savepoint: the same address joining at this moment undoes only this
            db.session.add(entry)
            db.session.flush()
    except IntegrityError:
        return  # it is on the list now, which is what was asked
    send_mail_after_commit(
        to=address,
        subject=f"You are on the waiting list for {product.name}",
        template="waitlist_joined",
        product=product,
        product_link=public_url("catalog.show", slug=product.slug),
        leave_link=leave_url(product_id=product.id, email=address),
    )


def leave_url(*, product_id: int, email: str) -> str:
    """The signed link in every waiting-list message that takes the address off the list."""
    token = sign_value({"p": product_id, "e": email_key(email)}, salt=LEAVE_SALT)
    return public_url("catalog.leave_waitlist", token=token)


@dataclass(frozen=True)
class LeaveRequest:
    """What a leave link names: the design and the mailbox, and whether it is still waiting."""

    product_id: int
    product_name: str
    email_key: str
    waiting: bool


def read_leave_token(token: str) -> LeaveRequest:
    """The design and address a leave link names; WaitlistError if it is forged or mangled."""
    data = unsign(token, salt=LEAVE_SALT)
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("p"), int)
        or not isinstance(data.get("e"), str)
    ):
        raise WaitlistError("That link is not valid; use the one in our most recent email.")
    product = db.session.get(Product, data["p"])
    if product is None:
        raise WaitlistError("That piece is no longer in the shop, so nobody waits for it.")
    waiting = _live_entry(product.id, data["e"]) is not None
    return LeaveRequest(product.id, product.name, data["e"], waiting)


def leave_waitlist(*, token: str) -> LeaveRequest:
    """Take the address a leave link names off that design's list, with what it had left."""
    request = read_leave_token(token)
    db.session.execute(
        delete(WaitlistEntry).where(
            WaitlistEntry.product_id == request.product_id,
            WaitlistEntry.email_key == request.email_key,
        )
    )
    return request


def notify_waiting(*, run: EditionRun) -> int:
    """Email everyone waiting for ``run``'s design that the batch is open; return how many.

    Called by open_batch in its transaction, with the product row locked, so two openings
    are taken one after the other and each entry is written to once.
    """
    product = run.product
    if not product.is_published:
        return 0  # a draft's batch is not on sale yet; its list waits for one that is
    entries = db.session.execute(
        select(WaitlistEntry)
        .where(WaitlistEntry.product_id == product.id, WaitlistEntry.notified_at.is_(None))
        .order_by(WaitlistEntry.id)
    ).scalars()
    product_link = public_url("catalog.show", slug=product.slug, metal=run.metal.code)
    now = utcnow()
    count = 0
    for entry in entries:
        send_mail_after_commit(
            to=entry.email,
            subject=f"A new batch of {product.name} is open",
            template="waitlist_batch_open",
            product=product,
            run=run,
            product_link=product_link,
            leave_link=leave_url(product_id=product.id, email=entry.email),
            # One message per batch and mailbox, whatever happens to the entry's row (an id
            # is not a name: SQLite reuses the id of a row that was deleted).
            dedupe_key=f"waitlist-batch:{run.id}:{entry.email_key}",
        )
        entry.notified_at = now
        entry.notified_run_id = run.id
        count += 1
    return count


def waiting_count(product_id: int) -> int:
    """How many addresses wait for the design's next batch (staff's product page)."""
    return db.session.execute(
        select(func.count(WaitlistEntry.id)).where(
            WaitlistEntry.product_id == product_id, WaitlistEntry.notified_at.is_(None)
        )
    ).scalar_one()


def notified_for_batch(run_id: int) -> int:
    """How many waiting addresses a batch's opening wrote to (staff's confirmation)."""
    return db.session.execute(
        select(func.count(WaitlistEntry.id)).where(WaitlistEntry.notified_run_id == run_id)
    ).scalar_one()
