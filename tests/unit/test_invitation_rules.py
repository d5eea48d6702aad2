"""The rules an invitation's addresses and its limit follow (validation.py, settings.py)."""

import pytest

from meet_web.settings import SettingsError
from meet_web.validation import INVALID_EMAIL, Fields, normalize_email, parse_email_list
from tests.unit.test_settings import load

VALID = {
    "ann@example.net": "ann@example.net",
    " Ann.Lee+meet@Example.NET ": "Ann.Lee+meet@Example.NET",
    "o'brien@sub.example.co.uk": "o'brien@sub.example.co.uk",
    "ann@bücher.de": "ann@xn--bcher-kva.de",
}
INVALID = [
    "",
    "ann",
    "ann@",
    "@example.net",
    "ann@example",
    "ann@example.c",
    "ann@-example.net",
    "ann@example-.net",
    "ann@exa_mple.net",
    "ann@127.0.0.1",
    "ann..lee@example.net",
    ".ann@example.net",
    "ann lee@example.net",
    '"ann"@example.net',
    "ann@example.net, bob@example.net",
    "ann@example.net\r\nBcc: eve@example.org",
    "ann@example.net\x00",
    "é@example.net",
    "a" * 65 + "@example.net",
    "ann@" + "a" * 250 + ".net",
    None,
    7,
    ["ann@example.net"],
]


@pytest.mark.parametrize(("value", "address"), VALID.items())
def test_valid_addresses(value, address):
    assert normalize_email(value) == address


@pytest.mark.parametrize("value", INVALID)
def test_invalid_addresses(value):
    assert normalize_email(value) is None


def test_a_list_keeps_the_first_spelling_of_each_address():
    addresses, bad = parse_email_list(["B@x.org", "a@x.org", "b@X.ORG", "nope", "A@x.org"])
    assert addresses == ["B@x.org", "a@x.org"]
    assert bad == {3: INVALID_EMAIL}


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ([], "This list may not be empty."),
        ("a@x.org", 'Expected a list of items but got type "str".'),
        ({"a": 1}, 'Expected a list of items but got type "dict".'),
        (None, 'Expected a list of items but got type "NoneType".'),
        (["a@x.org"] * 3, "Ensure this field has no more than 2 elements."),
        (["a@x.org", 1], {"1": [INVALID_EMAIL]}),
    ],
)
def test_email_list_errors(value, error):
    fields = Fields({"emails": value})
    fields.email_list("emails", required=True, max_items=2)
    assert fields.errors == {"emails": error}


def test_limit_setting():
    assert load()["invitations.max_recipients"] == 50
    assert load({"invitations.max_recipients": "5"})["invitations.max_recipients"] == 5
    with pytest.raises(SettingsError) as exc:
        load({"invitations.max_recipients": "0"})
    assert exc.value.problems == ["invitations.max_recipients must be at least 1"]
