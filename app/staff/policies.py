"""Published policies admins edit (the materials policy): read with a default, save, seed.

A policy is plain text: paragraphs split on blank lines, each line shown as written, always
escaped (no HTML is ever taken from the text). With no row saved the page shows the default
below, so the shop never publishes an empty policy. Saving refreshes guests' cached pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from app.accounts.models import User
from app.catalog.models import PolicyPage
from app.common.caching import catalogue_changed
from app.domain.clock import utcnow
from app.extensions import db

MAX_TITLE = 160
MAX_BODY = 20_000

MATERIALS_DEFAULT = """\
What our pieces are made of, and what we tell you about it.

Metals. We work in 18k gold (yellow, rose and white), platinum 950 and sterling silver. Our gold \
is refined from recycled sources unless a piece's page says otherwise. Each edition's batch page \
carries the sourcing statement and the documents we hold for that batch, and every piece is \
checked for its hallmark before it ships.

Stones. Every stone on a piece's page is listed with its kind and, where we know it, its origin, \
and any treatment (heating, for example) is named. Lab-grown stones are always called lab-grown. \
Where we cannot say where a stone came from, we say so rather than guess.

Your own materials. For a commission you may bring metal or stones of your own; we record them \
as yours on the piece's provenance passport.

Questions. Ask us before you buy: what we answer is what goes on the piece's record."""


@dataclass(frozen=True)
class PolicyDefault:
    title: str
    body: str


DEFAULTS: dict[str, PolicyDefault] = {
    "materials": PolicyDefault("Materials policy", MATERIALS_DEFAULT),
}


class PolicyError(ValueError):
    """The policy cannot be saved; the message says why."""


@dataclass(frozen=True)
class Policy:
    slug: str
    title: str
    body: str
    updated_at: datetime | None = None
    updated_by: str = ""
    is_default: bool = False

    @property
    def paragraphs(self) -> list[list[str]]:
        """The body as paragraphs (split on blank lines), each a list of its lines."""
        return split_paragraphs(self.body)


def split_paragraphs(body: str) -> list[list[str]]:
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    blocks = re.split(r"\n[ \t]*\n", text)
    result = []
    for block in blocks:
        lines = [line.strip() for line in block.split("\n") if line.strip()]
        if lines:
            result.append(lines)
    return result


def _row(slug: str) -> PolicyPage | None:
    return db.session.execute(
        select(PolicyPage).where(PolicyPage.slug == slug)
    ).scalar_one_or_none()


def get_policy(slug: str) -> Policy:
    """The published policy, or its default text when none has been saved; KeyError if the
    slug is not a policy the shop publishes."""
    default = DEFAULTS[slug]
    row = _row(slug)
    if row is None or not row.body.strip():
        return Policy(slug=slug, title=default.title, body=default.body, is_default=True)
    editor = db.session.get(User, row.updated_by_id) if row.updated_by_id else None
    return Policy(
        slug=slug,
        title=row.title or default.title,
        body=row.body,
        updated_at=row.updated_at,
        updated_by=(editor.name if editor else "") or "",
    )


def save_policy(*, slug: str, title: str, body: str, by_user_id: int | None) -> PolicyPage:
    """Save the policy's text (in the caller's transaction); guests see it once it commits."""
    if slug not in DEFAULTS:
        raise PolicyError("No such policy.")
    title, body = title.strip(), body.replace("\r\n", "\n").strip()
    if not title:
        raise PolicyError("Give the policy a title.")
    if len(title) > MAX_TITLE:
        raise PolicyError(f"Keep the title to {MAX_TITLE} characters.")
    if not body:
        raise PolicyError("The policy cannot be empty.")
    if len(body) > MAX_BODY:
        raise PolicyError(f"Keep the policy to {MAX_BODY:,} characters.")
    row = _row(slug)
    if row is None:
        row = PolicyPage(slug=slug)
        db.session.add(row)
    row.title, row.body = title, body
    row.updated_by_id = by_user_id
    row.updated_at = utcnow()
    db.session.flush()
    catalogue_changed()  # the policy pages are cached for guests
    return row


def ensure_default_policies() -> int:
    """Create every published policy that has no row yet with its default text (the demo
    seed); return how many were created. Running it again adds nothing."""
    created = 0
    for slug, default in DEFAULTS.items():
        if _row(slug) is None:
            db.session.add(PolicyPage(slug=slug, title=default.title, body=default.body))
            created += 1
    db.session.flush()
    return created
