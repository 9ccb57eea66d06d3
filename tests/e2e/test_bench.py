"""Hand finishing in a real browser: an admin sets the crown standard, the artisan records bench
time with a photo, QC is refused below the minimum, an admin records an override, QC passes and
the chosen bench photo shows on the passport."""

from __future__ import annotations

import os

import pytest

from app.accounts.models import Role
from app.common.transactions import atomic
from app.staff import services as staff
from tests.e2e.conftest import screenshot
from tests.e2e.test_staff import press, sign_in, sign_out
from tests.staff.builders import build_atelier, make_fast_user, only_line, paid_order, png_bytes

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        bool(os.environ.get("DIADEM_TEST_DATABASE_URL")),
        reason="the browser's side only: the gate and override queries have PostgreSQL tests",
    ),
]


@pytest.fixture
def in_hand_finishing(app, tmp_path):
    app.config["UPLOADS_ROOT"] = str(tmp_path / "uploads")
    with app.app_context():
        atelier = build_atelier()
        make_fast_user(email="ada@example.org", name="Ada Admin", role=Role.ADMIN)
        order = paid_order(user_id=atelier.customer_id, product_id=atelier.studio_product_id)
        line_id = only_line(order).id
        with atomic():
            staff.move_line(
                order_line_id=line_id,
                target="hand_finishing",
                expected_stage=None,
                by_user_id=atelier.artisan_id,
            )
        return order.number, line_id


def flashes(page) -> str:
    return page.locator(".flashes").inner_text()


def shoot(page, name: str) -> None:
    """The page at the desk's width and a phone's, for a person to look at."""
    screenshot(page, f"{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_bench_time_gates_qc_until_an_admin_overrides(
    in_hand_finishing, live_server, page, tmp_path
):
    number, line_id = in_hand_finishing
    base = live_server
    photo = tmp_path / "bench.png"
    photo.write_bytes(png_bytes((64, 48), "goldenrod"))

    sign_in(page, base, "ada@example.org")
    page.goto(f"{base}/staff/bench/standards")
    page.fill("#min-minutes-crown", "90")
    press(page, "Save the crown standard")
    assert "standard for crowns saved" in flashes(page)
    sign_out(page)

    sign_in(page, base, "mira@example.org")
    page.goto(f"{base}/staff/orders/{number}")
    page.get_by_role("link", name="Bench record").click()
    page.fill("#minutes", "30")
    page.fill("#tools", "needle files, burnisher")
    page.set_input_files("#files", str(photo))
    press(page, "Record bench time")
    assert "Recorded 30 minutes" in flashes(page)
    assert page.locator(".bench-sessions img").count() == 1
    shoot(page, "bench-record")
    press(page, "Show on the passport")
    page.goto(f"{base}/staff/orders/{number}")
    press(page, "Hand finishing done: send to QC")
    sign_out(page)

    sign_in(page, base, "theo@example.org")
    qc = f"{base}/staff/orders/{number}/lines/{line_id}/qc"
    page.goto(qc)
    assert "below the minimum" in page.locator(".bench-beside-qc").inner_text()

    def fill_qc() -> None:
        for name in ("stone_tightness", "solder_integrity", "hallmark_present"):
            page.check(f"input[name={name}][value=pass]")
        page.fill("#measured_grams", "100.2")
        page.check("input[name=finish_grade][value=A]")
        press(page, "Record the check")

    fill_qc()
    assert "30 of the 90 minutes" in page.locator("[role=alert]").inner_text()
    shoot(page, "bench-qc-refused")
    sign_out(page)

    sign_in(page, base, "ada@example.org")
    page.goto(qc)
    page.fill("#reason", "Setting repaired by the master; finish approved at the loupe")
    press(page, "Record an override")
    assert "Override recorded" in flashes(page)
    assert "Ada Admin" in page.locator("[data-testid=override]").inner_text()
    shoot(page, "bench-qc-override")
    sign_out(page)

    sign_in(page, base, "theo@example.org")
    page.goto(qc)
    fill_qc()
    assert "QC passed" in flashes(page)
    passport = page.get_by_role("link", name="public page").get_attribute("href")
    page.get_by_role("link", name="Check #1").click()
    assert "finish approved at the loupe" in page.locator(".qc-override").inner_text()

    page.goto(f"{base}{passport}")
    bench = page.locator(".from-the-bench img")
    assert bench.count() == 1
    bench.scroll_into_view_if_needed()  # it loads lazily
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=bench.element_handle()
    )
    assert page.evaluate("(img) => img.naturalWidth", bench.element_handle()) == 64
    shoot(page, "bench-passport")
