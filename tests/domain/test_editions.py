from __future__ import annotations

import pytest

from app.domain.editions import EditionError, format_piece_number, piece_numbers


def test_numbers_print_zero_padded():
    assert format_piece_number(7, 25) == "07/25"
    assert format_piece_number(10, 10) == "10/10"
    assert format_piece_number(3, 50) == "03/50"


def test_numbers_run_one_to_n():
    assert list(piece_numbers(10)) == list(range(1, 11))


@pytest.mark.parametrize(("number", "size"), [(0, 25), (26, 25), (3, 12)])
def test_out_of_rule_numbers_raise(number, size):
    with pytest.raises(EditionError):
        format_piece_number(number, size)
