"""The customer's delivery addresses: the account page's list and changing an unshipped order's.

There is no address table: an account's addresses are those its orders were sent to
(``services.address_book``). Checkout starts from the newest one.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from app.checkout import forms
from app.checkout.services import address_book
from app.checkout.services.errors import OrderNotFound
from app.common.addresses import PostalAddress
from app.common.transactions import atomic

bp = Blueprint("checkout_addresses", __name__)


@bp.app_template_global("saved_addresses")
def saved_addresses() -> list[address_book.SavedAddress]:
    """The signed-in customer's addresses, for the account page's partial."""
    if not current_user.is_authenticated:
        return []
    return address_book.saved_addresses(user_id=current_user.id)


@bp.route("/account/orders/<number>/address", methods=["GET", "POST"])
@login_required
def change_address(number: str):
    try:
        order = address_book.order_address(user_id=current_user.id, number=number)
    except OrderNotFound:
        abort(404)
    except address_book.AddressLocked as exc:
        flash(str(exc), "warning")
        return redirect(url_for("checkout.show_order", number=number))
    form = forms.AddressForm()
    if not form.is_submitted():
        form.fill(PostalAddress.of(order))
    elif form.validate():
        try:
            with atomic():
                address_book.change_order_address(
                    user_id=current_user.id, number=number, address=form.postal_address
                )
        except address_book.AddressLocked as exc:
            flash(str(exc), "warning")
        else:
            flash(f"Order {number} will be sent to the new address.", "success")
        return redirect(url_for("checkout.show_order", number=number))
    status = 400 if form.is_submitted() else 200
    return render_template("checkout/address_edit.html", form=form, order=order), status


@bp.app_template_global("can_change_address")
def can_change_address(order) -> bool:
    """Whether the signed-in customer may still send this order elsewhere (order page link)."""
    return (
        current_user.is_authenticated
        and order.user_id == current_user.id
        and order.status in address_book.CHANGEABLE
    )
