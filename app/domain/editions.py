"""Numbered limited editions: allowed run sizes and how piece numbers print."""

from __future__ import annotations

EDITION_SIZES: tuple[int, ...] = (10, 25, 50)


class EditionError(ValueError):
    """Raised for an edition size or piece number outside the rules."""


def check_edition_size(size: int) -> int:
    """Return size if it is an allowed edition size, else raise EditionError."""
    if size not in EDITION_SIZES:
        allowed = ", ".join(str(s) for s in EDITION_SIZES)
        raise EditionError(f"An edition runs to {allowed} pieces, not {size}")
    return size


def piece_numbers(size: int) -> range:
    """Numbers of the pieces in a run: 1..size."""
    return range(1, check_edition_size(size) + 1)


def format_piece_number(number: int, size: int) -> str:
    """Print a piece's number zero-padded to the width of the run size: 7 of 25 -> "07/25"."""
    check_edition_size(size)
    if not 1 <= number <= size:
        raise EditionError(f"Piece {number} is outside an edition of {size}")
    width = max(2, len(str(size)))
    return f"{number:0{width}d}/{size}"
