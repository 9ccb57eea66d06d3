"""With the uploads in an S3 bucket, repair photos are still served only after the checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.common.storage import uploads_storage
from app.common.transactions import atomic
from app.repairs import services as repairs
from tests.helpers import login
from tests.staff.builders import PASSWORD, png_bytes


@pytest.fixture
def s3_app(app, s3_settings):
    app.config.update(s3_settings)
    return app


def test_repair_photos_in_a_bucket_are_served_to_the_owner_and_staff_only(
    s3_app, client, atelier, delivered
):
    _, line_id = delivered
    with s3_app.app_context():
        with atomic():
            ticket = repairs.request_repair(
                user_id=atelier.customer_id,
                order_line_id=line_id,
                description="The hallmark area is scratched.",
                preferred_return_on=None,
                photos=[png_bytes()],
            )
        ticket_id, photo = ticket.id, ticket.photos[0]
        photo_id, name = photo.id, photo.upload_name
        assert uploads_storage().location.startswith("s3://")
        assert uploads_storage().read(name) == png_bytes()
    assert not Path(s3_app.config["UPLOADS_ROOT"]).exists()  # nothing on this server's disk
    url = f"/account/repairs/{ticket_id}/photos/{photo_id}"

    assert client.get(url).status_code == 302  # sign in first
    login(client, "cy@example.com", PASSWORD)
    assert client.get(url).status_code == 404
    assert client.get(f"/staff/repairs/{ticket_id}/photos/{photo_id}").status_code == 403

    owner = s3_app.test_client()
    login(owner, "bea@example.com", PASSWORD)
    with owner.get(url) as response:
        assert response.status_code == 200
        assert response.mimetype == "image/png"
        assert response.data == png_bytes()
        assert response.headers["Cache-Control"] == "private, no-store"
    staff = s3_app.test_client()
    login(staff, "theo@example.org", PASSWORD)
    with staff.get(f"/staff/repairs/{ticket_id}/photos/{photo_id}") as response:
        assert response.status_code == 200
        assert response.data == png_bytes()
