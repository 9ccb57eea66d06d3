"""Public passport pages (/p/<code>), QR codes and certificates; staff passport tools."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.accounts.access import staff_required
from app.common.links import public_url
from app.common.transactions import atomic
from app.common.uploads import UploadError, send_upload
from app.provenance import forms, services
from app.provenance.certificate_pdf import render_certificate_pdf
from app.provenance.qr import qr_png

bp = Blueprint("provenance", __name__)
staff_bp = Blueprint("provenance_staff", __name__, url_prefix="/staff/provenance")
# Every staff route is for staff only, whatever decorators a view has.
staff_bp.before_request(staff_required(lambda: None))


def _uploads(form: forms.EntryForm) -> list[tuple[bytes, str]]:
    label = form.file_label.data or ""
    return [
        (f.read(), label or f.filename or "") for f in form.files.data or [] if f and f.filename
    ]


def _passport_url(code: str) -> str:
    return public_url("provenance.passport", code=code)


@bp.get("/p/key.pem")
def public_key():
    # A static rule: Werkzeug matches it before /p/<code> (and "key.pem" is no passport code).
    response = Response(services.public_key_pem(), mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/p/<code>")
def passport(code: str):
    try:
        view = services.passport_view(code)
    except services.PassportNotFound:
        abort(404)
    return render_template(
        "provenance/passport_show.html", view=view, passport_url=_passport_url(code)
    )


@bp.get("/p/<code>/qr.png")
def qr(code: str):
    try:
        passport = services.get_passport(code)
    except services.PassportNotFound:
        abort(404)
    response = Response(qr_png(_passport_url(passport.code)), mimetype="image/png")
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/p/<code>/certificate")
def certificate(code: str):
    try:
        cert = services.certificate(code)
    except services.PassportNotFound:
        abort(404)
    return render_template(
        "provenance/certificate_show.html", cert=cert, passport_url=_passport_url(code)
    )


@bp.get("/p/<code>/certificate.pdf")
def certificate_pdf(code: str):
    try:
        cert = services.certificate(code)
    except services.PassportNotFound:
        abort(404)
    pdf = render_certificate_pdf(cert, passport_url=_passport_url(code))
    response = Response(pdf, mimetype="application/pdf")
    response.headers.set("Content-Disposition", "inline", filename=f"diadem-certificate-{code}.pdf")
    return response


@bp.get("/p/<code>/files/<int:entry_id>/<int(min=0):index>")
def entry_file(code: str, entry_id: int, index: int):
    # Files on a passport entry were attached by staff for the public passport.
    try:
        item = services.file_of(code, entry_id, index)
    except services.PassportNotFound:
        abort(404)
    return send_upload(item["name"])


# --- staff --------------------------------------------------------------------------------


@staff_bp.get("/")
def index():
    return render_template(
        "provenance/passport_list.html",
        runs=services.runs_overview(),
        commissions=services.list_passports(kind="commission"),
    )


@staff_bp.get("/runs/<int:run_id>")
def run_pieces(run_id: int):
    try:
        overview = services.run_overview(run_id=run_id)
    except services.PassportNotFound:
        abort(404)
    return render_template("provenance/run_show.html", overview=overview)


@staff_bp.post("/runs/<int:run_id>/passport")
def open_run_passport(run_id: int):
    try:
        with atomic():
            passport = services.passport_for_run(run_id=run_id)
    except services.PassportNotFound:
        abort(404)
    return redirect(url_for("provenance_staff.manage", code=passport.code))


@staff_bp.post("/pieces/<int:piece_id>/passport")
def open_piece_passport(piece_id: int):
    try:
        with atomic():
            passport = services.passport_for_piece(piece_id=piece_id)
    except services.PassportNotFound:
        abort(404)
    return redirect(url_for("provenance_staff.manage", code=passport.code))


@staff_bp.get("/<code>")
def manage(code: str):
    try:
        view = services.passport_view(code)
    except services.PassportNotFound:
        abort(404)
    form = _entry_form(made_by=current_user.id)
    return render_template("provenance/passport_manage.html", view=view, form=form)


def _entry_form(**defaults) -> forms.EntryForm:
    form = forms.EntryForm(**defaults)
    form.made_by.choices = [(0, "— nobody (a material, stone or document) —")]
    form.made_by.choices += services.staff_choices()
    return form


@staff_bp.post("/<code>/entries")
def add_entry(code: str):
    try:
        passport = services.get_passport(code)
    except services.PassportNotFound:
        abort(404)
    form = _entry_form()
    if form.validate_on_submit():
        try:
            with atomic():
                services.add_staff_entry(
                    passport_id=passport.id,
                    kind=form.kind.data,
                    summary=form.summary.data,
                    occurred_on=form.occurred_on.data,
                    actor=form.actor.data or "",
                    origin=form.origin.data or "",
                    source=form.source.data or "",
                    # A post with no file part at all gives None, not an empty list.
                    uploads=_uploads(form),
                    recorded_by_id=current_user.id,
                    made_by_id=form.made_by.data or None,
                )
        except (services.ProvenanceError, UploadError) as exc:
            form.form_errors.append(str(exc))
        else:
            flash("Entry added to the passport.", "success")
            return redirect(url_for("provenance_staff.manage", code=code))
    view = services.passport_view(code)
    return render_template("provenance/passport_manage.html", view=view, form=form), 400
