"""Passports and their append-only, hash-chained history; the public view and the certificate."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from app.accounts.artisans import PublicArtisan, published_artisans
from app.accounts.models import User
from app.catalog.models import EditionRun, Piece, Product
from app.checkout import services as checkout
from app.common import references
from app.common.locks import lock_row
from app.common.transactions import atomic
from app.common.uploads import StoredUpload, sniff, store_upload
from app.domain import ledger
from app.domain.clock import utcnow
from app.domain.editions import format_piece_number
from app.extensions import db
from app.provenance import seals, signing
from app.provenance.models import ENTRY_KINDS, Passport, ProvenanceEntry

# Lower-case letters and digits without the look-alikes (app.common.references): 12 of them is
# ~59 bits, far beyond guessing, and still readable off a hangtag.
CODE_LENGTH = 12
MAX_CODE_LENGTH = 16  # what a code typed or scanned may be before we bother the database
ATELIER = "Diadem atelier"


class ProvenanceError(Exception):
    """Base of provenance errors; the message is for the person who asked."""


class PassportNotFound(ProvenanceError):
    pass


class EntryRefused(ProvenanceError):
    pass


def new_code() -> str:
    return references.new_code(CODE_LENGTH)


# --- reading --------------------------------------------------------------------------------


def get_passport(code: str) -> Passport:
    """The passport with this public code, or PassportNotFound."""
    if not references.is_code(code or "", max_length=MAX_CODE_LENGTH):
        raise PassportNotFound("No passport has that code.")
    passport = db.session.execute(
        db.select(Passport).where(Passport.code == code)
    ).scalar_one_or_none()
    if passport is None:
        raise PassportNotFound("No passport has that code.")
    return passport


def find_passport(
    *, piece_id: int | None = None, run_id: int | None = None, order_line_id: int | None = None
) -> Passport | None:
    stmt = db.select(Passport)
    if piece_id is not None:
        stmt = stmt.where(Passport.piece_id == piece_id)
    elif run_id is not None:
        stmt = stmt.where(Passport.run_id == run_id)
    elif order_line_id is not None:
        stmt = stmt.where(Passport.order_line_id == order_line_id)
    else:
        raise ValueError("find_passport needs a piece, run or order line")
    return db.session.execute(stmt).scalar_one_or_none()


def entries_of(passport_id: int) -> list[ProvenanceEntry]:
    return list(
        db.session.execute(
            db.select(ProvenanceEntry)
            .where(ProvenanceEntry.passport_id == passport_id)
            .order_by(ProvenanceEntry.seq, ProvenanceEntry.id)
        ).scalars()
    )


def entry_body(entry: ProvenanceEntry, code: str) -> dict[str, Any]:
    """What an entry's hash covers: every stored column except the hashes themselves."""
    return {
        "passport": code,
        "seq": entry.seq,
        "kind": entry.kind,
        "occurred_on": entry.occurred_on.isoformat(),
        "recorded_at": entry.recorded_at.isoformat(timespec="seconds"),
        "recorded_by": entry.recorded_by_id,
        "actor": entry.actor,
        "summary": entry.summary,
        "details": entry.details or {},
        "files": entry.files or [],
    }


def _links(passport: Passport, entries: Sequence[ProvenanceEntry]) -> list[ledger.Link]:
    return [
        ledger.Link(
            seq=e.seq, prev_hash=e.prev_hash, hash=e.hash, body=entry_body(e, passport.code)
        )
        for e in entries
    ]


def _report(passport: Passport, entries: Sequence[ProvenanceEntry]) -> seals.PassportReport:
    chain = ledger.verify_chain(
        _links(passport, entries), expected_head=passport.head_hash, expected_length=passport.length
    )
    sealed = [seals.SealedEntry(seq=e.seq, hash=e.hash, signature=e.signature) for e in entries]
    return seals.check(chain, sealed, signing.current_signer().public_key)


def verify_passport(passport: Passport) -> seals.PassportReport:
    """Verify one passport's chain and signatures against its recorded head and length."""
    return _report(passport, entries_of(passport.id))


def verify_all() -> list[tuple[Passport, seals.PassportReport]]:
    """Verify every passport; one query for the passports and one for all entries."""
    passports = list(db.session.execute(db.select(Passport).order_by(Passport.id)).scalars())
    by_passport: dict[int, list[ProvenanceEntry]] = {p.id: [] for p in passports}
    for entry in db.session.execute(
        db.select(ProvenanceEntry).order_by(
            ProvenanceEntry.passport_id, ProvenanceEntry.seq, ProvenanceEntry.id
        )
    ).scalars():
        by_passport.setdefault(entry.passport_id, []).append(entry)
    return [(passport, _report(passport, by_passport[passport.id])) for passport in passports]


def public_key_pem() -> str:
    """The PEM of the public key that verifies every passport's signatures."""
    return signing.current_signer().public_pem


# --- writing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryFile:
    """A file attached to an entry; its SHA-256 goes into the chain with the entry."""

    name: str
    content_type: str
    sha256: str
    label: str

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "content_type": self.content_type,
            "sha256": self.sha256,
            "label": self.label,
        }


def store_entry_file(data: bytes, *, label: str) -> EntryFile:
    """Check and store a photo or PDF (assay report, stone certificate) for a passport entry."""
    stored: StoredUpload = store_upload(data, folder="provenance", allow_pdf=True)
    return EntryFile(
        name=stored.name,
        content_type=stored.content_type,
        sha256=hashlib.sha256(data).hexdigest(),
        label=label.strip()[:120] or "File",
    )


def record_entry(
    *,
    passport_id: int,
    kind: str,
    summary: str,
    occurred_on: date | None = None,
    actor: str = "",
    recorded_by_id: int | None = None,
    details: dict[str, Any] | None = None,
    files: Iterable[EntryFile] = (),
) -> ProvenanceEntry:
    """Append an entry to a passport's chain inside the caller's transaction (``atomic()``).

    The passport row is locked first (FOR UPDATE on PostgreSQL; SQLite serialises writers), so
    two appends cannot both extend the same head; UNIQUE(passport_id, seq) backs that up.
    """
    if kind not in ENTRY_KINDS:
        raise EntryRefused(f"Unknown entry kind {kind!r}.")
    summary = summary.strip()
    if not summary:
        raise EntryRefused("An entry needs a summary.")
    passport = lock_row(Passport, passport_id)
    if passport is None:
        raise PassportNotFound("No such passport.")
    # Whole seconds: what is hashed must survive the round trip through either database.
    now = utcnow().replace(microsecond=0)
    entry = ProvenanceEntry(
        passport_id=passport.id,
        seq=passport.length + 1,
        kind=kind,
        occurred_on=occurred_on or now.date(),
        recorded_at=now,
        recorded_by_id=recorded_by_id,
        actor=(actor or ATELIER).strip()[:120],
        summary=summary[:500],
        details=dict(details or {}),
        files=[f.as_dict() for f in files],
        prev_hash=passport.head_hash,
        hash="",
    )
    try:
        link = ledger.next_link(passport.head_hash, entry.seq, entry_body(entry, passport.code))
    except ledger.LedgerError as exc:
        raise EntryRefused(str(exc)) from exc
    entry.hash = link.hash
    entry.signature = signing.current_signer().sign(link.hash)
    passport.head_hash = link.hash
    passport.length = entry.seq
    db.session.add(entry)
    db.session.flush()
    return entry


def append_entry(**kwargs: Any) -> ProvenanceEntry:
    """Append an entry in the caller's transaction (the same as :func:`record_entry`)."""
    return record_entry(**kwargs)


# --- opening passports ----------------------------------------------------------------------


def _stones(product: Product) -> list[dict[str, Any]]:
    return [
        {"kind": s.kind, "count": s.count, "origin": s.origin or "not recorded"}
        for s in product.stones
    ]


def _create(subject: dict[str, int], title: str, origin: dict[str, Any], summary: str) -> Passport:
    """Insert a passport with its origin entry; if another request just made it, return that.

    The insert is a savepoint in the caller's transaction, so losing the race undoes only it.
    """
    passport = Passport(
        code=new_code(), title=title[:200], head_hash=ledger.GENESIS_HASH, length=0, **subject
    )
    try:
        with atomic():
            db.session.add(passport)
            db.session.flush()
            record_entry(passport_id=passport.id, kind="origin", summary=summary, details=origin)
    except IntegrityError:
        existing = find_passport(**subject)
        if existing is None:
            raise
        return existing
    return passport


def passport_for_run(*, run_id: int) -> Passport:
    """The edition run's passport, opened (with its origin entry) on first use."""
    existing = find_passport(run_id=run_id)
    if existing is not None:
        return existing
    run = db.session.get(EditionRun, run_id)
    if run is None:
        raise PassportNotFound("No such edition run.")
    product = run.product
    origin = {
        "product": product.name,
        "batch": run.batch_code,
        "edition_size": run.size,
        "metal": run.metal.name,
        "materials": product.materials,
        "origin": product.origin,
        "stones": _stones(product),
    }
    return _create(
        {"run_id": run.id},
        f"{product.name} · edition {run.batch_code}",
        origin,
        f"Edition run {run.batch_code} of {run.size} in {run.metal.name} opened.",
    )


def passport_for_piece(*, piece_id: int) -> Passport:
    """The numbered piece's passport (and its run's), opened on first use."""
    existing = find_passport(piece_id=piece_id)
    if existing is not None:
        return existing
    piece = db.session.get(Piece, piece_id)
    if piece is None:
        raise PassportNotFound("No such piece.")
    run_passport = passport_for_run(run_id=piece.run_id)
    run = piece.run
    product = run.product
    label = format_piece_number(piece.number, piece.edition_size)
    origin = {
        "product": product.name,
        "piece": label,
        "batch": run.batch_code,
        "metal": run.metal.name,
        "materials": product.materials,
        "origin": product.origin,
        "stones": _stones(product),
        "run_passport": run_passport.code,
    }
    return _create(
        {"piece_id": piece.id},
        f"{product.name} · {label}",
        origin,
        f"Piece {label} of edition {run.batch_code} in {run.metal.name}.",
    )


def passport_for_commission(*, order_line_id: int) -> Passport:
    """A custom commission's passport, opened on first use (no customer data goes in it)."""
    existing = find_passport(order_line_id=order_line_id)
    if existing is not None:
        return existing
    from app.checkout.models import OrderLine

    line = db.session.get(OrderLine, order_line_id)
    if line is None or not line.is_custom:
        raise PassportNotFound("No such commission.")
    product = line.product
    origin = {
        "product": line.product_name,
        "piece": "one of one",
        "metal": line.metal_name,
        "size": line.size_code,
        "materials": product.materials,
        "origin": product.origin,
        "stones": _stones(product),
    }
    return _create(
        {"order_line_id": line.id},
        f"{line.product_name} · commission",
        origin,
        f"Commission of a {line.product_name} in {line.metal_name}.",
    )


def passport_for_line(line: Any) -> Passport:
    """The passport of whatever an order line makes: its numbered piece or the commission."""
    if line.piece_id is not None:
        return passport_for_piece(piece_id=line.piece_id)
    return passport_for_commission(order_line_id=line.id)


# --- the public page and the certificate ----------------------------------------------------


WORK_KINDS = ("step", "repair", "qc", "dispatch")


@dataclass(frozen=True)
class EntryCredit:
    """Who an entry publicly credits: published profiles only (None means "the atelier")."""

    maker: PublicArtisan | None = None
    checker: PublicArtisan | None = None
    # An outside source named on a material, stone or document entry (a refiner, a lab);
    # never the text of an entry about work, which may hold a login or an account name.
    source: str = ""


@dataclass(frozen=True)
class PassportView:
    passport: Passport
    entries: list[ProvenanceEntry]
    report: seals.PassportReport
    origin: dict[str, Any]
    run_passport: Passport | None
    makers: list[PublicArtisan]
    credits: dict[int, EntryCredit]
    care_plan: Any = None  # checkout's PlanCover: the current owner's care plan, or None

    @property
    def edition_label(self) -> str:
        """What number this is: "07/25", "Edition of 25 (batch DIA-…)" or "One of one"."""
        piece = str(self.origin.get("piece", ""))
        if self.passport.kind == "commission":
            return "One of one"
        if piece:
            return piece
        size = self.origin.get("edition_size")
        batch = self.origin.get("batch")
        if size and batch:
            return f"Edition of {size} (batch {batch})"
        return f"Edition of {size}" if size else ""


def _staff_words(users: Sequence[User]) -> set[str]:
    """Every way an entry's free text could name a member of staff: names, emails, logins."""
    words: set[str] = set()
    for user in users:
        for word in (user.name, user.email, user.email.split("@")[0]):
            if word and word.strip():
                words.add(word.strip().casefold())
    return words


def _credited_ids(entry: ProvenanceEntry, names: dict[int, str]) -> tuple[int | None, int | None]:
    """(maker, checker) user ids an entry credits; entries before profiles carried no ids, so
    their recorder counts only when the entry's text is the recorder's own name."""
    d = entry.details or {}
    recorder = entry.recorded_by_id
    recorder_named = recorder is not None and names.get(recorder, "").strip() == entry.actor.strip()
    if entry.kind == "qc":
        return d.get("artisan_id"), d.get("checker_id") or recorder
    maker = d.get("actor_id") or (recorder if recorder_named else None)
    return maker, None


def _credits(
    entries: Sequence[ProvenanceEntry],
) -> tuple[dict[int, EntryCredit], list[PublicArtisan]]:
    staff = list(
        db.session.execute(db.select(User).where(User.role.in_(("staff", "admin")))).scalars()
    )
    names = {u.id: u.name for u in staff}
    ids = {e.id: _credited_ids(e, names) for e in entries}
    people = published_artisans(i for pair in ids.values() for i in pair)
    staff_words = _staff_words(staff)
    credits: dict[int, EntryCredit] = {}
    makers: list[PublicArtisan] = []
    for entry in entries:
        maker_id, checker_id = ids[entry.id]
        source = ""
        actor = entry.actor.strip()
        if entry.kind not in WORK_KINDS and actor and actor != ATELIER:
            source = "" if actor.casefold() in staff_words else actor
        maker = people.get(maker_id or 0)
        credits[entry.id] = EntryCredit(
            maker=maker, checker=people.get(checker_id or 0), source=source
        )
        if entry.kind in ("step", "repair", "qc") and maker and maker not in makers:
            makers.append(maker)
    return credits, makers


def passport_view(code: str) -> PassportView:
    """Everything the public page shows: entries, chain status, materials; no customer data."""
    passport = get_passport(code)
    entries = entries_of(passport.id)
    report = _report(passport, entries)
    origin = next((e.details for e in entries if e.kind == "origin"), {}) or {}
    run_passport = None
    if passport.piece_id is not None:
        run_passport = find_passport(run_id=passport.piece.run_id)
    credits, makers = _credits(entries)
    return PassportView(
        passport=passport,
        entries=entries,
        report=report,
        origin=origin,
        run_passport=run_passport,
        makers=makers,
        credits=credits,
        care_plan=_care_plan(passport),
    )


def _care_plan(passport: Passport) -> Any:
    """The care plan the piece's current owner bought (checkout keeps it, frozen on the line)."""
    if passport.piece_id is not None:
        return checkout.plan_on_piece(piece_id=passport.piece_id)
    if passport.order_line_id is not None:
        return checkout.plan_on_piece(order_line_id=passport.order_line_id)
    return None


@dataclass(frozen=True)
class Certificate:
    view: PassportView
    issued_on: date
    product: str
    piece_label: str
    metal: str
    stones: list[dict[str, Any]]
    makers: list[PublicArtisan]
    head_hash: str
    head_signature: str | None

    @property
    def signer(self) -> PublicArtisan | None:
        """The maker whose signature the certificate carries: the first one who has one."""
        return next((m for m in self.makers if m.has_signature), None)


def certificate(code: str) -> Certificate:
    """The certificate of authenticity's content; dated by the piece's first passing QC."""
    view = passport_view(code)
    passed = [
        e for e in view.entries if e.kind == "qc" and (e.details or {}).get("result") == "passed"
    ]
    issued = passed[0].occurred_on if passed else view.passport.created_at.date()
    origin = view.origin
    return Certificate(
        view=view,
        issued_on=issued,
        product=str(origin.get("product", view.passport.title)),
        piece_label=view.edition_label,
        metal=str(origin.get("metal", "")),
        stones=list(origin.get("stones", [])),
        makers=view.makers,
        head_hash=view.report.head_hash,
        head_signature=view.report.head_signature,
    )


def file_of(code: str, entry_id: int, index: int) -> dict[str, str]:
    """A file attached to one of this passport's entries (public with the passport)."""
    passport = get_passport(code)
    entry = db.session.get(ProvenanceEntry, entry_id)
    if entry is None or entry.passport_id != passport.id:
        raise PassportNotFound("No such file.")
    files = entry.files or []
    if not 0 <= index < len(files):
        raise PassportNotFound("No such file.")
    return files[index]


def list_passports(*, kind: str | None = None, limit: int = 200) -> list[Passport]:
    stmt = db.select(Passport).order_by(Passport.created_at.desc(), Passport.id.desc())
    if kind == "piece":
        stmt = stmt.where(Passport.piece_id.is_not(None))
    elif kind == "run":
        stmt = stmt.where(Passport.run_id.is_not(None))
    elif kind == "commission":
        stmt = stmt.where(Passport.order_line_id.is_not(None))
    return list(db.session.execute(stmt.limit(limit)).scalars())


def open_run_passports() -> int:
    """Open a passport for every edition run that has none yet; return how many were opened."""
    have = set(
        db.session.execute(db.select(Passport.run_id).where(Passport.run_id.is_not(None))).scalars()
    )
    opened = 0
    for run_id in db.session.execute(db.select(EditionRun.id).order_by(EditionRun.id)).scalars():
        if run_id not in have:
            passport_for_run(run_id=run_id)
            opened += 1
    return opened


def today() -> date:
    return utcnow().date()


def parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None


# --- staff tools ----------------------------------------------------------------------------


def staff_choices() -> list[tuple[int, str]]:
    """(user id, account name) of every member of staff, for the "who did the work" select."""
    users = db.session.execute(
        db.select(User).where(User.role.in_(("staff", "admin"))).order_by(User.name, User.id)
    ).scalars()
    return [(u.id, u.name or f"Staff #{u.id}") for u in users]


STAFF_KINDS = ("step", "material", "stone", "document", "note")


def add_staff_entry(
    *,
    passport_id: int,
    kind: str,
    summary: str,
    occurred_on: date | None,
    actor: str,
    origin: str,
    source: str,
    uploads: Sequence[tuple[bytes, str]],
    recorded_by_id: int,
    made_by_id: int | None = None,
) -> ProvenanceEntry:
    """Append what a staff member recorded (a step, material, stone or document) with files.

    ``made_by_id`` names the member of staff who did a step; pages credit their profile.
    """
    if kind not in STAFF_KINDS:
        raise EntryRefused("Staff record steps, materials, stones, documents or notes.")
    if occurred_on is not None and occurred_on > today():
        raise EntryRefused("An entry records what happened, so its date cannot be in the future.")
    # Check every file before storing any, so a bad second file leaves no orphan first one.
    for data, _ in uploads:
        sniff(data, allow_pdf=True)
    files = [store_entry_file(data, label=label) for data, label in uploads]
    details: dict[str, Any] = {}
    if made_by_id:
        maker = db.session.get(User, made_by_id)
        if maker is None or not maker.is_staff:
            raise EntryRefused("Choose a member of the atelier as the one who did the work.")
        details["actor_id"] = maker.id
        actor = actor or maker.name
    if origin:
        details["origin"] = origin
    if source.strip():
        details["source"] = source.strip()[:200]
    return record_entry(
        passport_id=passport_id,
        kind=kind,
        summary=summary,
        occurred_on=occurred_on,
        actor=actor,
        recorded_by_id=recorded_by_id,
        details=details,
        files=files,
    )


@dataclass(frozen=True)
class RunRow:
    run: EditionRun
    passport: Passport | None


def runs_overview() -> list[RunRow]:
    runs = list(
        db.session.execute(
            db.select(EditionRun).order_by(EditionRun.product_id, EditionRun.id)
        ).scalars()
    )
    passports = {
        p.run_id: p
        for p in db.session.execute(
            db.select(Passport).where(Passport.run_id.is_not(None))
        ).scalars()
    }
    return [RunRow(run=run, passport=passports.get(run.id)) for run in runs]


@dataclass(frozen=True)
class RunOverview:
    run: EditionRun
    passport: Passport | None
    pieces: list[tuple[Piece, Passport | None]]


def run_overview(*, run_id: int) -> RunOverview:
    run = db.session.get(EditionRun, run_id)
    if run is None:
        raise PassportNotFound("No such edition run.")
    passports = {
        p.piece_id: p
        for p in db.session.execute(
            db.select(Passport)
            .join(Piece, Passport.piece_id == Piece.id)
            .where(Piece.run_id == run_id)
        ).scalars()
    }
    return RunOverview(
        run=run,
        passport=find_passport(run_id=run_id),
        pieces=[(piece, passports.get(piece.id)) for piece in run.pieces],
    )
