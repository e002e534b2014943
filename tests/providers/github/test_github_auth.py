"""App JWT → installation tokens, cached per installation; secrets never in logs or errors."""

from __future__ import annotations

import logging
from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from github import BadCredentialsException, GithubException
from github_helpers import ONE_APPROVAL, REPO, Rig, request_lines, rig_fixture  # noqa: F401

from bot.core.policy.needs import SnapshotNeeds
from bot.providers.counting import RequestTally
from bot.providers.github import auth
from bot.providers.github.auth import AppCredentials, AppKeyError
from bot.providers.github.client import redact


def _pr(rig: Rig, repo: str = REPO) -> None:
    rig.fake.add_repo(repo, files={".github/gatebot.yml": ONE_APPROVAL})
    rig.fake.open_pr(repo, 7, author="alice")


def _read_pr(rig: Rig, repo: str = REPO) -> list[str]:
    mark = rig.fake.mark()
    with rig.open(7, repo) as ev:
        ev.pull()
    return request_lines(rig.fake.requests_since(mark))


def test_a_token_is_minted_once_per_installation_and_reused(rig):
    _pr(rig)
    _pr(rig, "umbrella/web")
    assert _read_pr(rig) == ["POST apps/create-installation-access-token", "POST graphql"]
    assert _read_pr(rig) == ["POST graphql"]
    assert _read_pr(rig, "umbrella/web")[0] == "POST apps/create-installation-access-token"
    assert rig.fake.token_mints == 2
    mint = rig.fake.requests_for("apps/create-installation-access-token")[0]
    assert mint.auth_kind == "app"  # a JWT the fake verified with the App's public key
    assert all(r.auth_kind == "installation" for r in rig.fake.requests_for("graphql"))
    rig.fake.assert_all_valid()


def test_a_token_is_replaced_shortly_before_it_expires(rig):
    _pr(rig)
    _read_pr(rig)
    rig.clock.advance(minutes=54)  # GitHub's tokens live an hour
    assert _read_pr(rig) == ["POST graphql"]
    rig.clock.advance(minutes=2)  # within five minutes of the expiry
    assert _read_pr(rig) == ["POST apps/create-installation-access-token", "POST graphql"]


def test_a_refused_token_is_dropped_and_the_next_evaluation_mints_another(rig):
    _pr(rig)
    _read_pr(rig)
    rig.fake.expire_tokens()
    with pytest.raises(BadCredentialsException):
        _read_pr(rig)
    assert _read_pr(rig) == ["POST apps/create-installation-access-token", "POST graphql"]


def test_no_secret_reaches_a_log_or_an_error(rig, caplog):
    _pr(rig)
    rig.fake.fail("apps/create-installation-access-token", status=502)
    rig.fake.fail("graphql", status=500, times=10)
    # PyGithub's own debug log prints response bodies, the token mint's included.
    with (
        caplog.at_level(logging.DEBUG),
        caplog.at_level(logging.DEBUG, logger="github"),
        pytest.raises(GithubException) as raised,
        rig.open(7) as ev,
    ):
        ev.snapshot(SnapshotNeeds())
    tokens = [t.token for t in rig.fake.tokens]
    assert tokens  # a token was minted and used
    key_line = rig.fake.private_key_pem.strip().splitlines()[1]
    jwts = [r.authorization.split(" ", 1)[1] for r in rig.fake.requests if r.auth_kind == "app"]
    texts = [caplog.text, str(raised.value), repr(raised.value)]
    texts += [str(ev.tally.sent), repr(rig.forge.app.credentials)]
    assert "access_tokens" in caplog.text and "[redacted]" in caplog.text  # the debug log was on
    for text in texts:
        for secret in [*tokens, key_line, *jwts]:
            assert secret not in text


def test_the_private_key_is_never_quoted():
    with pytest.raises(AppKeyError) as raised:
        AppCredentials(
            4242,
            "-----BEGIN RSA PRIVATE KEY-----\nnot-a-key-at-all\n-----END RSA PRIVATE KEY-----\n",
        )
    assert "not-a-key-at-all" not in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_the_key_is_parsed_once_and_each_jwt_verifies_against_it(rig, monkeypatch):
    parsed: list[bytes] = []
    load = auth.serialization.load_pem_private_key

    def counting_load(data: bytes, password: bytes | None) -> object:
        parsed.append(data)
        return load(data, password)

    monkeypatch.setattr(auth.serialization, "load_pem_private_key", counting_load)
    credentials = AppCredentials(rig.fake.app_id, rig.fake.private_key_pem)
    tokens = [credentials.auth.create_jwt() for _ in range(3)]
    # PyGithub, handed the PEM text, parses it again for every JWT (about 45 ms each).
    assert len(parsed) == 1
    public = serialization.load_pem_private_key(
        rig.fake.private_key_pem.encode(), password=None
    ).public_key()
    for token in tokens:
        claims = jwt.decode(token, public, algorithms=["RS256"])
        assert claims["iss"] == str(rig.fake.app_id)


def test_a_key_that_is_not_rsa_is_refused():
    ec_pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(AppKeyError, match="is it an RSA PEM key"):
        AppCredentials(4242, ec_pem.decode())


def test_the_cached_token_and_credentials_hide_their_secrets(rig):
    _pr(rig)
    token = rig.forge.app.token(rig.installation(), RequestTally())
    assert token.value.startswith("ghs_")
    assert token.value not in repr(token)
    assert "PRIVATE KEY" not in repr(rig.forge.app.credentials)
    assert token.expires_at - rig.clock.now > timedelta(minutes=55)


def test_redaction_covers_tokens_jwts_and_keys():
    text = (
        'body {"token":"ghs_abcdefghijklmnopqrstuvwxyz0123"} '
        "Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI0MjQyIn0.c2lnbmF0dXJlLXNpZ25hdHVyZQ "
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"
    )
    cleaned = redact(text)
    assert "ghs_" not in cleaned and "eyJ" not in cleaned and "MIIE" not in cleaned
    assert cleaned.count("[redacted]") == 3
