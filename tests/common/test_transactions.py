"""atomic() commits or rolls back as a whole; savepoints; on_commit runs only after a commit."""

from __future__ import annotations

import pytest

from app.accounts.models import User
from app.common.transactions import NoTransaction, atomic, in_atomic, on_commit, on_rollback
from app.extensions import db


def _user(email: str) -> User:
    user = User(email=email, name="")
    user.set_password("correct horse battery")
    db.session.add(user)
    db.session.flush()
    return user


def _emails() -> set[str]:
    db.session.rollback()  # read what is committed, not what this session still holds
    return set(db.session.execute(db.select(User.email)).scalars())


def test_commits_and_then_runs_callbacks_in_order(app_ctx):
    ran: list[str] = []
    with atomic():
        _user("a@example.com")
        on_commit(lambda: ran.append("first"))
        on_commit(lambda: ran.append("second"))
        assert ran == []
    assert ran == ["first", "second"]
    assert _emails() == {"a@example.com"}
    assert not in_atomic()


def test_an_error_rolls_back_and_drops_callbacks(app_ctx):
    ran: list[str] = []
    with pytest.raises(ZeroDivisionError), atomic():
        _user("a@example.com")
        on_commit(lambda: ran.append("mail"))
        1 / 0  # noqa: B018
    assert ran == []
    assert _emails() == set()
    with atomic():  # the session is usable again and holds no stale callbacks
        _user("b@example.com")
    assert ran == [] and _emails() == {"b@example.com"}


def test_a_failed_savepoint_undoes_only_its_own_work(app_ctx):
    ran: list[str] = []
    with atomic():
        _user("outer@example.com")
        with pytest.raises(ValueError), atomic():
            _user("inner@example.com")
            on_commit(lambda: ran.append("inner"))
            raise ValueError("nope")
        with atomic():
            on_commit(lambda: ran.append("kept"))
    assert _emails() == {"outer@example.com"}
    assert ran == ["kept"]


def test_a_savepoint_that_is_the_first_write_still_rolls_back_with_its_transaction(app_ctx):
    """On SQLite the driver used to open no transaction before a SAVEPOINT, so releasing the
    savepoint committed it for good; the outer rollback then undid nothing."""
    with pytest.raises(ZeroDivisionError), atomic():
        with atomic():
            _user("inner@example.com")
        _user("outer@example.com")
        1 / 0  # noqa: B018
    assert _emails() == set()


def test_on_commit_needs_a_transaction(app_ctx):
    with pytest.raises(NoTransaction):
        on_commit(lambda: None)


def test_on_rollback_runs_after_a_rollback_only(app_ctx):
    undone: list[str] = []
    with atomic():
        _user("a@example.com")
        on_rollback(lambda: undone.append("committed"))
    assert undone == []
    with pytest.raises(ZeroDivisionError), atomic():
        on_rollback(lambda: undone.append("first"))
        on_rollback(lambda: undone.append("second"))
        1 / 0  # noqa: B018
    assert undone == ["second", "first"]  # newest first, once the transaction is gone
    with pytest.raises(NoTransaction):
        on_rollback(lambda: None)


def test_on_rollback_follows_its_savepoint(app_ctx):
    undone: list[str] = []
    with pytest.raises(ValueError), atomic():
        with pytest.raises(KeyError), atomic():
            on_rollback(lambda: undone.append("failed savepoint"))
            raise KeyError("inner")
        assert undone == ["failed savepoint"]
        with atomic():
            on_rollback(lambda: undone.append("released savepoint"))
        assert undone == ["failed savepoint"]  # released: it now stands or falls with the outer
        raise ValueError("outer")
    assert undone == ["failed savepoint", "released savepoint"]


def test_a_failing_rollback_callback_does_not_hide_the_error(app_ctx, caplog):
    undone: list[str] = []

    def broken() -> None:
        raise OSError("bucket unreachable")

    with pytest.raises(ZeroDivisionError), atomic():
        on_rollback(lambda: undone.append("still run"))
        on_rollback(broken)
        1 / 0  # noqa: B018
    assert undone == ["still run"]
    assert "on_rollback callback" in caplog.text and "bucket unreachable" in caplog.text


def test_a_callback_may_open_its_own_transaction(app_ctx):
    def later() -> None:
        with atomic():
            _user("later@example.com")

    with atomic():
        _user("now@example.com")
        on_commit(later)
    assert _emails() == {"now@example.com", "later@example.com"}


def test_mail_after_commit_is_sent_once_committed_and_never_on_rollback(app):
    from app.common.mail import read_outbox, send_mail_after_commit

    outbox = app.config["MAIL_OUTBOX_DIR"]
    with app.test_request_context():
        with pytest.raises(RuntimeError), atomic():
            send_mail_after_commit(
                to="a@example.com",
                subject="x",
                template="password_reset",
                link="l",
                user=None,
                minutes=5,
            )
            raise RuntimeError("rolled back")
        assert read_outbox(outbox) == []
        with atomic():
            send_mail_after_commit(
                to="a@example.com",
                subject="Reset",
                template="password_reset",
                link="l",
                user=None,
                minutes=5,
            )
            assert read_outbox(outbox) == []
        assert [m["Subject"] for m in read_outbox(outbox)] == ["Reset"]
