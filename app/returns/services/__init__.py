"""Returns: the buyer's request, the atelier's steps, the refund. Services never commit."""

from app.returns.services.errors import ReturnError as ReturnError
from app.returns.services.errors import ReturnNotFound as ReturnNotFound
from app.returns.services.errors import WindowClosed as WindowClosed
from app.returns.services.notifications import studio_address as studio_address
from app.returns.services.reading import ReturnOptions as ReturnOptions
from app.returns.services.reading import get_return as get_return
from app.returns.services.reading import list_returns as list_returns
from app.returns.services.reading import return_of_order as return_of_order
from app.returns.services.reading import return_options as return_options
from app.returns.services.reading import returns_for_order as returns_for_order
from app.returns.services.refunds import refund_method_for as refund_method_for
from app.returns.services.refunds import refund_return as refund_return
from app.returns.services.refunds import refundable_for as refundable_for
from app.returns.services.refunds import refunds_of as refunds_of
from app.returns.services.refunds import reopen_failed_refund as reopen_failed_refund
from app.returns.services.requests import MAX_PHOTOS as MAX_PHOTOS
from app.returns.services.requests import photo_of as photo_of
from app.returns.services.requests import request_return as request_return
from app.returns.services.workflow import approve_return as approve_return
from app.returns.services.workflow import inspect_return as inspect_return
from app.returns.services.workflow import receive_return as receive_return
from app.returns.services.workflow import refuse_return as refuse_return
