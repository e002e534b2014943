"""Conditional GETs (`bot.providers.conditional`): a 304 becomes the remembered 200, only
ever for the credentials that got the 200, in a bounded LRU, and only for GETs."""

from __future__ import annotations

import pytest
import requests
from prometheus_client import REGISTRY

from bot.providers.conditional import Key, Remembered, ResponseCache, remember_answers
from bot.providers.counting import RequestTally, count_requests
from bot.providers.github.client import ClientConfig, installation_client
from bot.providers.gitlab.client import ClientConfig as GitLabConfig
from bot.providers.gitlab.client import GitLabClient, project

REPO = "acme/api"
JSON = "application/vnd.github+json"
SHA_MEDIA_TYPE = "application/vnd.github.sha"


@pytest.fixture
def github(fake_github):
    fake_github.add_repo(REPO, files={"a.py": "1"}, private=True)
    fake_github.open_pr(REPO, 7, author="alice", contents={"a.py": "2"})
    fake_github.settle_mergeable(REPO, 7)  # else the first read would settle it
    fake_github.add_repo("evil/tools", files={"x.py": "1"}, private=True)
    return fake_github


def session_for(cache: ResponseCache, tally: RequestTally) -> requests.Session:
    """A session as the forge clients mount theirs: counting inside, conditional outside."""
    session = requests.Session()
    count_requests(session, tally, "github")
    remember_answers(session, cache)
    return session


def get(session, fake, path, token, accept=JSON, **headers):
    return session.get(
        f"{fake.api_url}{path}",
        headers={"Authorization": f"token {token}", "Accept": accept, **headers},
    )


def if_none_match(record) -> str | None:
    return next((v for k, v in record.headers.items() if k.lower() == "if-none-match"), None)


# -- a 304 is the remembered answer ------------------------------------------------


def test_a_304_reaches_pygithub_as_the_remembered_200_and_costs_no_quota(github):
    cache, tally = ResponseCache(), RequestTally()
    labels = {"forge": "github", "route": "GET /repos/{owner}/{repo}/pulls/{n}", "status": "304"}
    counted_304 = REGISTRY.get_sample_value("gatebot_forge_requests_total", labels) or 0.0
    client = installation_client(
        ClientConfig(api_url=github.api_url, seconds_between_requests=0, seconds_between_writes=0),
        github.mint_token(REPO),
        tally,
        cache,
    )
    mark = github.mark()
    first = client.get_repo(REPO).get_pull(7)
    again = client.get_repo(REPO).get_pull(7)

    assert (again.number, again.title, again.head.sha) == (first.number, first.title, first.head.sha)
    assert again.raw_data == first.raw_data
    sent = github.requests_since(mark)
    assert [r.status for r in sent] == [200, 304]
    assert if_none_match(sent[1]) == sent[0].response_headers["ETag"]
    assert sent[1].response_body == b""
    # The tally and the metrics see the wire: the 304.
    assert tally.lines() == ["GET /repos/acme/api/pulls/7 -> 200", "GET /repos/acme/api/pulls/7 -> 304"]
    assert REGISTRY.get_sample_value("gatebot_forge_requests_total", labels) == counted_304 + 1
    # GitHub counts the first read only.
    assert github.counted(mark) == 1
    # The rate-limit counts PyGithub keeps are the 304's, not the remembered ones.
    assert client.rate_limiting[0] == int(sent[1].response_headers["x-ratelimit-remaining"])


def test_the_304s_own_headers_replace_the_remembered_ones_but_not_the_body_headers(github):
    cache, tally = ResponseCache(), RequestTally()
    session = session_for(cache, tally)
    token = github.mint_token(REPO)
    first = get(session, github, "/repos/acme/api/pulls/7", token)
    again = get(session, github, "/repos/acme/api/pulls/7", token)
    wire = github.requests[-1]

    assert (wire.status, again.status_code) == (304, 200)
    assert again.json() == first.json()
    assert again.headers["X-GitHub-Request-Id"] == wire.response_headers["X-GitHub-Request-Id"]
    assert again.headers["X-GitHub-Request-Id"] != first.headers["X-GitHub-Request-Id"]
    assert again.headers["Content-Length"] == first.headers["Content-Length"] != "0"
    assert again.headers["Content-Type"].startswith("application/json")


def test_a_changed_resource_is_read_again_and_remembered_anew(github):
    cache, tally = ResponseCache(), RequestTally()
    session = session_for(cache, tally)
    token = github.mint_token(REPO)
    get(session, github, "/repos/acme/api/pulls/7", token)
    github.edit_pr(REPO, 7, title="A new title")
    changed = get(session, github, "/repos/acme/api/pulls/7", token)
    again = get(session, github, "/repos/acme/api/pulls/7", token)

    assert [r.status for r in github.requests] == [200, 200, 304]
    assert changed.json()["title"] == again.json()["title"] == "A new title"


def test_a_304_naming_another_version_is_not_taken_for_the_remembered_one(github):
    cache, tally = ResponseCache(), RequestTally()
    session = session_for(cache, tally)
    token = github.mint_token(REPO)
    get(session, github, "/repos/acme/api/pulls/7", token)
    github.fail("pulls/get", status=304, body=b"", headers={"ETag": 'W/"another"'})
    odd = get(session, github, "/repos/acme/api/pulls/7", token)
    assert (odd.status_code, odd.content) == (304, b"")
    assert len(cache) == 0
    assert get(session, github, "/repos/acme/api/pulls/7", token).status_code == 200
    assert if_none_match(github.requests[-1]) is None


# -- credentials ---------------------------------------------------------------------


def test_another_credential_never_gets_the_remembered_answer(github):
    cache, tally = ResponseCache(), RequestTally()
    session = session_for(cache, tally)
    ours, theirs = github.mint_token(REPO), github.mint_token("evil/tools")
    private = get(session, github, "/repos/acme/api/pulls/7", ours)
    assert private.status_code == 200
    etag = private.headers["ETag"]

    # A forge that answered 304 whatever it is asked (a bug, or an answer someone
    # forged) still cannot hand the private answer to another credential — not even
    # the installation's next token — nor to another media type: that request holds
    # no ETag, so its 304 reaches the caller as the empty 304 it is.
    github.fail("pulls/get", status=304, body=b"", headers={"ETag": etag}, times=2)
    rotated = github.mint_token(REPO)
    for token, accept in ((rotated, JSON), (ours, "application/vnd.github.diff")):
        answer = get(session, github, "/repos/acme/api/pulls/7", token, accept=accept)
        assert if_none_match(github.requests[-1]) is None
        assert (answer.status_code, answer.content) == (304, b"")

    refused = get(session, github, "/repos/acme/api/pulls/7", theirs)
    assert refused.status_code == 404
    assert if_none_match(github.requests[-1]) is None
    # The token that read it still has it.
    assert get(session, github, "/repos/acme/api/pulls/7", ours).json() == private.json()
    assert github.requests[-1].status == 304


def _request(headers: dict[str, str]) -> requests.PreparedRequest:
    return requests.Request("GET", "https://api.github.com/repos/acme/api", headers=headers).prepare()


@pytest.mark.parametrize("header", ["Authorization", "PRIVATE-TOKEN", "JOB-TOKEN", "Cookie"])
def test_every_credential_header_is_part_of_the_key_as_a_keyed_digest(header):
    cache = ResponseCache()
    one, two = _request({header: "secret-one"}), _request({header: "secret-two"})
    assert cache.key(one) == cache.key(_request({header: "secret-one"}))
    assert cache.key(one) != cache.key(two)
    assert cache.key(one) != cache.key(_request({}))
    # The key never holds the credential, and another process (another secret)
    # cannot check a token against it.
    assert "secret-one" not in repr(cache.key(one))
    assert ResponseCache().key(one).credential != cache.key(one).credential


@pytest.mark.parametrize("header", ["Accept", "X-GitHub-Api-Version"])
def test_the_media_type_headers_are_part_of_the_key(header):
    cache = ResponseCache()
    assert cache.key(_request({header: "one"})) != cache.key(_request({header: "two"}))


def test_the_url_with_its_query_is_part_of_the_key():
    cache = ResponseCache()

    def key(url: str) -> Key:
        return cache.key(requests.Request("GET", url, headers={"Authorization": "t"}).prepare())

    base = "https://api.github.com/repos/acme/api/pulls/7/files"
    assert key(f"{base}?page=1") != key(f"{base}?page=2")
    assert key(base) != key("https://github.example.com/api/v3/repos/acme/api/pulls/7/files")


# -- what is left alone ----------------------------------------------------------------


def test_writes_are_neither_conditional_nor_remembered(github):
    cache, tally = ResponseCache(), RequestTally()
    session = session_for(cache, tally)
    token = github.mint_token(REPO)
    sha = github.pr(REPO, 7).head_sha
    for _ in range(2):
        posted = session.post(
            f"{github.api_url}/repos/acme/api/statuses/{sha}",
            json={"state": "success", "context": "ci"},
            headers={"Authorization": f"token {token}", "Accept": JSON},
        )
        assert posted.status_code == 201
        assert if_none_match(github.requests[-1]) is None
    assert len(cache) == 0


def test_answers_other_than_200_are_not_remembered_and_drop_what_was(github):
    cache, tally = ResponseCache(), RequestTally()
    session = session_for(cache, tally)
    token = github.mint_token(REPO)
    assert get(session, github, "/repos/acme/api/pulls/99", token).status_code == 404
    assert get(session, github, "/repos/acme/api/pulls/99", token).status_code == 404
    assert if_none_match(github.requests[-1]) is None
    assert len(cache) == 0

    get(session, github, "/repos/acme/api/pulls/7", token)
    assert len(cache) == 1
    github.fail("pulls/get", status=502)
    assert get(session, github, "/repos/acme/api/pulls/7", token).status_code == 502
    assert len(cache) == 0
    assert get(session, github, "/repos/acme/api/pulls/7", token).status_code == 200
    assert if_none_match(github.requests[-1]) is None


def test_a_get_with_its_own_condition_is_passed_through(github):
    """The base-branch read sends the SHA it holds as its ETag and reads the 304 itself."""
    cache, tally = ResponseCache(), RequestTally()
    session = session_for(cache, tally)
    token = github.mint_token(REPO)
    sha = github.branch_sha(REPO, "main")
    path = "/repos/acme/api/commits/heads/main"
    held = get(session, github, path, token, accept=SHA_MEDIA_TYPE, **{"If-None-Match": f'"{sha}"'})
    assert (held.status_code, held.content) == (304, b"")
    assert len(cache) == 0

    fresh = get(session, github, path, token, accept=SHA_MEDIA_TYPE)
    again = get(session, github, path, token, accept=SHA_MEDIA_TYPE)
    assert fresh.text == again.text == sha
    assert if_none_match(github.requests[-1]) == f'"{sha}"'
    assert [r.status for r in github.requests] == [304, 200, 304]


# -- bounds ----------------------------------------------------------------------------


def _key(n: int) -> Key:
    return Key("credential", "GET", f"https://api.github.com/things/{n}", ())


def _answer(size: int) -> Remembered:
    return Remembered('W/"x"', {}, b"x" * size)


def test_the_cache_keeps_the_most_recently_used_entries_up_to_its_count():
    cache = ResponseCache(max_entries=3, max_bytes=1_000_000)
    for n in range(3):
        cache.put(_key(n), _answer(10))
    assert cache.get(_key(0)) is not None  # 0 is now the most recently used
    cache.put(_key(3), _answer(10))
    assert len(cache) == 3
    assert cache.get(_key(1)) is None
    assert all(cache.get(_key(n)) is not None for n in (0, 2, 3))


def test_the_cache_keeps_no_more_bytes_than_its_bound():
    cache = ResponseCache(max_entries=1000, max_bytes=1600)
    for n in range(40):
        cache.put(_key(n), _answer(100))
        assert cache.size <= 1600
    assert len(cache) == 16
    assert cache.get(_key(39)) is not None and cache.get(_key(23)) is None
    # One answer larger than a sixteenth of the bound is not kept at all.
    cache.put(_key(99), _answer(101))
    assert cache.get(_key(99)) is None and len(cache) == 16


def test_replacing_an_entry_keeps_the_byte_count_right():
    cache = ResponseCache(max_entries=10, max_bytes=16_000)
    cache.put(_key(1), _answer(500))
    cache.put(_key(1), _answer(200))
    cache.drop(_key(1))
    assert (len(cache), cache.size) == (0, 0)


# -- GitLab ----------------------------------------------------------------------------


def test_python_gitlab_reads_a_304_as_the_remembered_answer(fake_gitlab):
    fake_gitlab.add_project("acme/api", files={"a.py": "1"})
    fake_gitlab.open_mr("acme/api", 1, contents={"a.py": "2"})
    tally = RequestTally()
    client = GitLabClient(GitLabConfig(url=fake_gitlab.url), fake_gitlab.token, tally, ResponseCache())
    path = f"{project('acme/api')}/merge_requests/1"
    first = client.json("get", path)
    again = client.json("get", path)
    assert again == first
    assert [r.status for r in fake_gitlab.requests] == [200, 304]
    assert [line.rsplit(" ", 1)[1] for line in tally.lines()] == ["200", "304"]
