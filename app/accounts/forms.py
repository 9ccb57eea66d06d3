from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

PASSWORD_RULES = [DataRequired(), Length(min=10, max=128, message="Use 10 to 128 characters.")]


class RegisterForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=PASSWORD_RULES)
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ.")]
    )


class ConfirmAddressForm(FlaskForm):
    """The password chosen when registering: whoever opens the link must also know it."""

    password = PasswordField("The password you chose", validators=[DataRequired(), Length(max=128)])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=128)])
    remember = BooleanField("Keep me signed in")


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=PASSWORD_RULES)
    confirm = PasswordField(
        "Repeat password", validators=[DataRequired(), EqualTo("password", "Passwords differ.")]
    )


class NameForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter your name."), Length(max=120)])


class EmailChangeForm(FlaskForm):
    email = EmailField("New email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Your current password", validators=[DataRequired(), Length(max=128)])


class ConfirmEmailChangeForm(FlaskForm):
    """One button: only this POST moves the account, never opening the emailed link."""


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "Current password", validators=[DataRequired(), Length(max=128)]
    )
    password = PasswordField("New password", validators=PASSWORD_RULES)
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", "Passwords differ.")],
    )
