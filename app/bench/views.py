"""Bench pages: standards (admins), a line's bench record, overrides; public bench files."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from app.accounts.access import staff_required
from app.accounts.permissions import Permission, permission_required
from app.bench import forms, gate, records, standards
from app.bench.standards import BenchError
from app.common.transactions import atomic
from app.common.uploads import UploadError, send_upload

bp = Blueprint("bench", __name__, url_prefix="/staff/bench")
# Every route is for staff; admin-only ones add a permission on top.
bp.before_request(staff_required(lambda: None))
public_bp = Blueprint("bench_public", __name__)


@bp.app_context_processor
def bench_helpers():
    # The QC form, the QC report and the public passport (other features' templates) ask for
    # bench facts through these, so those features never import this one.
    return {
        "bench_beside_qc": _beside_qc,
        "bench_override_for_check": gate.override_for_check,
        "bench_on_passport": records.passport_media,
    }


def _beside_qc(order_line_id: int) -> dict:
    line = records.get_line(order_line_id)
    status = gate.status_for_line(order_line_id)
    return {
        "line": line,
        "number": line.order.number,
        "status": status,
        "grades": standards.grade_descriptions(status.standard),
        "sessions": records.sessions_for_line(order_line_id),
        "override_form": forms.OverrideForm(formdata=None),
    }


def _line_or_404(number: str, line_id: int):
    line = records.line_of_order(number, line_id)
    if line is None:
        abort(404)
    return line


# --- standards (admins) ----------------------------------------------------------------------


def _standards_page(forms_by_kind=None, photo_forms=None, status: int = 200):
    by_kind = standards.standards_by_kind()
    forms_by_kind = forms_by_kind or {}
    photo_forms = photo_forms or {}
    for kind, standard in by_kind.items():
        if kind not in forms_by_kind:
            grades = standards.grade_descriptions(standard)
            forms_by_kind[kind] = forms.StandardForm(
                formdata=None,
                min_minutes=standard.min_minutes if standard else None,
                grade_a=grades["A"],
                grade_b=grades["B"],
                grade_c=grades["C"],
            )
        photo_forms.setdefault(kind, forms.ReferencePhotoForm(formdata=None))
    return render_template(
        "bench/standards_show.html",
        by_kind=by_kind,
        labels=standards.KIND_LABELS,
        forms_by_kind=forms_by_kind,
        photo_forms=photo_forms,
    ), status


@bp.get("/standards")
@permission_required(Permission.FINISH_STANDARDS)
def show_standards():
    return _standards_page()


@bp.post("/standards/<kind>")
@permission_required(Permission.FINISH_STANDARDS)
def save_standard(kind: str):
    if kind not in standards.KIND_LABELS:
        abort(404)
    form = forms.StandardForm()
    if not form.validate_on_submit():
        return _standards_page({kind: form}, status=400)
    try:
        with atomic():
            standards.save_standard(
                kind=kind,
                min_minutes=form.min_minutes.data,
                grade_descriptions=form.grades(),
                by_user_id=current_user.id,
            )
    except BenchError as exc:
        form.form_errors.append(str(exc))
        return _standards_page({kind: form}, status=400)
    flash(f"Hand-finish standard for {standards.KIND_LABELS[kind].lower()} saved.", "success")
    return redirect(url_for("bench.show_standards", _anchor=f"standard-{kind}"))


@bp.post("/standards/<kind>/photos")
@permission_required(Permission.FINISH_STANDARDS)
def add_reference_photo(kind: str):
    if kind not in standards.KIND_LABELS:
        abort(404)
    form = forms.ReferencePhotoForm()
    if not form.validate_on_submit():
        return _standards_page(photo_forms={kind: form}, status=400)
    try:
        with atomic():
            standards.add_reference_photo(
                kind=kind,
                data=form.photo.data.read(),
                caption=form.caption.data or "",
                by_user_id=current_user.id,
            )
    except (BenchError, UploadError) as exc:
        form.form_errors.append(str(exc))
        return _standards_page(photo_forms={kind: form}, status=400)
    flash("Reference photo added.", "success")
    return redirect(url_for("bench.show_standards", _anchor=f"standard-{kind}"))


@bp.post("/reference-photos/<int:photo_id>/delete")
@permission_required(Permission.FINISH_STANDARDS)
def remove_reference_photo(photo_id: int):
    try:
        with atomic():
            standards.remove_reference_photo(photo_id=photo_id, by_user_id=current_user.id)
    except BenchError:
        abort(404)
    flash("Reference photo removed.", "success")
    return redirect(url_for("bench.show_standards"))


@bp.get("/reference-photos/<int:photo_id>")
def reference_photo(photo_id: int):
    photo = standards.get_reference_photo(photo_id)
    if photo is None:
        abort(404)
    return send_upload(photo.upload_name)


# --- a line's bench record -------------------------------------------------------------------


def _line_page(line, form=None, *, override_form=None, status: int = 200):
    bench = _beside_qc(line.id)
    if override_form is not None:
        bench["override_form"] = override_form
    return render_template(
        "bench/line_show.html",
        line=line,
        order=line.order,
        form=form or forms.BenchSessionForm(formdata=None),
        bench=bench,
        choice_form=forms.PassportChoiceForm(formdata=None),
        can_record=line.stage == records.RECORDING_STAGE,
    ), status


@bp.get("/orders/<number>/lines/<int:line_id>")
def show_line(number: str, line_id: int):
    return _line_page(_line_or_404(number, line_id))


@bp.post("/orders/<number>/lines/<int:line_id>")
def record_session(number: str, line_id: int):
    line = _line_or_404(number, line_id)
    form = forms.BenchSessionForm()
    if not form.validate_on_submit():
        return _line_page(line, form, status=400)
    try:
        with atomic():
            session = records.record_session(
                order_line_id=line.id,
                artisan_id=current_user.id,
                minutes=form.minutes.data,
                tools=form.tools.data,
                files=forms.file_bytes(form.files),
            )
    except (BenchError, UploadError) as exc:
        form.form_errors.append(str(exc))
        return _line_page(line, form, status=400)
    flash(f"Recorded {session.minutes} minutes at the bench.", "success")
    return redirect(url_for("bench.show_line", number=number, line_id=line.id))


@bp.post("/orders/<number>/lines/<int:line_id>/override")
@permission_required(Permission.QC_OVERRIDE)
def record_override(number: str, line_id: int):
    line = _line_or_404(number, line_id)
    form = forms.OverrideForm()
    if form.validate_on_submit():
        try:
            with atomic():
                gate.record_override(
                    order_line_id=line.id, admin_id=current_user.id, reason=form.reason.data
                )
        except BenchError as exc:
            form.form_errors.append(str(exc))
        else:
            flash("Override recorded: QC may pass this piece below the bench minimum.", "success")
            return redirect(url_for("staff.line_qc", number=number, line_id=line.id))
    return _line_page(line, override_form=form, status=400)


# --- bench files -----------------------------------------------------------------------------


@bp.post("/media/<int:media_id>/passport")
def choose_for_passport(media_id: int):
    form = forms.PassportChoiceForm()
    media = records.get_media(media_id)
    if media is None:
        abort(404)
    if not form.validate_on_submit():
        abort(400)
    with atomic():
        records.choose_for_passport(
            media_id=media.id, chosen=form.show.data == "1", by_user_id=current_user.id
        )
    flash("Shown on the passport." if media.on_passport else "Taken off the passport.", "success")
    line = media.session.order_line
    return redirect(url_for("bench.show_line", number=line.order.number, line_id=line.id))


@bp.get("/media/<int:media_id>")
def media_file(media_id: int):
    media = records.get_media(media_id)
    if media is None:
        abort(404)
    return send_upload(media.upload_name)


@public_bp.get("/p/<code>/bench/<int:media_id>")
def public_media_file(code: str, media_id: int):
    # Only what staff chose for this passport; anything else is as if it did not exist.
    media = records.public_media(code, media_id)
    if media is None:
        abort(404)
    return send_upload(media.upload_name)
