"""Phone numbers with `phonenumbers`: stored as E.164, parsed and shown for a location's country.

    to_e164("07700 900123", "GB")     → "+447700900123"   (None: not a possible number)
    search_digits("07700 9", "GB")    → "4477009"          (the start of the E.164 digits, for prefix search)
    national("+447700900123", "GB")   → "07700 900123"     (another country's number: international format)
    region_for_zone("Europe/Paris")   → "FR"               (from the tz database's zone.tab; else GB)

Pure functions, no database: migrations use them too.
"""

from __future__ import annotations

import importlib.resources
from functools import lru_cache
from pathlib import Path

import phonenumbers

DEFAULT_REGION = "GB"
_FORMAT = phonenumbers.PhoneNumberFormat


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """IANA zone → ISO country code, from zone.tab (the pinned tzdata package, else the system's copy)."""
    text = ""
    try:
        text = importlib.resources.files("tzdata").joinpath("zoneinfo/zone.tab").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        system = Path("/usr/share/zoneinfo/zone.tab")
        text = system.read_text(encoding="utf-8") if system.exists() else ""
    countries = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            fields = line.split("\t")
            if len(fields) >= 3:
                countries[fields[2]] = fields[0]
    return countries


def region_for_zone(zone: str) -> str:
    """The country of an IANA time zone ("Europe/Madrid" → "ES"); GB when the zone names none (e.g. UTC)."""
    return _zone_countries().get(zone, DEFAULT_REGION)


def is_region(code: str) -> bool:
    return code.upper() in phonenumbers.SUPPORTED_REGIONS


def _parse(raw: str, region: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None


def to_e164(raw: str, region: str) -> str | None:
    """`raw` as E.164, read as dialled in `region` (a "+…" number keeps its own country); None when impossible."""
    number = _parse(raw.strip(), region)
    if number is None or phonenumbers.is_possible_number_with_reason(number) != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(number, _FORMAT.E164)


def search_digits(text: str, region: str) -> str | None:
    """The start of the E.164 digits that `text` (a whole or partial number) stands for in `region`."""
    number = _parse(text.strip(), region)
    if number is None or not number.national_number:
        return None
    leading_zeros = "0" * (number.number_of_leading_zeros or 0) if number.italian_leading_zero else ""
    return f"{number.country_code}{leading_zeros}{number.national_number}"


def national(stored: str, region: str) -> str:
    """A stored number as people dial it in `region`; another country's number internationally; else as stored."""
    number = _parse(stored, region) if stored.startswith("+") else None
    if number is None:
        return stored
    own = phonenumbers.region_code_for_number(number) == region or number.country_code == phonenumbers.country_code_for_region(region)
    return phonenumbers.format_number(number, _FORMAT.NATIONAL if own else _FORMAT.INTERNATIONAL)


def example(region: str) -> str:
    """A mobile number of `region` in national format, for a help or error message."""
    number = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    return phonenumbers.format_number(number, _FORMAT.NATIONAL) if number is not None else ""
