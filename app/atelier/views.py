"""The public atelier pages (/atelier, /atelier/<slug>) and the staff page editing profiles.

Only published profiles are public; staff without one are "the atelier" everywhere public.
Admins edit anyone's profile; every other member of staff only their own.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.accounts.access import staff_required
from app.accounts.artisans import PublicArtisan, public_artisan, published_profile_by_slug
from app.accounts.artisans import profile_of as _profile_of
from app.atelier import forms, services
from app.common.storage import uploads_storage
from app.common.transactions import atomic
from app.common.uploads import UploadError

bp = Blueprint("atelier", __name__, url_prefix="/atelier")
staff_bp = Blueprint("atelier_staff", __name__, url_prefix="/staff/atelier")
staff_bp.before_request(staff_required(lambda: None))


@bp.app_template_global("public_artisan")
def public_artisan_global(user_id: int | None) -> PublicArtisan | None:
    """A published profile to credit on a public page (``_artisan.html``'s ``credit``)."""
    return public_artisan(user_id)


@bp.get("")
def index():
    return render_template("atelier/index.html", profiles=services.published_profiles())


@bp.get("/<slug>")
def show(slug: str):
    profile = published_profile_by_slug(slug)
    if profile is None:
        abort(404)
    return render_template(
        "atelier/show.html", profile=profile, work=services.portfolio(profile.user_id)
    )


def _picture(slug: str, which: str):
    profile = published_profile_by_slug(slug)
    if profile is None:
        abort(404)
    try:
        key = services.picture(profile, which)
    except services.ProfileNotFound:
        abort(404)
    # Public, but asked again each time (a 304 when unchanged): the address stays the same
    # when a picture is replaced or removed.
    response = uploads_storage().serve(key, private=False)
    response.cache_control.max_age = 0
    response.cache_control.no_cache = True
    return response


@bp.get("/<slug>/portrait")
def portrait(slug: str):
    return _picture(slug, "portrait")


@bp.get("/<slug>/signature.png")
def signature(slug: str):
    return _picture(slug, "signature")


# --- staff --------------------------------------------------------------------------------


def _may_edit(user_id: int) -> bool:
    return current_user.is_admin or current_user.id == user_id


@staff_bp.get("/")
def staff_index():
    return render_template(
        "atelier/staff_index.html", rows=services.staff_overview(), may_edit=_may_edit
    )


@staff_bp.route("/<int:user_id>", methods=["GET", "POST"])
def edit(user_id: int):
    if not _may_edit(user_id):
        abort(403)
    try:
        member = services.staff_member(user_id)
    except services.ProfileNotFound:
        abort(404)
    profile = _profile_of(user_id)
    form = forms.ProfileForm(obj=profile)
    if profile is None and not form.is_submitted():
        form.display_name.data = member.name
    if form.validate_on_submit():
        try:
            with atomic():
                services.save_profile(user_id=user_id, data=_input(form))
        except (services.ProfileError, UploadError) as exc:
            form.form_errors.append(str(exc))
        else:
            flash("Profile saved.", "success")
            return redirect(url_for("atelier_staff.edit", user_id=user_id))
    status = 400 if form.is_submitted() else 200
    return render_template(
        "atelier/staff_edit.html", form=form, member=member, profile=profile
    ), status


def _input(form: forms.ProfileForm) -> services.ProfileInput:
    def data(upload) -> bytes | None:
        return upload.data.read() if upload.data and upload.data.filename else None

    return services.ProfileInput(
        display_name=form.display_name.data or "",
        slug=form.slug.data or "",
        bio=form.bio.data or "",
        specialities=form.specialities.data or "",
        published=bool(form.published.data),
        portrait=data(form.portrait),
        signature=data(form.signature),
        remove_portrait=bool(form.remove_portrait.data),
        remove_signature=bool(form.remove_signature.data),
        meeting_link=form.meeting_link.data,
    )


@staff_bp.get("/<int:user_id>/portrait")
def staff_portrait(user_id: int):
    """A profile's portrait for the staff editing it, published or not."""
    return _staff_picture(user_id, "portrait")


@staff_bp.get("/<int:user_id>/signature.png")
def staff_signature(user_id: int):
    return _staff_picture(user_id, "signature")


def _staff_picture(user_id: int, which: str):
    if not _may_edit(user_id):
        abort(403)
    profile = _profile_of(user_id)
    if profile is None:
        abort(404)
    try:
        key = services.picture(profile, which)
    except services.ProfileNotFound:
        abort(404)
    return uploads_storage().serve(key, private=True)
