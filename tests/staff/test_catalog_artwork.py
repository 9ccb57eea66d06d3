"""Staff add, describe, order and remove catalogue photos; buyers see them in the gallery."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from app.catalog.models import ProductImage
from app.common.storage import media_storage
from app.extensions import db
from tests.factories import make_product
from tests.helpers import csrf_token, login
from tests.staff.builders import PASSWORD

BASE = "/staff/catalog/artwork"


def photo(size=(1000, 750), colour="gold", fmt="JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def product_id(app, atelier):
    with app.app_context():
        return make_product("marina-tiara", kind="tiara", metals=("yellow-gold", "silver")).id


@pytest.fixture
def staff(client, atelier):
    login(client, "mira@example.org", PASSWORD)
    return client


def upload(client, product_id, *, data=None, name="crown.jpg", alt="The tiara", metal="", **kw):
    token = csrf_token(client, f"{BASE}/{product_id}")
    form = {"csrf_token": token, "alt": alt, "metal": metal, **kw}
    if data is not False:
        form["photo"] = (io.BytesIO(photo() if data is None else data), name)
    return client.post(f"{BASE}/{product_id}", data=form, content_type="multipart/form-data")


def images(app, product_id) -> list[ProductImage]:
    with app.app_context():
        return list(
            db.session.execute(
                db.select(ProductImage)
                .where(ProductImage.product_id == product_id)
                .order_by(ProductImage.position)
            ).scalars()
        )


def text(response) -> str:
    return response.get_data(as_text=True)


# --- who may --------------------------------------------------------------------------------


def test_guests_are_sent_to_sign_in(client, product_id):
    for response in (
        client.get(f"{BASE}/"),
        client.get(f"{BASE}/{product_id}"),
        client.post(f"{BASE}/{product_id}"),
        client.post(f"{BASE}/{product_id}/1/move"),
        client.post(f"{BASE}/{product_id}/1/delete"),
    ):
        assert response.status_code in (302, 400)
        if response.status_code == 302:
            assert "/account/login" in response.location


def test_customers_are_refused(client, product_id):
    login(client, "bea@example.com", PASSWORD)
    assert client.get(f"{BASE}/{product_id}").status_code == 403
    token = csrf_token(client, "/account")
    response = client.post(
        f"{BASE}/{product_id}",
        data={"csrf_token": token, "alt": "x", "photo": (io.BytesIO(photo()), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 403


def test_a_post_without_the_csrf_token_is_refused(staff, app, product_id):
    response = staff.post(
        f"{BASE}/{product_id}",
        data={"alt": "Front", "photo": (io.BytesIO(photo()), "a.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert images(app, product_id) == []


def test_staff_see_the_index_and_an_unknown_product_is_404(staff, product_id):
    page = staff.get(f"{BASE}/")
    assert page.status_code == 200 and "Marina Tiara" in text(page)
    assert staff.get(f"{BASE}/999999").status_code == 404


# --- uploading ------------------------------------------------------------------------------


def test_upload_adds_a_sized_photo_tied_to_a_metal(staff, app, product_id):
    response = upload(
        staff, product_id, data=photo((2400, 1800)), alt="Marina in silver", metal="silver"
    )
    assert response.status_code == 302
    (image,) = images(app, product_id)
    assert image.alt == "Marina in silver"
    assert [v["width"] for v in image.variants] == [240, 480, 960, 1600]
    assert (image.width, image.height) == (1600, 1200)
    page = staff.get(response.location)
    assert "Photo added (1600 × 1200 px, 4 sizes)" in text(page)
    assert "Shows Sterling silver" in text(page)
    with app.app_context():
        for variant in image.variants:
            assert media_storage().exists(variant["path"])


def test_a_jpeg_named_png_is_taken_for_what_it_is(staff, app, product_id):
    response = upload(staff, product_id, data=photo(), name="crown.png", alt="Front")
    assert response.status_code == 302
    (image,) = images(app, product_id)
    assert image.path.endswith(".jpg")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"These are not the pixels you are looking for.\n" * 10, "crown.jpg", "not an image"),
        (photo(fmt="GIF"), "crown.png", "Only JPEG, PNG or WebP"),
        (photo((200, 200)), "small.jpg", "at least 320 pixels"),
    ],
    ids=["text", "gif-named-png", "too-small"],
)
def test_refused_files_answer_400_with_the_reason(staff, app, product_id, data, name, message):
    response = upload(staff, product_id, data=data, name=name, alt="Front")
    assert response.status_code == 400
    assert message in text(response)
    assert 'value="Front"' in text(response)  # what staff typed is kept
    assert images(app, product_id) == []


def test_a_decompression_bomb_is_refused_with_400(staff, app, product_id):
    from tests.catalog.test_artwork_uploads import png_claiming

    response = upload(staff, product_id, data=png_claiming(12_000, 12_000), name="bomb.png")
    assert response.status_code == 400
    assert "over 40 megapixels" in text(response)
    assert images(app, product_id) == []


def test_alt_text_and_a_file_are_required(staff, app, product_id):
    response = upload(staff, product_id, alt="")
    assert response.status_code == 400 and "Describe the picture" in text(response)
    response = upload(staff, product_id, data=False)
    assert response.status_code == 400 and "Choose a photo" in text(response)
    assert images(app, product_id) == []


def test_the_metal_must_be_one_the_product_is_offered_in(staff, app, product_id):
    response = upload(staff, product_id, metal="platinum")
    assert response.status_code == 400
    assert "not made in &#39;platinum&#39;" in text(response)
    assert "offered in 18k yellow gold, Sterling silver" in text(response)
    assert images(app, product_id) == []


# --- describing, ordering, removing ----------------------------------------------------------


def test_reorder_edit_and_delete(staff, app, product_id):
    for alt in ("First", "Second", "Third"):
        assert upload(staff, product_id, alt=alt).status_code == 302
    first, second, third = (image.id for image in images(app, product_id))
    token = csrf_token(staff, f"{BASE}/{product_id}")

    response = staff.post(
        f"{BASE}/{product_id}/{third}/move", data={"csrf_token": token, "move": "first"}
    )
    assert response.status_code == 302
    assert [i.id for i in images(app, product_id)] == [third, first, second]
    staff.post(f"{BASE}/{product_id}/{first}/move", data={"csrf_token": token, "move": "down"})
    assert [i.id for i in images(app, product_id)] == [third, second, first]
    bad = staff.post(f"{BASE}/{product_id}/{first}/move", data={"csrf_token": token, "move": "x"})
    assert bad.status_code == 400

    response = staff.post(
        f"{BASE}/{product_id}/{second}",
        data={
            "csrf_token": token,
            f"photo-{second}-alt": "Second, from the side",
            f"photo-{second}-metal": "yellow-gold",
        },
    )
    assert response.status_code == 302
    edited = next(i for i in images(app, product_id) if i.id == second)
    assert edited.alt == "Second, from the side" and edited.metal_id is not None
    refused = staff.post(
        f"{BASE}/{product_id}/{second}",
        data={"csrf_token": token, f"photo-{second}-alt": "x", f"photo-{second}-metal": "platinum"},
    )
    assert refused.status_code == 400

    (gone,) = [i for i in images(app, product_id) if i.id == first]
    response = staff.post(f"{BASE}/{product_id}/{first}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert [i.id for i in images(app, product_id)] == [third, second]
    assert [i.position for i in images(app, product_id)] == [0, 1]
    with app.app_context():
        assert not any(media_storage().exists(v["path"]) for v in gone.variants)
    missing = staff.post(f"{BASE}/{product_id}/{first}/delete", data={"csrf_token": token})
    assert missing.status_code == 404


def test_a_picture_of_another_product_is_404(staff, app, product_id, atelier):
    upload(staff, product_id, alt="Marina")
    (image,) = images(app, product_id)
    token = csrf_token(staff, f"{BASE}/{product_id}")
    other = atelier.studio_product_id
    for path in (f"{image.id}/move", f"{image.id}/delete"):
        response = staff.post(f"{BASE}/{other}/{path}", data={"csrf_token": token, "move": "up"})
        assert response.status_code == 404
    assert len(images(app, product_id)) == 1


# --- what buyers see ------------------------------------------------------------------------


def thumbnails(html: str) -> list[dict[str, str]]:
    buttons = re.findall(r"<button[^>]*data-gallery-thumb[^>]*>", html)
    return [dict(re.findall(r'(data-[a-z]+|aria-pressed)="([^"]*)"', b)) for b in buttons]


def main_image(html: str) -> str:
    found = re.search(r"<img[^>]*data-gallery-main[^>]*>", html)
    assert found, "the page shows no main picture"
    return found.group(0)


def test_the_product_page_offers_every_size_and_follows_the_metal(staff, client, app, product_id):
    upload(
        staff,
        product_id,
        data=photo((2000, 2000), "gold"),
        alt="Marina in gold",
        metal="yellow-gold",
    )
    upload(staff, product_id, data=photo((1200, 1200), "white"), alt="Marina on a bride")
    upload(
        staff, product_id, data=photo((800, 800), "silver"), alt="Marina in silver", metal="silver"
    )
    gold, worn, silver = images(app, product_id)

    html = text(client.get("/shop/marina-tiara"))  # the default metal: yellow gold
    main = main_image(html)
    assert 'alt="Marina in gold"' in main
    srcset = re.search(r'srcset="([^"]*)"', main).group(1)
    assert [int(w) for w in re.findall(r" (\d+)w", srcset)] == [240, 480, 960, 1600]
    for variant in gold.variants:
        assert f"/media/products/{variant['path']} {variant['width']}w" in srcset
    assert 'sizes="' in main and 'width="1600" height="1600"' in main
    thumbs = thumbnails(html)
    assert [t["data-metal"] for t in thumbs] == ["yellow-gold", "", "silver"]
    assert [t["aria-pressed"] for t in thumbs] == ["true", "false", "false"]
    assert [t["data-order"] for t in thumbs] == ["0", "1", "2"]
    assert "js/gallery.js" in html and "css/gallery.css" in html

    html = text(client.get("/shop/marina-tiara?metal=silver"))
    assert 'alt="Marina in silver"' in main_image(html)
    assert [t["data-metal"] for t in thumbnails(html)] == ["silver", "", "yellow-gold"]
    silver_srcset = thumbnails(html)[0]["data-srcset"]
    assert [int(w) for w in re.findall(r" (\d+)w", silver_srcset)] == [240, 480, 800]

    # The shop's card shows the first picture, with its sizes.
    shop = text(client.get("/shop"))
    card = re.search(r'<img[^>]*alt="Marina in gold"[^>]*>', shop).group(0)
    assert "srcset=" in card and "1600w" in card and "sizes=" in card


def test_pictures_without_sizes_still_show(app, client):
    # The demo's pictures have one file each and no variants.
    with app.app_context():
        product = make_product("plain-crown", metals=("yellow-gold", "silver"))
        for position, metal in enumerate(product.metals):
            db.session.add(
                ProductImage(
                    product=product,
                    path=f"plain-crown/catalog-{metal.code}.png",
                    metal_id=metal.id,
                    alt=f"Plain crown in {metal.name}",
                    position=position,
                )
            )
        db.session.commit()
    html = text(client.get("/shop/plain-crown?metal=silver"))
    main = main_image(html)
    assert "srcset" not in main and "plain-crown/catalog-silver.png" in main
    assert [t["data-metal"] for t in thumbnails(html)] == ["silver", "yellow-gold"]
    assert all(t["data-srcset"] == "" for t in thumbnails(html))
    card = re.search(r'<img[^>]*alt="Plain crown in [^"]*"[^>]*>', text(client.get("/shop"))).group(
        0
    )
    assert "srcset" not in card


def test_a_product_without_pictures_says_so(client, app):
    with app.app_context():
        make_product("bare-crown")
    html = text(client.get("/shop/bare-crown"))
    assert "gallery-empty" in html and "gallery.js" not in html


def test_guests_cached_pages_show_each_change_at_once(app, staff, client, product_id):
    app.config["PAGE_CACHE_SECONDS"] = 60
    guest = app.test_client()
    assert "gallery-empty" in text(guest.get("/shop/marina-tiara"))
    upload(staff, product_id, alt="Marina, front")
    assert 'alt="Marina, front"' in main_image(text(guest.get("/shop/marina-tiara")))
    upload(staff, product_id, alt="Marina, back")
    _front, back = (image.id for image in images(app, product_id))
    token = csrf_token(staff, f"{BASE}/{product_id}")
    staff.post(f"{BASE}/{product_id}/{back}/move", data={"csrf_token": token, "move": "first"})
    assert 'alt="Marina, back"' in main_image(text(guest.get("/shop/marina-tiara")))
    staff.post(f"{BASE}/{product_id}/{back}/delete", data={"csrf_token": token})
    assert 'alt="Marina, front"' in main_image(text(guest.get("/shop/marina-tiara")))
    assert 'alt="Marina, back"' not in text(guest.get("/shop/marina-tiara"))
