"""Production of order lines: stage moves, design approval rounds, QC of lines, shipping.

Every stage change is checked against the one transition table (app.domain.production) and
written with a compare-and-set on the line's ``stage`` while the order row is locked, so two
people pressing buttons at once cannot both move the same line; each change is recorded in
``stage_transitions`` with who and when. Locks follow checkout's order: the order row first,
then its lines.
"""

from __future__ import annotations

from app.common.uploads import UploadError as UploadError
from app.domain.production import QcRequired as QcRequired
from app.domain.production import TransitionRefused as TransitionRefused
from app.staff.services.common import MAX_DESIGN_FILES as MAX_DESIGN_FILES
from app.staff.services.common import PROVENANCE_STEPS as PROVENANCE_STEPS
from app.staff.services.common import DesignError as DesignError
from app.staff.services.common import OrderNotFound as OrderNotFound
from app.staff.services.common import ProductionError as ProductionError
from app.staff.services.common import ShippingError as ShippingError
from app.staff.services.common import track_of as track_of
from app.staff.services.designs import DESIGN_NOUNS as DESIGN_NOUNS
from app.staff.services.designs import DESIGN_STAGES as DESIGN_STAGES
from app.staff.services.designs import VIDEO_DESIGN_KINDS as VIDEO_DESIGN_KINDS
from app.staff.services.designs import decide_design_round as decide_design_round
from app.staff.services.designs import design_file_for as design_file_for
from app.staff.services.designs import send_design_round as send_design_round
from app.staff.services.moves import move_line as move_line
from app.staff.services.moves import record_balance_paid as record_balance_paid
from app.staff.services.packing import PackingError as PackingError
from app.staff.services.packing import pack_line as pack_line
from app.staff.services.packing import packing_for as packing_for
from app.staff.services.packing import packing_photo_for as packing_photo_for
from app.staff.services.quality import line_context as line_context
from app.staff.services.quality import line_finisher_id as line_finisher_id
from app.staff.services.quality import line_qc_passed as line_qc_passed
from app.staff.services.quality import record_line_check as record_line_check
from app.staff.services.reading import LineProduction as LineProduction
from app.staff.services.reading import customer_production as customer_production
from app.staff.services.reading import get_order as get_order
from app.staff.services.reading import list_orders as list_orders
from app.staff.services.reading import order_production as order_production
from app.staff.services.shipping import default_insured_value as default_insured_value
from app.staff.services.shipping import record_delivery as record_delivery
from app.staff.services.shipping import ship_order as ship_order
