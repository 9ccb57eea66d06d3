"""Pictures and profiles for the atelier tests."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, PngImagePlugin

from app.atelier import services
from app.common.transactions import atomic


def signature_png(size: tuple[int, int] = (180, 60), *, text_chunk: str | None = None) -> bytes:
    """A dark-blue scrawl on a transparent background, optionally with a PNG text chunk."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.line([(8, 40), (40, 12), (70, 48), (110, 10), (170, 44)], fill=(20, 30, 90, 255), width=5)
    draw.ellipse((120, 20, 150, 50), outline=(20, 30, 90, 160), width=3)
    info = None
    if text_chunk:
        info = PngImagePlugin.PngInfo()
        info.add_text("Author", text_chunk)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def photo(fmt: str = "JPEG", size: tuple[int, int] = (40, 50), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, "teal" if mode == "RGB" else (0, 128, 128, 255)).save(out, format=fmt)
    return out.getvalue()


def give_profile(
    user_id: int, name: str, slug: str, *, published: bool = True, signature: bytes | None = None
) -> None:
    with atomic():
        services.save_profile(
            user_id=user_id,
            data=services.ProfileInput(
                display_name=name,
                slug=slug,
                bio="Twenty years at the bench.",
                specialities="hand-chasing, stone setting",
                published=published,
                signature=signature,
            ),
        )
