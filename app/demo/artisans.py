"""The demo atelier's artisans: two staff with published profiles who take consultations.

Their logins are not usable (the password hash matches no password): they exist to be credited
and booked, not to sign in. Portraits and signatures are small pictures drawn with Pillow, once,
and only when the seed draws artwork.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image, ImageDraw

from app.accounts.artisans import ArtisanProfile, profile_of
from app.accounts.models import Role, User
from app.atelier import images
from app.booking.services.calendars import update_artisan_calendar
from app.common.uploads import store_upload
from app.extensions import db

# No password hashes to this (werkzeug refuses a hash without a method): sign-in always fails.
NO_LOGIN = "!demo-artisan"
PORTRAIT_SIDE = 160
SIGNATURE_SIZE = (240, 80)


@dataclass(frozen=True)
class DemoArtisan:
    email: str
    name: str
    slug: str
    bio: str
    specialities: str
    backdrop: tuple[int, int, int]
    tone: tuple[int, int, int]
    meeting_link: str | None = None


DEMO_ARTISANS = (
    DemoArtisan(
        email="elodie@atelier.diadem.test",
        name="Élodie Marchand",
        slug="elodie-marchand",
        bio="Trained in Paris as a chaser; she raises every crown band from the sheet by hand.",
        specialities="hand-chasing, goldsmithing, bespoke commissions",
        backdrop=(74, 40, 62),
        tone=(222, 184, 150),
        meeting_link="https://meet.diadem.test/elodie",
    ),
    DemoArtisan(
        email="tomas@atelier.diadem.test",
        name="Tomás Reyes",
        slug="tomas-reyes",
        bio="Sets the stones and threads the pearls; ask him about reusing heirloom stones.",
        specialities="stone setting, pearl work",
        backdrop=(30, 58, 72),
        tone=(176, 124, 92),
    ),
)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def draw_portrait(demo: DemoArtisan) -> bytes:
    """A small head-and-shoulders silhouette on the artisan's colour."""
    side = PORTRAIT_SIDE
    image = Image.new("RGB", (side, side), demo.backdrop)
    draw = ImageDraw.Draw(image)
    coat = tuple(min(255, c + 40) for c in demo.backdrop)
    draw.ellipse((side * 0.12, side * 0.66, side * 0.88, side * 1.3), fill=coat)
    draw.ellipse((side * 0.32, side * 0.2, side * 0.68, side * 0.62), fill=demo.tone)
    hair = tuple(c // 3 for c in demo.tone)
    draw.chord((side * 0.3, side * 0.16, side * 0.7, side * 0.5), 180, 360, fill=hair)
    return _png(image)


def draw_signature(demo: DemoArtisan) -> bytes:
    """A looping ink line on a transparent background, different for each name."""
    width, height = SIGNATURE_SIZE
    image = Image.new("RGBA", SIGNATURE_SIZE, (0, 0, 0, 0))
    seed = sum(map(ord, demo.slug))
    points = [
        (
            12 + (width - 24) * t / 120 + 9 * math.sin(t * (0.5 + seed % 5 / 10)),
            height / 2 + 22 * math.sin(t / 7 + seed) * math.cos(t / 19),
        )
        for t in range(121)
    ]
    ImageDraw.Draw(image).line(points, fill=(24, 22, 60, 255), width=3, joint="curve")
    return _png(image)


def _staff_user(demo: DemoArtisan) -> User:
    user = db.session.execute(db.select(User).where(User.email == demo.email)).scalar_one_or_none()
    if user is None:
        user = User(email=demo.email, name=demo.name, role=Role.STAFF.value)
        user.password_hash = NO_LOGIN
        db.session.add(user)
        db.session.flush()
    return user


def seed_artisans(*, draw_pictures: bool = True) -> int:
    """Add the demo artisans (idempotent); return how many profiles were new."""
    created = 0
    for demo in DEMO_ARTISANS:
        user = _staff_user(demo)
        profile = profile_of(user.id)
        if profile is None:
            profile = ArtisanProfile(
                user_id=user.id,
                display_name=demo.name,
                slug=demo.slug,
                bio=demo.bio,
                specialities=demo.specialities,
                published=True,
                meeting_link=demo.meeting_link,
            )
            db.session.add(profile)
            db.session.flush()
            # Only when new: a second seed leaves staff's later calendar choices alone.
            update_artisan_calendar(
                artisan_id=profile.id, takes_consultations=True, own_hours=False, weekly_hours={}
            )
            created += 1
        if draw_pictures and profile.portrait_key is None:
            portrait = images.clean_portrait(draw_portrait(demo))
            profile.portrait_key = store_upload(portrait, folder="artisans").name
        if draw_pictures and profile.signature_key is None:
            signature = images.clean_signature(draw_signature(demo))
            profile.signature_key = store_upload(signature, folder="signatures").name
    return created
