"""Staff pages for the catalogue: the metal rates and their dated history (catalog.rates)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from app.accounts.access import staff_required
from app.accounts.permissions import Permission, permission_required
from app.catalog import rates
from app.common.transactions import atomic
from app.domain.money import Money, format_money, parse_major
from app.staff import catalog_forms

bp = Blueprint("catalog_staff", __name__, url_prefix="/staff/catalog")


def _page(form: catalog_forms.MetalRateForm | None = None, status: int = 200):
    return (
        render_template(
            "staff/rates_show.html",
            metals=rates.metals(),
            history=rates.rate_history(),
            form=form or catalog_forms.MetalRateForm(formdata=None),
        ),
        status,
    )


@bp.get("/rates")
@staff_required
def show_rates():
    return _page()


@bp.post("/rates")
@staff_required
@permission_required(Permission.SET_RATES)
def set_rate():
    form = catalog_forms.MetalRateForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "warning")
        return _page(form, 400)
    try:
        with atomic():
            changed = rates.set_metal_rate(
                metal_code=form.metal.data,
                rate_per_gram_minor=parse_major(form.rate.data).minor,
                by_user_id=current_user.id,
                note=form.note.data or "",
            )
    except rates.RateError as exc:
        flash(str(exc), "warning")
        return _page(form, 400)
    flash(
        f"{changed.metal_name} is now {format_money(Money(changed.new_rate_minor))} a gram "
        f"(was {format_money(Money(changed.old_rate_minor))}); "
        f"{changed.products_repriced} product(s) repriced.",
        "success",
    )
    return redirect(url_for("catalog_staff.show_rates"))
