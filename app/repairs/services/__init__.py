"""Repair tickets: requests from owners, walk-ins, assessment, quote, decision, bench, QC, return.

Every status change goes through the one transition table (app.domain.production, track
"repair"). When a repaired piece goes back to its owner the repair is appended to the piece's
provenance passport; the owner's name and words stay in the ticket, never in the passport.
Services run inside the caller's ``atomic()``; mail goes out after the commit.
"""

from __future__ import annotations

from app.common.uploads import UploadError as UploadError
from app.domain.production import TransitionRefused as TransitionRefused
from app.repairs.models import REPAIR_STATUSES as REPAIR_STATUSES
from app.repairs.services.common import MAX_PHOTOS as MAX_PHOTOS
from app.repairs.services.common import TICKET_LINK_SALT as TICKET_LINK_SALT
from app.repairs.services.common import NeedsTracking as NeedsTracking
from app.repairs.services.common import NotYourPiece as NotYourPiece
from app.repairs.services.common import OrderNotVisible as OrderNotVisible
from app.repairs.services.common import PieceHasOpenTicket as PieceHasOpenTicket
from app.repairs.services.common import RepairError as RepairError
from app.repairs.services.common import TicketNotFound as TicketNotFound
from app.repairs.services.common import max_photos as max_photos
from app.repairs.services.payments import RepairCard as RepairCard
from app.repairs.services.payments import WorkNotCovered as WorkNotCovered
from app.repairs.services.payments import card_payment as card_payment
from app.repairs.services.payments import cover_for as cover_for
from app.repairs.services.payments import may_start as may_start
from app.repairs.services.payments import record_bank_transfer as record_bank_transfer
from app.repairs.services.payments import start_card_payment as start_card_payment
from app.repairs.services.reading import OwnedPiece as OwnedPiece
from app.repairs.services.reading import get_customer_ticket as get_customer_ticket
from app.repairs.services.reading import get_guest_ticket as get_guest_ticket
from app.repairs.services.reading import get_ticket as get_ticket
from app.repairs.services.reading import guest_owned_line as guest_owned_line
from app.repairs.services.reading import guest_ticket_url as guest_ticket_url
from app.repairs.services.reading import list_tickets as list_tickets
from app.repairs.services.reading import open_ticket_count as open_ticket_count
from app.repairs.services.reading import owned_line as owned_line
from app.repairs.services.reading import owned_pieces as owned_pieces
from app.repairs.services.reading import photo_for as photo_for
from app.repairs.services.reading import send_in_details as send_in_details
from app.repairs.services.reading import staff_options as staff_options
from app.repairs.services.reading import ticket_link_token as ticket_link_token
from app.repairs.services.reading import tickets_for_customer as tickets_for_customer
from app.repairs.services.reading import warranty_until as warranty_until
from app.repairs.services.refunds import Settled as Settled
from app.repairs.services.refunds import complete_card_refund as complete_card_refund
from app.repairs.services.refunds import refund_repair_payment as refund_repair_payment
from app.repairs.services.refunds import settle_pending_refunds as settle_pending_refunds
from app.repairs.services.refunds import settle_refund as settle_refund
from app.repairs.services.tickets import open_walk_in as open_walk_in
from app.repairs.services.tickets import request_guest_repair as request_guest_repair
from app.repairs.services.tickets import request_repair as request_repair
from app.repairs.services.workflow import add_staff_photos as add_staff_photos
from app.repairs.services.workflow import assess as assess
from app.repairs.services.workflow import decide_guest_quote as decide_guest_quote
from app.repairs.services.workflow import decide_quote as decide_quote
from app.repairs.services.workflow import move_ticket as move_ticket
from app.repairs.services.workflow import qc_passed as qc_passed
from app.repairs.services.workflow import record_repair_check as record_repair_check
from app.repairs.services.workflow import repair_qc_context as repair_qc_context
from app.repairs.services.workflow import send_quote as send_quote
from app.repairs.services.workflow import ship_back as ship_back

# What a repair operation raises for the person who asked; views show the message.
ERRORS = (RepairError, TransitionRefused, UploadError)
