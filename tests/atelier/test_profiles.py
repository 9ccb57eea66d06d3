"""Artisan profiles: who may edit them, what their pictures must be, what the public sees."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.accounts.artisans import ArtisanProfile
from app.accounts.models import Role
from app.atelier import images
from app.common.storage import uploads_storage
from app.common.uploads import UploadError
from app.extensions import db
from tests.atelier.builders import give_profile, photo, signature_png
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD, make_fast_user


def _post_profile(client, user_id: int, **fields):
    token = csrf_token(client, "/staff/atelier/")
    data = {"csrf_token": token, "display_name": "Mira G.", "slug": "", **fields}
    return client.post(f"/staff/atelier/{user_id}", data=data, content_type="multipart/form-data")


def test_an_artisan_publishes_their_own_profile_with_portrait_and_signature(app, client, atelier):
    login(client, "mira@example.org", PASSWORD)
    response = _post_profile(
        client,
        atelier.artisan_id,
        display_name="Mira Goldsmith",
        specialities="hand-chasing,  stone setting",
        bio="Chases every scroll by hand.",
        published="y",
        portrait=(io.BytesIO(photo()), "me.jpg"),
        signature=(io.BytesIO(signature_png()), "sig.png"),
    )
    assert response.status_code == 302
    index = client.get("/atelier").get_data(as_text=True)
    assert 'href="/atelier/mira-goldsmith"' in index and "hand-chasing · stone setting" in index
    page = client.get("/atelier/mira-goldsmith").get_data(as_text=True)
    assert "Chases every scroll by hand." in page and "mira@example.org" not in page
    for path, mimetype in (("portrait", "image/jpeg"), ("signature.png", "image/png")):
        with client.get(f"/atelier/mira-goldsmith/{path}") as picture:
            assert picture.status_code == 200 and picture.mimetype == mimetype


def test_unpublished_profiles_and_staff_without_one_are_not_public(app, client, atelier):
    with app.app_context():
        give_profile(atelier.artisan_id, "Mira Goldsmith", "mira", published=False)
    assert client.get("/atelier/mira").status_code == 404
    assert client.get("/atelier/mira/signature.png").status_code == 404
    assert "Mira" not in client.get("/atelier").get_data(as_text=True)
    assert "/atelier/mira" not in client.get("/sitemap.xml").get_data(as_text=True)
    with app.app_context():
        give_profile(atelier.artisan_id, "Mira Goldsmith", "mira")
    assert "http://diadem.test/atelier/mira<" in client.get("/sitemap.xml").get_data(as_text=True)


def test_staff_edit_only_their_own_profile_admins_any(app, client, atelier):
    with app.app_context():
        make_fast_user(email="ada@example.org", name="Ada Admin", role=Role.ADMIN)
    login(client, "theo@example.org", PASSWORD)
    assert 'href="/staff/atelier/"' in client.get("/staff").get_data(as_text=True)
    assert client.get(f"/staff/atelier/{atelier.artisan_id}").status_code == 403
    assert _post_profile(client, atelier.artisan_id, published="y").status_code == 403
    assert client.get(f"/staff/atelier/{atelier.checker_id}").status_code == 200
    assert client.get(f"/staff/atelier/{atelier.customer_id}").status_code == 403
    client.post("/account/logout", data={"csrf_token": csrf_token(client, "/account")})
    login(client, "ada@example.org", PASSWORD)
    assert _post_profile(client, atelier.artisan_id, published="y").status_code == 302
    assert client.get(f"/staff/atelier/{atelier.customer_id}").status_code == 404
    assert client.get("/atelier/mira-g").status_code == 200


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (photo("PNG"), "no transparent background"),
        (photo("JPEG"), "must be a PNG"),
        (signature_png((1700, 60)), "at most 1600×800"),
        (b"%PDF-1.4 not an image", "not an image we can read"),
    ],
)
def test_bad_signatures_get_a_400_that_says_why(app, client, atelier, upload, message):
    login(client, "mira@example.org", PASSWORD)
    response = _post_profile(client, atelier.artisan_id, signature=(io.BytesIO(upload), "sig.png"))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(db.select(ArtisanProfile)).first() is None


def test_a_taken_address_is_refused_with_a_message(app, client, atelier):
    with app.app_context():
        give_profile(atelier.checker_id, "Theo Setter", "theo")
    login(client, "mira@example.org", PASSWORD)
    response = _post_profile(client, atelier.artisan_id, slug="theo")
    assert response.status_code == 400
    assert "already uses the address /atelier/theo" in response.get_data(as_text=True)


def test_signature_is_stored_without_metadata_and_keeps_its_transparency(app):
    cleaned = images.clean_signature(signature_png(text_chunk="mira@example.org"))
    assert b"mira@example.org" not in cleaned
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.mode == "RGBA" and image.getchannel("A").getextrema() == (0, 255)
    with pytest.raises(UploadError, match="nothing in it is transparent"):
        images.clean_signature(photo("PNG", mode="RGBA"))


def test_a_large_portrait_is_shrunk_and_replacing_it_deletes_the_old_file(app, atelier):
    with app.app_context():
        from app.atelier import services
        from app.common.transactions import atomic

        def save(portrait: bytes):
            with atomic():
                return services.save_profile(
                    user_id=atelier.artisan_id,
                    data=services.ProfileInput(display_name="Mira", slug="mira", portrait=portrait),
                ).portrait_key

        first = save(photo(size=(1600, 900)))
        with Image.open(io.BytesIO(uploads_storage().read(first))) as image:
            assert image.size == (1200, 675)
        second = save(photo("PNG"))
        assert second != first and not uploads_storage().exists(first)
        with pytest.raises(UploadError, match="JPEG or PNG"):
            images.clean_portrait(photo("WEBP"))


def test_a_published_picture_is_kept_by_browsers_and_asked_again_each_time(app, client, atelier):
    """Public and revalidated: an unchanged picture costs a 304, a replaced one shows at once."""
    path = "/atelier/mira/signature.png"
    with app.app_context():
        give_profile(atelier.artisan_id, "Mira Goldsmith", "mira", signature=signature_png())
    with client.get(path) as first:
        assert first.status_code == 200
        assert first.cache_control.public and first.cache_control.no_cache
        assert not first.cache_control.no_store and first.cache_control.max_age == 0
        etag, data = first.headers["ETag"], first.data
    with client.get(path, headers={"If-None-Match": etag}) as again:
        assert again.status_code == 304
    with app.app_context():
        replaced = signature_png((240, 80))
        give_profile(atelier.artisan_id, "Mira Goldsmith", "mira", signature=replaced)
    with client.get(path, headers={"If-None-Match": etag}) as fresh:
        assert fresh.status_code == 200 and fresh.data != data
