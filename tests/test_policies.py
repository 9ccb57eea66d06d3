"""Published policies: the quality page is the QC checklist staff fill in, and the materials
policy is text admins edit (escaped, never HTML), cached for guests and refreshed on save."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select

from app.accounts.models import Role
from app.catalog.models import PolicyPage
from app.common.transactions import atomic
from app.demo.seed import seed_demo
from app.domain import production
from app.extensions import db
from app.qc.forms import QcForm
from app.staff import policies
from tests.factories import make_product
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD, make_fast_user

EDIT = "/staff/capacity/policies/materials"
PUBLIC = "/policies/materials"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _client(app, email: str, role: Role):
    with app.app_context():
        make_fast_user(email=email, name=f"{role.value.capitalize()} Person", role=role)
    client = app.test_client()
    login(client, email=email, password=PASSWORD)
    return client


def _save(client, body: str, title: str = "Materials policy"):
    token = csrf_token(client, EDIT)
    return client.post(EDIT, data={"csrf_token": token, "title": title, "body": body})


# --- /quality -------------------------------------------------------------------------------


def test_quality_page_is_the_qc_checklist_staff_fill_in(app, client):
    response = client.get("/quality")
    assert response.status_code == 200
    page = text(response)
    # Every item of the checklist, in its order, with its label and what it means.
    codes = re.findall(r'data-qc-item="([^"]+)"', page)
    assert codes == [item.code for item in production.QC_TEMPLATE]
    for item in production.QC_TEMPLATE:
        assert item.label in page and item.help in page
    # The grades and which pass, and the weight tolerance, as the check applies them.
    grades = re.findall(r'data-grade="([^"]+)"', page)
    assert grades == list(production.FINISH_GRADES)
    for code, label in production.FINISH_GRADES.items():
        verdict = "passes" if code in production.PASSING_FINISH_GRADES else "does not pass"
        assert f"{label} — {verdict}" in page
    assert f"±{production.WEIGHT_TOLERANCE_PERMILLE / 10:g} %" in page
    # The pass/fail questions of the form staff tick are the items published here.
    with app.test_request_context():
        form = QcForm(meta={"csrf": False})
        for name in ("stone_tightness", "solder_integrity", "hallmark_present", "finish_grade"):
            assert form[name].label.text in page, name
        assert [choice.value for choice in form.finish_grade.choices] == grades


def test_quality_page_follows_the_checklist_when_it_changes(client, monkeypatch):
    extra = production.QcItem("clasp", "Comb clasp", "The combs grip and release smoothly.")
    monkeypatch.setattr(production, "QC_TEMPLATE", (*production.QC_TEMPLATE, extra))
    page = text(client.get("/quality"))
    assert 'data-qc-item="clasp"' in page and "The combs grip and release smoothly." in page


# --- /policies/materials --------------------------------------------------------------------


def test_the_default_materials_policy_is_shown_until_an_admin_saves_one(client):
    page = text(client.get(PUBLIC))
    assert "Materials policy" in page
    assert "Lab-grown stones are always called lab-grown." in page
    assert page.count("<p>") >= len(policies.split_paragraphs(policies.MATERIALS_DEFAULT))


def test_an_admin_edits_the_policy_and_it_is_shown_escaped_in_paragraphs(app):
    admin = _client(app, "owner@example.com", Role.ADMIN)
    editor = text(admin.get(EDIT))
    assert "Nothing has been saved yet" in editor
    assert "Lab-grown stones are always called lab-grown." in editor  # prefilled with the default
    body = (
        "Gold: recycled <b>only</b>.\r\n"
        "Second line of the first paragraph.\r\n\r\n"
        "<script>alert('x')</script> & stones are named.\n  \n\nLast paragraph."
    )
    response = _save(admin, body, title="Our materials")
    assert response.status_code == 302
    raw = app.test_client().get(PUBLIC).get_data(as_text=True)
    assert "<script>" not in raw and "<b>only</b>" not in raw
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; stones are named." in raw
    assert (
        "<p>Gold: recycled &lt;b&gt;only&lt;/b&gt;.<br>Second line of the first paragraph.</p>"
        in raw
    )
    assert "<p>Last paragraph.</p>" in raw and "<h1>Our materials</h1>" in raw
    assert "Lab-grown stones" not in raw
    with app.app_context():
        [row] = db.session.execute(select(PolicyPage)).scalars()
        assert row.slug == "materials" and row.title == "Our materials"
        assert row.updated_by_id is not None
    assert "Admin Person" in text(admin.get(EDIT))


def test_an_empty_policy_or_title_is_refused(app):
    admin = _client(app, "owner@example.com", Role.ADMIN)
    for title, body in (("Materials policy", "   "), ("", "Some text"), ("T", "x" * 20_001)):
        response = _save(admin, body, title=title)
        assert response.status_code == 400
        assert 'class="errors"' in text(response)
    with app.app_context():
        assert db.session.execute(select(PolicyPage)).first() is None


def test_only_admins_edit_policies(app):
    guest = app.test_client()
    response = guest.get(EDIT)
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]
    staff = _client(app, "bench@example.com", Role.STAFF)
    assert staff.get(EDIT).status_code == 403
    token = csrf_token(staff, "/staff/capacity")
    response = staff.post(EDIT, data={"csrf_token": token, "title": "T", "body": "Hacked"})
    assert response.status_code == 403
    admin = _client(app, "owner@example.com", Role.ADMIN)
    assert admin.post(EDIT, data={"title": "T", "body": "No token"}).status_code == 400
    assert admin.get("/staff/capacity/policies/unknown").status_code == 404
    with app.app_context():
        assert db.session.execute(select(PolicyPage)).first() is None


def test_saving_a_policy_refreshes_the_guests_cached_page(app):
    app.config["PAGE_CACHE_SECONDS"] = 60
    guest = app.test_client()
    assert guest.get(PUBLIC).headers.get("X-Page-Cache") == "miss"
    assert guest.get(PUBLIC).headers.get("X-Page-Cache") == "hit"
    assert guest.get("/quality").headers.get("X-Page-Cache") == "miss"
    admin = _client(app, "owner@example.com", Role.ADMIN)
    assert _save(admin, "Everything is recycled gold.").status_code == 302
    fresh = guest.get(PUBLIC)
    assert fresh.headers.get("X-Page-Cache") == "miss"
    assert "Everything is recycled gold." in text(fresh)


def test_the_demo_seed_publishes_the_default_policy_once(app):
    with app.app_context():
        for _ in range(2):
            with atomic():
                seed_demo(media_root=app.config["MEDIA_ROOT"], draw_artwork=False)
        rows = db.session.execute(select(func.count(PolicyPage.id))).scalar_one()
        assert rows == 1
        assert policies.get_policy("materials").body == policies.MATERIALS_DEFAULT
    assert "Lab-grown stones are always called lab-grown." in text(app.test_client().get(PUBLIC))


def test_the_product_story_links_to_the_policies(app, client):
    with app.app_context():
        make_product("linked-crown")
    page = text(client.get("/shop/linked-crown"))
    story = page[page.index('class="story"') :]
    assert 'href="/quality"' in story and 'href="/policies/materials"' in story
