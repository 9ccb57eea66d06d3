"""Checkout operations: carts, orders, numbered-piece reservation, payments, refunds, emails.

Rules that must hold under concurrency are enforced by the database:

- a numbered piece changes status only while its row is locked: PostgreSQL takes the lowest
  free piece with ``SELECT ... FOR UPDATE SKIP LOCKED`` (concurrent buyers get different rows,
  nobody waits); SQLite, which has no row locks, claims it with a compare-and-set
  ``UPDATE ... WHERE <still free>`` (writers are serialised by the database lock);
- a partial UNIQUE index lets at most one live order line hold a piece;
- every Stripe event id is UNIQUE in ``stripe_events`` and is recorded in the same transaction
  that processes it, so each event is processed at most once.

Locks are always taken in the order *order row, then piece rows (by id), then order lines*,
and reservation uses SKIP LOCKED, so the paths below cannot deadlock one another.

Every function here owns its transaction: it commits on success and rolls back before raising.
Calls to Stripe happen outside transactions (after a commit), never while rows are locked.
"""

from app.catalog.reservations import free_piece_count as free_piece_count
from app.checkout.guest_access import guest_order_numbers as guest_order_numbers
from app.checkout.guest_access import remember_guest_order as remember_guest_order
from app.checkout.models import EXPIRED_REASON as EXPIRED_REASON
from app.checkout.services.aftersale import SIGNED_BY_MAX as SIGNED_BY_MAX
from app.checkout.services.aftersale import AftersaleTerms as AftersaleTerms
from app.checkout.services.aftersale import UnconfirmedShipment as UnconfirmedShipment
from app.checkout.services.aftersale import aftersale_terms as aftersale_terms
from app.checkout.services.aftersale import unconfirmed_shipments as unconfirmed_shipments
from app.checkout.services.care_plans import CarePlanError as CarePlanError
from app.checkout.services.care_plans import PlanCover as PlanCover
from app.checkout.services.care_plans import PlanQuote as PlanQuote
from app.checkout.services.care_plans import all_plans as all_plans
from app.checkout.services.care_plans import change_plan as change_plan
from app.checkout.services.care_plans import offer_plan as offer_plan
from app.checkout.services.care_plans import offered_plans as offered_plans
from app.checkout.services.care_plans import parse_rule_amount as parse_rule_amount
from app.checkout.services.care_plans import plan_cover_ends as plan_cover_ends
from app.checkout.services.care_plans import plan_history as plan_history
from app.checkout.services.care_plans import plan_on_piece as plan_on_piece
from app.checkout.services.care_plans import quote_plans as quote_plans
from app.checkout.services.care_plans import retire_plan as retire_plan
from app.checkout.services.cart import CartAddition as CartAddition
from app.checkout.services.cart import CartItem as CartItem
from app.checkout.services.cart import CartOwner as CartOwner
from app.checkout.services.cart import CartSummary as CartSummary
from app.checkout.services.cart import PricedCartLine as PricedCartLine
from app.checkout.services.cart import add_to_cart as add_to_cart
from app.checkout.services.cart import cart_items as cart_items
from app.checkout.services.cart import items_from_session as items_from_session
from app.checkout.services.cart import items_to_session as items_to_session
from app.checkout.services.cart import late_for_event as late_for_event
from app.checkout.services.cart import merge_guest_cart as merge_guest_cart
from app.checkout.services.cart import promised_ship_date as promised_ship_date
from app.checkout.services.cart import remove_from_cart as remove_from_cart
from app.checkout.services.cart import set_quantity as set_quantity
from app.checkout.services.cart import summarise_cart as summarise_cart
from app.checkout.services.confirmation import Confirmed as Confirmed
from app.checkout.services.confirmation import confirm_order_email as confirm_order_email
from app.checkout.services.confirmation import (
    order_for_confirm_token as order_for_confirm_token,
)
from app.checkout.services.errors import CartError as CartError
from app.checkout.services.errors import CheckoutError as CheckoutError
from app.checkout.services.errors import InvalidTransition as InvalidTransition
from app.checkout.services.errors import OrderNotFound as OrderNotFound
from app.checkout.services.errors import PaymentError as PaymentError
from app.checkout.services.errors import RefundError as RefundError
from app.checkout.services.errors import RevisionError as RevisionError
from app.checkout.services.errors import SoldOut as SoldOut
from app.checkout.services.errors import WebhookRejected as WebhookRejected
from app.checkout.services.expiry import expire_if_lapsed as expire_if_lapsed
from app.checkout.services.expiry import expire_lapsed_orders as expire_lapsed_orders
from app.checkout.services.expiry import expire_order as expire_order
from app.checkout.services.expiry import lapsed_order_ids as lapsed_order_ids
from app.checkout.services.holds import HoldLimitReached as HoldLimitReached
from app.checkout.services.link_requests import request_order_link as request_order_link
from app.checkout.services.links import ORDER_LINK_SALT as ORDER_LINK_SALT
from app.checkout.services.links import email_confirm_url as email_confirm_url
from app.checkout.services.links import number_for_token as number_for_token
from app.checkout.services.links import order_link_token as order_link_token
from app.checkout.services.links import order_url as order_url
from app.checkout.services.notifications import SUBJECTS as SUBJECTS
from app.checkout.services.notifications import notify as notify
from app.checkout.services.orders import ShippingDetails as ShippingDetails
from app.checkout.services.orders import available_payment_methods as available_payment_methods
from app.checkout.services.orders import complete_draft as complete_draft
from app.checkout.services.orders import create_custom_order_draft as create_custom_order_draft
from app.checkout.services.orders import get_order as get_order
from app.checkout.services.orders import get_order_by_number as get_order_by_number
from app.checkout.services.orders import order_for_viewer as order_for_viewer
from app.checkout.services.orders import orders_for_user as orders_for_user
from app.checkout.services.orders import place_order as place_order
from app.checkout.services.orders import retry_payment as retry_payment
from app.checkout.services.overview import PaymentsOverview as PaymentsOverview
from app.checkout.services.overview import payments_overview as payments_overview
from app.checkout.services.pieces import take_back_pieces as take_back_pieces
from app.checkout.services.records import freeze_breakdown as freeze_breakdown
from app.checkout.services.records import new_order_number as new_order_number
from app.checkout.services.refunds import refund_payment as refund_payment
from app.checkout.services.revisions import accept_revision as accept_revision
from app.checkout.services.revisions import propose_revision as propose_revision
from app.checkout.services.revisions import request_balance as request_balance
from app.checkout.services.settings import DEFAULTS as DEFAULTS
from app.checkout.services.settings import launch_problems as launch_problems
from app.checkout.services.settings import setting as setting
from app.checkout.services.settings import studio_zone as studio_zone
from app.checkout.services.settlement import cancel_order as cancel_order
from app.checkout.services.settlement import mark_delivered as mark_delivered
from app.checkout.services.settlement import mark_paid as mark_paid
from app.checkout.services.settlement import mark_shipped as mark_shipped
from app.checkout.services.settlement import start_production as start_production
from app.checkout.services.stripe_webhooks import OPEN_INTENT_STATUSES as OPEN_INTENT_STATUSES
from app.checkout.services.stripe_webhooks import CardPayment as CardPayment
from app.checkout.services.stripe_webhooks import card_payment as card_payment
from app.checkout.services.stripe_webhooks import handle_stripe_webhook as handle_stripe_webhook
from app.checkout.services.stripe_webhooks import start_balance_payment as start_balance_payment
