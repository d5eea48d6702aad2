"""The telephony and roomkit settings, read once at start-up.

The dial-in number is parsed with libphonenumber (`phonenumbers`) against
`telephony.default_country`: its region and international form are what pages, mail
and `/config/` show. A number that is missing or does not parse turns the telephony
block off (`{"enabled": false}`) with one warning at start-up, as the reference does;
PINs and dispatch rules still follow `telephony.enabled`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import phonenumbers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DialIn:
    """How to reach one room by phone: the number to call and the PIN to enter."""

    phone_number: str  # international format, e.g. "+33 1 23 45 67 89"
    pin: str

    @property
    def tel_uri(self) -> str:
        """`tel:` and the number's digits (RFC 3966), for a link phones dial."""
        return "tel:+" + "".join(c for c in self.phone_number if c.isdigit())


@dataclass(frozen=True)
class TelephonyConfig:
    enabled: bool
    roomkit_enabled: bool
    roomkit_token: str
    roomkit_rate_limit: int
    phone_number: str  # as configured
    default_country: str  # as configured
    pin_length: int
    international_phone_number: str | None  # None: missing or unparsable
    region: str | None  # the parsed number's region

    @classmethod
    def from_settings(cls, settings) -> TelephonyConfig:
        enabled = settings["telephony.enabled"]
        number, country = settings["telephony.phone_number"], settings["telephony.default_country"]
        international, region = parse_phone_number(number, country) if enabled else (None, None)
        if enabled and international is None:
            log.warning(
                "telephony.phone_number %r cannot be read (default country %r): the"
                " dial-in number is not shown",
                number,
                country,
            )
        return cls(
            enabled=enabled,
            roomkit_enabled=settings["roomkit.enabled"],
            roomkit_token=settings["roomkit.api_token"],
            roomkit_rate_limit=settings["roomkit.rate_limit"],
            phone_number=number,
            default_country=country,
            pin_length=settings["telephony.pin_length"],
            international_phone_number=international,
            region=region,
        )

    @property
    def handles_calls(self) -> bool:
        """Whether rooms get PINs and dispatch rules (telephony or roomkit is on)."""
        return self.enabled or self.roomkit_enabled

    @property
    def shows_number(self) -> bool:
        return self.enabled and self.international_phone_number is not None

    def frontend_block(self) -> dict:
        """The `telephony` block of `/api/v1.0/config/` (reference §6)."""
        if not self.shows_number:
            return {"enabled": False}
        return {
            "enabled": True,
            "default_country": self.region,
            "international_phone_number": self.international_phone_number,
        }

    def dial_in(self, room) -> DialIn | None:
        """The number and the room's PIN when telephony is on and both exist."""
        pin = getattr(room, "pin_code", None)
        if not self.shows_number or not pin:
            return None
        return DialIn(self.international_phone_number, pin)


def parse_phone_number(number: str, country: str) -> tuple[str | None, str | None]:
    """(international format, region) of a configured number; (None, None) if it is
    missing or is no possible number."""
    if not number or not number.strip():
        return None, None
    try:
        parsed = phonenumbers.parse(number, country or None)
    except phonenumbers.NumberParseException:
        return None, None
    if not phonenumbers.is_possible_number(parsed):
        return None, None
    international = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return international, phonenumbers.region_code_for_number(parsed)
