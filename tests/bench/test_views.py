"""Bench pages through the test client: who may do what, bad input, the QC gate on the form."""

from __future__ import annotations

import io

import pytest

from app.bench import records, standards
from app.bench.models import QcOverride
from app.common.storage import uploads_storage
from app.common.transactions import atomic
from app.extensions import db
from app.provenance import services as provenance
from app.staff import services as staff
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD, png_bytes

STANDARDS = "/staff/bench/standards"


def bench_url(world) -> str:
    return f"/staff/bench/orders/{world.number}/lines/{world.line_id}"


def qc_url(world) -> str:
    return f"/staff/orders/{world.number}/lines/{world.line_id}/qc"


def sign_in(client, email: str) -> str:
    login(client, email, PASSWORD)
    return csrf_token(client, "/account" if email.endswith(".com") else "/staff")


def set_standard(app, world, minutes: int = 90) -> None:
    with app.app_context(), atomic():
        standards.save_standard(
            kind="crown", min_minutes=minutes, grade_descriptions={}, by_user_id=world.admin_id
        )


def test_standards_are_an_admin_page(client, world):
    assert "/account/login" in client.get(STANDARDS).location
    sign_in(client, "bea@example.com")
    assert client.get(STANDARDS).status_code == 403
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/account")})
    token = sign_in(client, "mira@example.org")
    assert STANDARDS not in client.get("/staff").get_data(as_text=True)
    assert client.get(STANDARDS).status_code == 403
    assert client.post(f"{STANDARDS}/crown", data={"csrf_token": token}).status_code == 403
    assert client.get(bench_url(world)).status_code == 200  # staff work the bench


def test_an_admin_sets_a_standard_and_bad_input_is_a_400(app, client, world):
    token = sign_in(client, "ada@example.org")
    assert STANDARDS in client.get("/staff").get_data(as_text=True)
    page = client.get(STANDARDS)
    assert page.status_code == 200 and b"Minimum bench time" in page.data
    bad = client.post(f"{STANDARDS}/crown", data={"csrf_token": token, "min_minutes": "abc"})
    assert bad.status_code == 400 and b"Not a valid integer" in bad.data
    assert client.post(f"{STANDARDS}/ring", data={"csrf_token": token}).status_code == 404
    ok = client.post(
        f"{STANDARDS}/crown",
        data={"csrf_token": token, "min_minutes": "120", "grade_a": "Mirror bright"},
    )
    assert ok.status_code == 302
    photo = client.post(
        f"{STANDARDS}/crown/photos",
        data={"csrf_token": token, "photo": (io.BytesIO(b"%PDF-1.4"), "a.pdf"), "caption": ""},
    )
    assert photo.status_code == 400 and b"not an image" in photo.data
    added = client.post(
        f"{STANDARDS}/crown/photos",
        data={
            "csrf_token": token,
            "photo": (io.BytesIO(png_bytes()), "ref.png"),
            "caption": "Satin",
        },
    )
    assert added.status_code == 302
    with app.app_context():
        standard = standards.standard_for_kind("crown")
        assert (standard.min_minutes, standard.grade_descriptions["A"]) == (120, "Mirror bright")
        (photo,) = standard.photos
        photo_id, name = photo.id, photo.upload_name
    with client.get(f"/staff/bench/reference-photos/{photo_id}") as served:
        assert served.status_code == 200
    removed = client.post(
        f"/staff/bench/reference-photos/{photo_id}/delete", data={"csrf_token": token}
    )
    assert removed.status_code == 302
    with app.app_context():
        assert standards.get_reference_photo(photo_id) is None
        assert not uploads_storage().exists(name)


def test_an_artisan_records_bench_time_with_a_photo(app, client, world):
    token = sign_in(client, "mira@example.org")
    assert bench_url(world) in client.get(f"/staff/orders/{world.number}").get_data(as_text=True)
    bad = client.post(bench_url(world), data={"csrf_token": token, "minutes": "", "tools": "x"})
    assert bad.status_code == 400 and b"whole minutes" in bad.data
    not_photo = client.post(
        bench_url(world),
        data={
            "csrf_token": token,
            "minutes": "40",
            "tools": "files",
            "files": (io.BytesIO(b"hello"), "x.jpg"),
        },
    )
    assert not_photo.status_code == 400 and b"not an image or video" in not_photo.data
    ok = client.post(
        bench_url(world),
        data={
            "csrf_token": token,
            "minutes": "40",
            "tools": "needle files",
            "files": (io.BytesIO(png_bytes()), "bench.png"),
        },
    )
    assert ok.status_code == 302
    page = client.get(bench_url(world)).get_data(as_text=True)
    assert "40 minutes" in page and "needle files" in page
    with app.app_context():
        (session,) = records.sessions_for_line(world.line_id)
        media_id = session.media[0].id
    with client.get(f"/staff/bench/media/{media_id}") as served:
        assert served.status_code == 200 and served.mimetype == "image/jpeg"


def _to_qc_short(app, world):
    set_standard(app, world, 90)
    with app.app_context():
        with atomic():
            records.record_session(
                order_line_id=world.line_id,
                artisan_id=world.atelier.artisan_id,
                minutes=30,
                tools="files",
                files=[],
            )
        with atomic():
            staff.move_line(
                order_line_id=world.line_id,
                target="qc",
                expected_stage=None,
                by_user_id=world.atelier.artisan_id,
            )


QC_PASS = {
    "stone_tightness": "pass",
    "solder_integrity": "pass",
    "hallmark_present": "pass",
    "measured_grams": "100.5",
    "finish_grade": "A",
}


def test_qc_is_refused_below_the_minimum_until_an_admin_overrides(app, client, world):
    _to_qc_short(app, world)
    token = sign_in(client, "theo@example.org")
    form = client.get(qc_url(world)).get_data(as_text=True)
    assert "at least 90 minutes" in form and "below the minimum" in form
    refused = client.post(qc_url(world), data={"csrf_token": token, **QC_PASS})
    assert refused.status_code == 400 and "30 of the 90 minutes" in refused.get_data(as_text=True)
    override = f"{bench_url(world)}/override"
    assert client.post(override, data={"csrf_token": token, "reason": "x"}).status_code == 403
    client.post("/account/logout", data={"csrf_token": token})

    token = sign_in(client, "ada@example.org")
    empty = client.post(override, data={"csrf_token": token, "reason": ""})
    assert empty.status_code == 400 and b"Give the reason" in empty.data
    done = client.post(override, data={"csrf_token": token, "reason": "Client's wedding date"})
    assert done.status_code == 302 and done.location.endswith(qc_url(world))
    client.post("/account/logout", data={"csrf_token": token})

    token = sign_in(client, "theo@example.org")
    passed = client.post(qc_url(world), data={"csrf_token": token, **QC_PASS})
    assert passed.status_code == 302
    with app.app_context():
        override_row = db.session.execute(db.select(QcOverride)).scalar_one()
        check_id = override_row.qc_check_id
    assert check_id is not None
    report = client.get(f"/staff/qc/{check_id}").get_data(as_text=True)
    assert "Client&#39;s wedding date" in report and "Ada Admin" in report
    assert "30 of the 90 minutes" in report


def test_passport_shows_only_chosen_bench_photos_and_no_customer(app, client, world):
    with app.app_context():
        with atomic():
            (media,) = records.record_session(
                order_line_id=world.line_id,
                artisan_id=world.atelier.artisan_id,
                minutes=30,
                tools="files",
                files=[png_bytes()],
            ).media
            passport = provenance.passport_for_line(records.get_line(world.line_id))
        code, media_id = passport.code, media.id
    public = f"/p/{code}/bench/{media_id}"
    assert client.get(public).status_code == 404
    assert b"From the bench" not in client.get(f"/p/{code}").data
    token = sign_in(client, "theo@example.org")
    assert (
        client.post(
            f"/staff/bench/media/{media_id}/passport", data={"csrf_token": token, "show": "2"}
        ).status_code
        == 400
    )
    chosen = client.post(
        f"/staff/bench/media/{media_id}/passport", data={"csrf_token": token, "show": "1"}
    )
    assert chosen.status_code == 302
    client.post("/account/logout", data={"csrf_token": token})
    page = client.get(f"/p/{code}").get_data(as_text=True)
    assert "From the bench" in page and public in page
    assert "Bea" not in page and "bea@example.com" not in page
    with client.get(public) as served:
        assert served.status_code == 200
    assert client.get(f"/p/{code}/bench/{media_id + 1}").status_code == 404


@pytest.mark.parametrize("path", ["/staff/bench/media/999", "/staff/bench/orders/X/lines/1"])
def test_unknown_things_are_404(client, world, path):
    sign_in(client, "mira@example.org")
    assert client.get(path).status_code == 404
