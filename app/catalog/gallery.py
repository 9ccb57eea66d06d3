"""A product's pictures as its page's gallery shows them: ordered for the chosen metal, links built.

The chosen metal's pictures come first, then those of any metal, then the other metals', each
in the order staff set (gallery.js does the same when the buyer picks another metal). The
template used to work this out in Jinja, with a macro call per link; here it is one pass over
the pictures per page, for both the public page's read model and staff's preview of the ORM
product (they have the same names: ``images``, ``metals``, ``default_metal``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

# A picture without its own measurements is drawn at this size (and its thumbnail at THUMB).
DEFAULT_SIZE = 560
THUMB = 96
MAIN_SIZES = "(max-width: 760px) calc(100vw - 4rem), (max-width: 1180px) calc(52vw - 3rem), 570px"


class _Image(Protocol):
    path: str
    alt: str
    metal_id: int | None
    width: int | None
    height: int | None
    variants: Iterable[Mapping[str, Any]] | None


class _Metal(Protocol):
    id: int
    code: str


class _Product(Protocol):
    images: Iterable[_Image]
    metals: Iterable[_Metal]
    default_metal: _Metal


@dataclass(frozen=True)
class Picture:
    order: int  # its place among the product's pictures as staff set them
    metal_code: str  # "" when it shows any metal
    src: str
    srcset: str  # "" when the picture has no smaller sizes
    alt: str
    width: int
    height: int
    thumb_src: str
    thumb_width: int
    thumb_height: int


@dataclass(frozen=True)
class Gallery:
    chosen: str  # the metal code the pictures are ordered for
    pictures: tuple[Picture, ...]
    sizes: str = MAIN_SIZES

    @property
    def main(self) -> Picture | None:
        return self.pictures[0] if self.pictures else None


def _picture(order: int, code: str, image: _Image, link: Callable[[str], str]) -> Picture:
    variants = list(image.variants or ())
    width, height = image.width or DEFAULT_SIZE, image.height or DEFAULT_SIZE
    thumb = variants[0] if variants else None
    thumb_width = int(thumb["width"]) if thumb else THUMB
    return Picture(
        order=order,
        metal_code=code,
        src=link(image.path),
        srcset=", ".join(f"{link(v['path'])} {v['width']}w" for v in variants),
        alt=image.alt,
        width=width,
        height=height,
        thumb_src=link(thumb["path"]) if thumb else link(image.path),
        thumb_width=thumb_width,
        thumb_height=int(round(height * thumb_width / width)),
    )


def build(product: _Product, chosen: str | None, link: Callable[[str], str]) -> Gallery:
    """The gallery for ``chosen`` (the product's default metal when None); ``link`` maps a
    stored picture's path to its address."""
    codes = {m.id: m.code for m in product.metals}
    chosen = chosen or product.default_metal.code
    groups: tuple[list[Picture], list[Picture], list[Picture]] = ([], [], [])
    for order, image in enumerate(product.images):
        code = codes.get(image.metal_id, "") if image.metal_id else ""
        group = 0 if code and code == chosen else (1 if not code else 2)
        groups[group].append(_picture(order, code, image, link))
    return Gallery(chosen=chosen, pictures=tuple(groups[0] + groups[1] + groups[2]))
