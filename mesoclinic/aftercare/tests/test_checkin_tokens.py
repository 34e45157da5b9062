"""The check-in token names one check-in, is signed for that purpose only, and refuses anything else."""

from __future__ import annotations

import pytest
from django.core import signing

from mesoclinic.aftercare.tokens import SALT, BadToken, make_token, read_token


def test_a_token_reads_back_as_its_check_in_id():
    assert read_token(make_token(42)) == 42


@pytest.mark.parametrize(
    "mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"), lambda t: t[:-5], lambda t: "x" + t, lambda t: t.replace(":", ".")]
)
def test_a_tampered_token_is_refused(mangle):
    with pytest.raises(BadToken):
        read_token(mangle(make_token(42)))


def test_a_token_signed_for_another_purpose_is_refused():
    for other in (signing.dumps(42), signing.dumps(42, salt="mesoclinic.something-else"), signing.Signer().sign("42")):
        with pytest.raises(BadToken):
            read_token(other)


def test_a_check_in_token_does_not_verify_for_another_purpose():
    with pytest.raises(signing.BadSignature):
        signing.loads(make_token(42))  # the default salt, e.g. another app's tokens


@pytest.mark.parametrize("value", ["42", [42], {"c": 42}, 0, -1, True, 2**64])
def test_a_validly_signed_value_that_is_not_one_check_in_id_is_refused(value):
    with pytest.raises(BadToken):
        read_token(signing.dumps(value, salt=SALT))


@pytest.mark.parametrize("token", ["", "a" * 500, "ünïcode:token:sig", "\x00"])
def test_garbage_is_refused(token):
    with pytest.raises(BadToken):
        read_token(token)
