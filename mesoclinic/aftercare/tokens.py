"""The one-tap check-in link: signed, single-purpose, expiring, answered once.

The token is `django.core.signing.dumps(checkin_id, salt=SALT)`: it names one check-in and
nothing else, and the purpose-specific salt means no other signed value of the site (a session
cookie, a password-reset link, another app's token) verifies as a check-in token, nor a check-in
token as theirs. Expiry and single use live on the row (`CheckIn.expires_at`, `answered_at`), so
they hold even if the secret key leaks no further than one link. See docs/decisions/0018.
"""

from __future__ import annotations

from django.core import signing

SALT = "mesoclinic.aftercare.checkin-link.v1"
MAX_TOKEN_LENGTH = 200
MAX_ID = 2**63 - 1


class BadToken(Exception):
    """The link was not made by us for a check-in (tampered, truncated, or signed for something else)."""


def make_token(checkin_id: int) -> str:
    return signing.dumps(checkin_id, salt=SALT, compress=False)


def read_token(token: str) -> int:
    """The check-in id the token names. Raises BadToken for anything we did not sign for this purpose."""
    if not token or len(token) > MAX_TOKEN_LENGTH or not token.isascii():
        raise BadToken("not a check-in link")
    try:
        value = signing.loads(token, salt=SALT)
    except signing.BadSignature as bad:
        raise BadToken("not a check-in link") from bad
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_ID:
        raise BadToken("not a check-in link")
    return value
