"""Hand-finish proofs may be short videos: upload, request limits, display and permission checks."""

from __future__ import annotations

import io
import re

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from app.checkout import services as checkout
from app.common.transactions import atomic
from app.common.uploads import MAX_VIDEO_BYTES, uploads_root
from app.extensions import db
from app.staff import services as staff
from app.staff.models import DesignFile, DesignRound
from app.staff.views import DESIGN_REQUEST_BYTES
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD, only_line, paid_order, png_bytes

MB = 1024 * 1024


def iso_box(kind: bytes, payload: bytes) -> bytes:
    return (8 + len(payload)).to_bytes(4, "big") + kind + payload


def mp4_bytes(size: int = 0) -> bytes:
    """A minimal MP4 (ftyp, moov, mdat), its mdat padded with zeros to ``size`` bytes in all."""
    ftyp = iso_box(b"ftyp", b"isom" + (512).to_bytes(4, "big") + b"isomiso2avc1mp41")
    head = ftyp + iso_box(b"moov", iso_box(b"mvhd", bytes(100)))
    return head + iso_box(b"mdat", bytes(max(size - len(head) - 8, 64)))


def move(line_id: int, target: str, by: int) -> None:
    with atomic():
        staff.move_line(order_line_id=line_id, target=target, expected_stage=None, by_user_id=by)


@pytest.fixture
def at_cad(app, atelier):
    """A custom commission waiting for its CAD render."""
    with app.app_context():
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.custom_product_id)
        line = only_line(order)
        move(line.id, "cad_design", atelier.artisan_id)
        return order.number, line.id


@pytest.fixture
def at_finishing(app, atelier, at_cad):
    """The same commission with its CAD render approved, now in hand finishing."""
    number, line_id = at_cad
    with app.app_context():
        with atomic():
            cad = staff.send_design_round(
                order_line_id=line_id,
                kind="cad",
                files=[(png_bytes(), "Front view")],
                message="",
                by_user_id=atelier.artisan_id,
            )
        approve_cad(number, cad.id, atelier)  # the line moves on to casting
        move(line_id, "hand_finishing", atelier.artisan_id)
    return number, line_id


def approve_cad(number: str, round_id: int, atelier) -> None:
    with atomic():
        staff.decide_design_round(
            order=checkout.get_order_by_number(number),
            round_id=round_id,
            approve=True,
            comment="",
            by_user_id=atelier.customer_id,
        )


def post(client, url: str, fields: dict, files=()) -> tuple[int, str | None]:
    """POST multipart data; return the status and the redirect target.

    The body is encoded in memory: the test client would spool a large one to a temporary file
    that it leaves open when it does not follow redirects (a ResourceWarning).
    """
    data = MultiDict(fields)
    for content, name in files:
        data.add("files", FileStorage(io.BytesIO(content), filename=name))
    boundary, body = encode_multipart(data)
    with client.post(
        url, data=body, content_type=f'multipart/form-data; boundary="{boundary}"'
    ) as response:
        return response.status_code, response.location


def post_design(client, number, line_id, kind, files, *, follow=True):
    page = f"/staff/orders/{number}"
    status, location = post(
        client,
        f"{page}/lines/{line_id}/designs",
        {
            "csrf_token": csrf_token(client, page),
            "kind": kind,
            "message": "Here it is, turning in the light.",
        },
        files,
    )
    if not follow:
        return status, location
    assert status == 302, status
    return client.get(location)


def rounds(app) -> list[DesignRound]:
    with app.app_context():
        return list(db.session.execute(db.select(DesignRound).order_by(DesignRound.id)).scalars())


def test_proof_video_is_shown_and_served_only_to_the_orders_owner(app, client, at_finishing):
    number, line_id = at_finishing
    video = mp4_bytes(4096)
    login(client, "mira@example.org", PASSWORD)
    form_html = client.get(f"/staff/orders/{number}").get_data(as_text=True)
    assert "Proof photos or a short video" in form_html and "video/mp4" in form_html
    html = post_design(
        client, number, line_id, "proof", [(video, "proof.mp4"), (png_bytes(), "p.png")]
    ).get_data(as_text=True)
    assert "Hand-finish proof, round 1 sent to the customer" in html
    with app.app_context():
        video_file, photo = db.session.execute(
            db.select(DesignFile).order_by(DesignFile.id).where(DesignFile.round.has(kind="proof"))
        ).scalars()
        assert (video_file.content_type, photo.content_type) == ("video/mp4", "image/png")
        assert video_file.upload_name.endswith(".mp4")
        file_id, photo_id = video_file.id, photo.id
    staff_src = f"/staff/orders/{number}/designs/{file_id}"
    assert f'<video controls preload="metadata" src="{staff_src}"' in html
    assert f'<img src="/staff/orders/{number}/designs/{photo_id}"' in html
    with client.get(staff_src) as served:
        assert served.status_code == 200 and served.mimetype == "video/mp4"
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/account")})

    # The customer sees a playable video with a download link, and the photo as an image.
    login(client, "bea@example.com", PASSWORD)
    html = client.get(f"/account/orders/{number}").get_data(as_text=True)
    src = f"/account/orders/{number}/design-files/{file_id}"
    assert "Please review: Hand-finish proof, round 1" in html
    assert re.search(rf'<video controls preload="metadata" src="{re.escape(src)}"', html)
    assert f'<a href="{src}" download>Download the video (MP4)</a>' in html
    assert f'<img src="/account/orders/{number}/design-files/{photo_id}"' in html
    assert f'<img src="{src}"' not in html
    with client.get(src) as served:
        assert served.status_code == 200
        assert served.headers["Content-Type"] == "video/mp4"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        assert served.headers["Accept-Ranges"] == "bytes"
        assert served.get_data() == video
        assert served.headers["Content-Disposition"] == (
            f"inline; filename={number}-design-{file_id}.mp4"
        )
    # <video> seeks with Range requests: a partial answer of exactly those bytes.
    with client.get(src, headers={"Range": "bytes=100-299"}) as partial:
        assert partial.status_code == 206 and partial.mimetype == "video/mp4"
        assert partial.headers["Content-Range"] == f"bytes 100-299/{len(video)}"
        assert partial.get_data() == video[100:300]
    # A customer may not use the staff route.
    assert client.get(staff_src).status_code == 403
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/account")})

    # Another customer and a guest get 404, not the file.
    assert client.get(src).status_code == 404
    login(client, "cy@example.com", PASSWORD)
    assert client.get(src).status_code == 404
    assert client.get(src, headers={"Range": "bytes=0-10"}).status_code == 404
    assert "design-files" not in client.get(f"/account/orders/{number}").get_data(as_text=True)


def test_fake_and_misplaced_videos_are_refused(app, client, at_cad, atelier):
    number, line_id = at_cad
    login(client, "mira@example.org", PASSWORD)
    # CAD renders stay images or PDF: a real MP4 is refused with the usual message.
    html = post_design(client, number, line_id, "cad", [(mp4_bytes(), "render.mp4")]).get_data(
        as_text=True
    )
    assert "The file is not an image we can read (JPEG, PNG or WebP)." in html
    assert rounds(app) == []
    assert 'accept="image/jpeg,image/png,image/webp,application/pdf"' in html

    with app.app_context():
        with atomic():
            cad = staff.send_design_round(
                order_line_id=line_id,
                kind="cad",
                files=[(png_bytes(), "")],
                message="",
                by_user_id=atelier.artisan_id,
            )
        approve_cad(number, cad.id, atelier)
        move(line_id, "hand_finishing", atelier.artisan_id)
    # A text file named .mp4 is judged by its content, and nothing of the round is kept.
    html = post_design(
        client,
        number,
        line_id,
        "proof",
        [(png_bytes(), "good.png"), (b"just some text, honestly\n" * 20, "proof.mp4")],
    ).get_data(as_text=True)
    assert "The file is not an image or video we can read" in html
    assert [r.kind for r in rounds(app)] == ["cad"]


def test_large_proof_video_is_accepted_on_the_design_upload_only(app, client, at_finishing):
    number, line_id = at_finishing
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * MB < DESIGN_REQUEST_BYTES
    video = mp4_bytes(17 * MB)  # over the app-wide request limit, under the video limit
    login(client, "bea@example.com", PASSWORD)
    # A customer posting the same body to the staff endpoint keeps the 16 MB limit.
    token = csrf_token(client, f"/account/orders/{number}")
    status, _ = post(
        client,
        f"/staff/orders/{number}/lines/{line_id}/designs",
        {"csrf_token": token, "kind": "proof"},
        [(video, "p.mp4")],
    )
    assert status == 413
    client.post("/account/logout", data={"csrf_token": token})

    login(client, "mira@example.org", PASSWORD)
    page = f"/staff/orders/{number}"
    # Other staff endpoints keep the app-wide limit too.
    status, _ = post(
        client,
        f"{page}/lines/{line_id}/move",
        {"csrf_token": csrf_token(client, page), "target": "qc", "note": "x" * (17 * MB)},
    )
    assert status == 413

    html = post_design(client, number, line_id, "proof", [(video, "proof.mp4")]).get_data(
        as_text=True
    )
    assert "Hand-finish proof, round 1 sent to the customer" in html
    with app.app_context():
        stored = db.session.execute(
            db.select(DesignFile).where(DesignFile.content_type == "video/mp4")
        ).scalar_one()
        assert (uploads_root() / stored.upload_name).stat().st_size == len(video)


def test_video_and_request_limits_have_clear_messages(app, client, at_finishing):
    number, line_id = at_finishing
    login(client, "mira@example.org", PASSWORD)
    too_long = mp4_bytes(MAX_VIDEO_BYTES + 1)
    html = post_design(client, number, line_id, "proof", [(too_long, "long.mp4")]).get_data(
        as_text=True
    )
    assert "The video is over 50 MB; please send a shorter clip." in html
    status, location = post_design(
        client, number, line_id, "proof", [(too_long, "a.mp4"), (too_long, "b.mp4")], follow=False
    )
    assert status == 302 and location.endswith(f"/staff/orders/{number}#line-{line_id}")
    html = client.get(location).get_data(as_text=True)
    assert "That upload is over 64 MB in total. Send videos of up to 50 MB" in html
    assert [r.kind for r in rounds(app)] == ["cad"]
