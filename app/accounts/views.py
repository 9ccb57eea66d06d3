from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.accounts import forms, profile, services, sessions
from app.common.links import public_url
from app.common.mail import send_mail_after_commit
from app.common.transactions import atomic
from app.extensions import limiter, login_manager

bp = Blueprint("accounts", __name__, url_prefix="/account")


@login_manager.user_loader
def load_user(login_id: str):
    return sessions.user_for_session(login_id)


def _sign_in(user, *, remember: bool = False) -> None:
    with atomic():
        sessions.start_session(user)
    login_user(user, remember=remember)


def _home_for(user) -> str:
    """Where a sign-in lands without a ``next``: staff at their workspace, customers at theirs."""
    if user.is_staff and "dashboard.index" in current_app.view_functions:
        return url_for("dashboard.index")
    return url_for("accounts.account")


def _safe_next(target: str | None, *, home: str | None = None) -> str:
    # Only same-site relative paths: an absolute or scheme-relative URL would be an open redirect.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return home or url_for("accounts.account")


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def register():
    form = forms.RegisterForm()
    if form.validate_on_submit():
        # The same answer whether or not the address has an account (nobody is signed in here):
        # the link to finish, or a note to the owner, arrives by email.
        next_path = request.args.get("next")
        with atomic():
            services.request_registration(
                email=form.email.data,
                password=form.password.data,
                name=form.name.data,
                next_path=_safe_next(next_path) if next_path else "",
            )
        return redirect(url_for("accounts.register_sent"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/register.html", form=form), status


@bp.get("/register/sent")
def register_sent():
    return render_template("accounts/register_sent.html")


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm_address(token: str):
    """The emailed link: a page with one button, so a mail scanner that follows links in
    messages neither uses the link up nor signs itself in."""
    try:
        user, next_path = services.pending_registration(token=token)
    except services.InvalidConfirmToken as exc:
        return render_template("accounts/confirm_invalid.html", message=str(exc)), 400
    form = forms.ConfirmAddressForm()
    if form.validate_on_submit():
        try:
            with atomic():
                services.confirm_address(user_id=user.id, password=form.password.data)
        except services.WrongPassword as exc:
            form.password.errors.append(str(exc))
            return render_template("accounts/confirm_address.html", form=form, user=user), 400
        _sign_in(user)
        flash("Welcome to Diadem.", "success")
        return redirect(_safe_next(next_path or None))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/confirm_address.html", form=form, user=user), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def login():
    form = forms.LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(email=form.email.data, password=form.password.data)
        except services.AddressNotConfirmed as exc:
            with atomic():
                services.send_confirmation(user=services.get_user(exc.user_id))
            form.email.errors.append(str(exc))
            return render_template("accounts/login.html", form=form), 400
        if user is not None:
            _sign_in(user, remember=form.remember.data)
            flash("You are signed in.", "success")
            return redirect(_safe_next(request.args.get("next"), home=_home_for(user)))
        form.password.errors.append("That email and password do not match an account.")
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
def logout():
    # POST with the CSRF token from the nav form, so a third-party page cannot sign people out.
    from flask_wtf.csrf import validate_csrf
    from wtforms import ValidationError

    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        flash("Your session form expired; try again.", "warning")
        return redirect(url_for("main.home"))
    if current_user.is_authenticated:
        with atomic():
            sessions.end_session(current_user.session_key)
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("main.home"))


@bp.get("")
@login_required
def account():
    return render_template("accounts/account_show.html", user=current_user)


# The email form's fields are named apart from the password form's (one page, unique ids).
EMAIL_FORM_PREFIX = "change-email"


def _settings_page(status: int = 200, **forms_given):
    """The account settings page: three forms, each posting on its own (a refused one comes
    back with its errors, the others fresh)."""
    name_form = forms_given.get("name_form") or forms.NameForm(
        formdata=None, name=current_user.name
    )
    return (
        render_template(
            "accounts/account_edit.html",
            user=current_user,
            name_form=name_form,
            email_form=forms_given.get("email_form")
            or forms.EmailChangeForm(formdata=None, prefix=EMAIL_FORM_PREFIX),
            password_form=forms_given.get("password_form")
            or forms.PasswordChangeForm(formdata=None),
        ),
        status,
    )


@bp.get("/settings")
@login_required
def settings():
    return _settings_page()


@bp.post("/settings/name")
@login_required
def change_name():
    form = forms.NameForm()
    if not form.validate_on_submit():
        return _settings_page(400, name_form=form)
    with atomic():
        profile.change_name(user_id=current_user.id, name=form.name.data)
    flash("Your name is changed.", "success")
    return redirect(url_for("accounts.settings"), 303)


@bp.post("/settings/email")
@login_required
@limiter.limit("10 per hour")
def change_email():
    form = forms.EmailChangeForm(prefix=EMAIL_FORM_PREFIX)
    if form.validate_on_submit():
        try:
            with atomic():
                address = profile.request_email_change(
                    user_id=current_user.id, new_email=form.email.data, password=form.password.data
                )
        except services.WrongPassword as exc:
            form.password.errors.append(str(exc))
        except services.AccountError as exc:
            form.email.errors.append(str(exc))
        else:
            # The same answer whether or not the address has an account of its own.
            flash(
                f"We have emailed {address} a link: your address changes when you follow it.",
                "info",
            )
            return redirect(url_for("accounts.settings"), 303)
    return _settings_page(400, email_form=form)


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email_change(token: str):
    """The link sent to the new address: a page with one button; only the POST changes it."""
    try:
        change = profile.pending_email_change(token=token)
    except profile.InvalidEmailChange as exc:
        return render_template("accounts/confirm_invalid.html", message=str(exc)), 400
    form = forms.ConfirmEmailChangeForm()
    if form.validate_on_submit():
        try:
            with atomic():
                profile.confirm_email_change(token=token)
        except services.AccountError as exc:
            return render_template("accounts/confirm_invalid.html", message=str(exc)), 409
        flash(f"Your account's address is now {change.new_email}.", "success")
        if current_user.is_authenticated:
            return redirect(url_for("accounts.settings"), 303)
        return redirect(url_for("accounts.login"), 303)
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/email_change_confirm.html", form=form, change=change), status


@bp.post("/settings/password")
@login_required
@limiter.limit("10 per hour")
def change_password():
    form = forms.PasswordChangeForm()
    if form.validate_on_submit():
        try:
            with atomic():
                ended = profile.change_password(
                    user_id=current_user.id,
                    current_password=form.current_password.data,
                    new_password=form.password.data,
                    keep_session_key=current_user.session_key,
                )
        except services.WrongPassword as exc:
            form.current_password.errors.append(str(exc))
        else:
            others = f" {ended} other sign-in{'s' if ended != 1 else ''} ended." if ended else ""
            flash(f"Your password is changed.{others}", "success")
            return redirect(url_for("accounts.settings"), 303)
    return _settings_page(400, password_form=form)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def forgot_password():
    form = forms.ForgotPasswordForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data)
        if user is not None:
            token = services.make_reset_token(user=user, secret_key=current_app.secret_key)
            with atomic():  # through the outbox: a mail server that is down delays it, not us
                send_mail_after_commit(
                    to=user.email,
                    subject="Reset your Diadem password",
                    template="password_reset",
                    user=user,
                    link=public_url("accounts.reset_password", token=token),
                    minutes=current_app.config["PASSWORD_RESET_MAX_AGE"] // 60,
                )
        # Same answer whether or not the address has an account, so it cannot be probed.
        flash("If that address has an account, a reset link is on its way.", "info")
        return redirect(url_for("accounts.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/password_forgot.html", form=form), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        user = services.user_for_reset_token(
            token=token,
            secret_key=current_app.secret_key,
            max_age=current_app.config["PASSWORD_RESET_MAX_AGE"],
        )
    except services.InvalidResetToken as exc:
        flash(str(exc), "danger")
        return render_template("accounts/password_reset_invalid.html", message=str(exc)), 400
    form = forms.ResetPasswordForm()
    if form.validate_on_submit():
        with atomic():
            services.reset_password(user_id=user.id, password=form.password.data)
        flash("Your password is changed; sign in with it now.", "success")
        return redirect(url_for("accounts.login"))
    status = 400 if form.is_submitted() else 200
    return render_template("accounts/password_reset.html", form=form), status


@bp.app_context_processor
def user_context():
    return {"current_user": current_user}
