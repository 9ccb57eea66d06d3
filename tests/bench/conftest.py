from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from PIL import Image

from app.accounts.models import Role
from app.common.transactions import atomic
from app.staff import services as staff
from tests.staff.builders import Atelier, build_atelier, make_fast_user, only_line, paid_order


@dataclass(frozen=True)
class BenchWorld:
    atelier: Atelier
    admin_id: int
    number: str
    line_id: int


@pytest.fixture(autouse=True)
def private_uploads(app, tmp_path):
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")


@pytest.fixture
def world(app) -> BenchWorld:
    """A paid studio crown in hand finishing, two staff, two customers and an admin."""
    with app.app_context():
        atelier = build_atelier()
        admin_id = make_fast_user(email="ada@example.org", name="Ada Admin", role=Role.ADMIN)
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        line_id = only_line(order).id
        with atomic():
            staff.move_line(
                order_line_id=line_id,
                target="hand_finishing",
                expected_stage=None,
                by_user_id=atelier.artisan_id,
            )
        return BenchWorld(atelier=atelier, admin_id=admin_id, number=order.number, line_id=line_id)


def jpeg_with_date(taken: str = "2026:12:01 10:30:00") -> bytes:
    """A small JPEG whose EXIF says when it was taken (and carries a camera model)."""
    image = Image.new("RGB", (40, 30), "silver")
    exif = Image.Exif()
    exif[272] = "BenchCam"  # Model: metadata that must not survive
    exif.get_ifd(0x8769)[36867] = taken
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()
