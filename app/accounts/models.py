from __future__ import annotations

import enum
from datetime import datetime

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db


def password_hash_method() -> str:
    """The configured Werkzeug hash method for new passwords (scrypt unless a test app says)."""
    return current_app.config.get("PASSWORD_HASH_METHOD") or "scrypt"


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('customer', 'staff', 'admin')", name="role_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default=Role.CUSTOMER.value)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Set when someone registers on the site, cleared when the address is confirmed (the emailed
    # link, or a password reset through it). Until then nobody can sign in to the account.
    # NULL for every confirmed account, including staff made by the CLI.
    unconfirmed_since: Mapped[datetime | None]

    # The sign-in this request runs under (a LoginSession key), set when the user is loaded or
    # signs in; not a column. It rides in Flask-Login's id so the session and remember-me
    # cookies both name the sign-in, and ending it on the server ends both.
    session_key = None  # str | None; see above

    def get_id(self) -> str:
        return f"{self.id}:{self.session_key}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=password_hash_method())

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @property
    def is_confirmed(self) -> bool:
        return self.unconfirmed_since is None

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF.value, Role.ADMIN.value)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value


class LoginSession(db.Model):
    """One sign-in on one device; it ends at logout and, for all of them, at a password change."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    ended_at: Mapped[datetime | None]
