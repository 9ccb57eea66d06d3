"""Staff pages for bench capacity and the commission queue, and the policies admins edit.

- ``/staff/capacity``: every member of staff sees the queue of commissions in hours, each with
  its estimated finish date, and the capacity's history; admins (``STUDIO_SETTINGS``) set the
  capacity.
- ``/staff/capacity/policies/<slug>``: admins edit a published policy (the materials policy).

The product page's delivery window reaches checkout's capacity service through the template
global ``delivery_window`` registered here (catalog views may not import checkout).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.accounts.access import staff_required
from app.accounts.permissions import Permission, permission_required
from app.checkout import capacity
from app.common.transactions import atomic
from app.domain.clock import utcnow
from app.staff import capacity_forms, policies

bp = Blueprint("capacity_staff", __name__, url_prefix="/staff/capacity")

# A new commission of this many bench hours is what the page's example window is for.
EXAMPLE_HOURS = 25


@bp.app_template_global("delivery_window")
def delivery_window(product, editions=None) -> capacity.DeliveryWindow:
    """The product page's delivery promise (``catalog/_delivery_window.html``)."""
    return capacity.delivery_window(product, editions)


def _page(form: capacity_forms.CapacityForm | None = None, status: int = 200):
    today = utcnow().date()
    queue = capacity.commission_queue(today=today)
    return (
        render_template(
            "staff/capacity.html",
            queue=queue,
            history=capacity.capacity_history(),
            default_hours=capacity.default_hours_per_week(),
            example_hours=EXAMPLE_HOURS,
            example=capacity.window_for_minutes(
                EXAMPLE_HOURS * 60,
                today=today,
                capacity_and_queue=(queue.hours_per_week, queue.minutes),
            ),
            form=form
            or capacity_forms.CapacityForm(
                formdata=None, data={"hours_per_week": queue.hours_per_week}
            ),
        ),
        status,
    )


@bp.get("")
@staff_required
def show():
    return _page()


@bp.post("")
@staff_required
@permission_required(Permission.STUDIO_SETTINGS)
def set_capacity():
    form = capacity_forms.CapacityForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        with atomic():
            change = capacity.set_hours_per_week(
                hours_per_week=form.hours_per_week.data, by_user_id=current_user.id
            )
    except capacity.CapacityError as exc:
        form.hours_per_week.errors = [str(exc)]
        return _page(form, 400)
    flash(f"The bench now works {change.hours_per_week} hours a week.", "success")
    return redirect(url_for("capacity_staff.show"))


def _policy_or_404(slug: str) -> policies.Policy:
    try:
        return policies.get_policy(slug)
    except KeyError:
        abort(404)


@bp.route("/policies/<slug>", methods=["GET", "POST"])
@staff_required
@permission_required(Permission.STUDIO_SETTINGS)
def edit_policy(slug: str):
    policy = _policy_or_404(slug)
    form = capacity_forms.PolicyForm(data={"title": policy.title, "body": policy.body})
    if form.validate_on_submit():
        try:
            with atomic():
                policies.save_policy(
                    slug=slug,
                    title=form.title.data or "",
                    body=form.body.data or "",
                    by_user_id=current_user.id,
                )
        except policies.PolicyError as exc:
            form.body.errors = [str(exc)]
        else:
            flash(f"{form.title.data.strip()} saved and published.", "success")
            return redirect(url_for("capacity_staff.edit_policy", slug=slug))
    status = 400 if form.is_submitted() else 200
    return render_template("staff/policy_edit.html", policy=policy, form=form), status
