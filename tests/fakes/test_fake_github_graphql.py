"""The fake GitHub's GraphQL endpoint: validated against the vendored schema, executed
over the fake's state, paged and limited as GitHub pages and limits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import github
import pytest
import requests
from fakegithub import FakeGitHub
from fakegithub.graphql import SCHEMA_FILE
from github import Auth

REPO = "acme/api"
SCHEMA_SHA256 = "3c62d0526d133cee53221c89de9b455ade24db78b9e7ad56d642c4c15bce2654"

PULL = """
query($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      number
      headRefOid
      author { __typename login }
      files(first: 2, after: $after) {
        totalCount
        pageInfo { hasNextPage endCursor }
        nodes { path changeType }
      }
    }
  }
}
"""


def post(fake: FakeGitHub, query: str, variables: dict | None = None) -> requests.Response:
    return requests.post(
        f"{fake.url}/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"token {fake.mint_token(REPO)}"},
        timeout=10,
    )


@pytest.fixture
def fake(fake_github: FakeGitHub) -> FakeGitHub:
    fake_github.add_repo(REPO, files={"src/app.py": "print(1)\n"})
    fake_github.open_pr(
        REPO,
        7,
        author="alice",
        contents={f"src/f{i}.py": f"{i}\n" for i in range(5)},
    )
    return fake_github


def test_the_vendored_schema_is_the_published_one():
    assert hashlib.sha256(Path(SCHEMA_FILE).read_bytes()).hexdigest() == SCHEMA_SHA256


def test_files_page_with_first_and_after(fake):
    variables = {"owner": "acme", "name": "api", "number": 7}
    paths: list[str] = []
    after = None
    pages = 0
    while True:
        answer = post(fake, PULL, {**variables, "after": after})
        assert answer.status_code == 200
        assert answer.headers["x-ratelimit-resource"] == "graphql"
        pull = answer.json()["data"]["repository"]["pullRequest"]
        assert pull["files"]["totalCount"] == 5
        assert pull["author"] == {"__typename": "User", "login": "alice"}
        paths += [node["path"] for node in pull["files"]["nodes"]]
        pages += 1
        if not pull["files"]["pageInfo"]["hasNextPage"]:
            break
        after = pull["files"]["pageInfo"]["endCursor"]
    assert paths == [f"src/f{i}.py" for i in range(5)]
    assert pages == 3
    assert [r.operation_id for r in fake.requests] == ["graphql"] * 3
    fake.assert_all_valid()


def test_an_unknown_field_is_answered_with_errors_and_recorded(fake):
    answer = post(fake, "query { repository(owner: \"acme\", name: \"api\") { noSuchField } }")
    assert answer.status_code == 200
    errors = answer.json()["errors"]
    assert "noSuchField" in errors[0]["message"]
    assert "data" not in answer.json()
    with pytest.raises(AssertionError, match="noSuchField"):
        fake.assert_all_valid()


def test_first_over_100_is_refused_and_recorded(fake):
    query = PULL.replace("first: 2", "first: 101")
    answer = post(fake, query, {"owner": "acme", "name": "api", "number": 7})
    assert "exceeds the `first` limit of 100 records" in answer.json()["errors"][0]["message"]
    with pytest.raises(AssertionError, match="first"):
        fake.assert_all_valid()


def test_a_connection_without_first_or_last_is_refused(fake):
    query = PULL.replace("files(first: 2, after: $after)", "files(after: $after)")
    answer = post(fake, query, {"owner": "acme", "name": "api", "number": 7})
    assert "must provide a `first` or `last`" in answer.json()["errors"][0]["message"]


def test_a_bot_login_has_no_bot_suffix_in_graphql(fake):
    fake.open_pr(REPO, 8, author="renovate[bot]", contents={"a.txt": "a\n"})
    answer = post(fake, PULL, {"owner": "acme", "name": "api", "number": 8})
    author = answer.json()["data"]["repository"]["pullRequest"]["author"]
    assert author == {"__typename": "Bot", "login": "renovate"}
    # REST names the same account with the suffix.
    rest = requests.get(
        f"{fake.url}/repos/{REPO}/pulls/8",
        headers={"Authorization": f"token {fake.mint_token(REPO)}"},
        timeout=10,
    )
    assert rest.json()["user"]["login"] == "renovate[bot]"
    fake.assert_all_valid()


def test_a_missing_pull_request_is_not_found_and_no_problem(fake):
    answer = post(fake, PULL, {"owner": "acme", "name": "api", "number": 99})
    body = answer.json()
    assert body["data"]["repository"]["pullRequest"] is None
    assert body["errors"][0]["type"] == "NOT_FOUND"
    fake.assert_all_valid()


def test_a_repository_outside_the_installation_is_not_found(fake):
    fake.add_repo("other/svc", private=True)
    answer = post(
        fake,
        "query { repository(owner: \"other\", name: \"svc\") { name } }",
    )
    assert answer.json()["errors"][0]["type"] == "NOT_FOUND"


def test_a_bad_token_is_refused(fake):
    answer = requests.post(
        f"{fake.url}/graphql", json={"query": "query { rateLimit { cost } }"},
        headers={"Authorization": "token nope"}, timeout=10,
    )
    assert answer.status_code == 401


def test_enterprise_serves_graphql_next_to_api_v3():
    with FakeGitHub(enterprise=True) as fake:
        fake.add_repo(REPO)
        client = github.Github(
            base_url=fake.api_url, auth=Auth.Token(fake.mint_token(REPO)), retry=None,
            seconds_between_requests=0, seconds_between_writes=0,
        )
        _headers, data = client.requester.graphql_query(
            "query { rateLimit { cost remaining } }", {}
        )
        assert data["data"]["rateLimit"]["cost"] == 1
        assert [r.path for r in fake.requests] == ["/api/graphql"]
        fake.assert_all_valid()
