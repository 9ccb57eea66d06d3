"""Staff pages for the catalogue: the table of rates and their dated history (catalog.rates)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user

from app.accounts.access import staff_required
from app.accounts.permissions import Permission, permission_required
from app.catalog import rates
from app.checkout import services as checkout
from app.checkout.services import studio_zone
from app.common.transactions import atomic
from app.staff import catalog_forms

bp = Blueprint("catalog_staff", __name__, url_prefix="/staff/catalog")


def _page(form: catalog_forms.RateForm | None = None, status: int = 200):
    zone = studio_zone()
    return (
        render_template(
            "staff/rates_show.html",
            rates=rates.current_rates(),
            history=rates.rate_history(zone=zone),
            zone_name=zone.key,
            form=form or catalog_forms.RateForm(formdata=None),
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
    form = catalog_forms.RateForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "warning")
        return _page(form, 400)
    kind, code = rates.RateKind(form.rate_kind()), form.rate_code()
    try:
        value = rates.parse_value(kind, form.rate.data, code=code)
        with atomic():
            changed = rates.set_rate(
                kind=kind,
                code=code,
                value=value,
                by_user_id=current_user.id,
                note=form.note.data or "",
            )
    except rates.RateError as exc:
        flash(str(exc), "warning")
        return _page(form, 400)
    flash(
        f"{changed.name} is now {changed.new_text} {changed.per} (was {changed.old_text}); "
        f"{changed.products_repriced} product(s) repriced.",
        "success",
    )
    return redirect(url_for("catalog_staff.show_rates"))


# --- care plans ---------------------------------------------------------------------------


def _plans_page(form: catalog_forms.CarePlanForm | None = None, status: int = 200):
    zone = studio_zone()
    return (
        render_template(
            "staff/care_plans.html",
            plans=checkout.all_plans(),
            history=checkout.plan_history(),
            zone=zone,
            form=form or catalog_forms.CarePlanForm(formdata=None),
        ),
        status,
    )


def _flash_errors(form) -> None:
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "warning")


@bp.get("/care-plans")
@staff_required
def show_care_plans():
    return _plans_page()


@bp.post("/care-plans")
@staff_required
@permission_required(Permission.SET_RATES)
def offer_care_plan():
    form = catalog_forms.CarePlanForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _plans_page(form, 400)
    try:
        years = form.term_years()
        amount = checkout.parse_rule_amount(form.rule.data, form.amount.data)
        with atomic():
            plan = checkout.offer_plan(
                name=form.name.data,
                years=years,
                rule=form.rule.data,
                amount=amount,
                note=form.note.data or "",
                by_user_id=current_user.id,
            )
    except (ValueError, checkout.CarePlanError) as exc:
        flash(str(exc), "warning")
        return _plans_page(form, 400)
    flash(f"{plan.name} is offered at checkout from now on.", "success")
    return redirect(url_for("catalog_staff.show_care_plans"))


@bp.post("/care-plans/<int:plan_id>")
@staff_required
@permission_required(Permission.SET_RATES)
def change_care_plan(plan_id: int):
    form = catalog_forms.CarePlanChangeForm()
    if not form.validate_on_submit():
        _flash_errors(form)
        return _plans_page(status=400)
    try:
        with atomic():
            if form.retire.data == "1":
                plan = checkout.retire_plan(
                    plan_id=plan_id, note=form.note.data or "", by_user_id=current_user.id
                )
                message = f"{plan.name} is no longer offered; pieces sold with it stay covered."
            else:
                plan = checkout.change_plan(
                    plan_id=plan_id,
                    rule=form.rule.data or "",
                    amount=checkout.parse_rule_amount(form.rule.data or "", form.amount.data),
                    note=form.note.data or "",
                    by_user_id=current_user.id,
                )
                message = f"{plan.name} is repriced for new orders; orders placed keep theirs."
    except checkout.CarePlanError as exc:
        flash(str(exc), "warning")
        return _plans_page(status=400)
    flash(message, "success")
    return redirect(url_for("catalog_staff.show_care_plans"))
