"""Route templates of forge requests: known words kept, every name a placeholder."""

from __future__ import annotations

import pytest

from bot.providers.routes import route_of

GH = "https://api.github.com"
GL = "https://gitlab.example.com/api/v4"


@pytest.mark.parametrize(
    ("method", "url", "route"),
    [
        ("put", f"{GH}/repos/acme/api/pulls/7/merge", "PUT /repos/{owner}/{repo}/pulls/{n}/merge"),
        ("GET", f"{GH}/repos/acme/api/pulls/7/reviews?per_page=100&page=2",
         "GET /repos/{owner}/{repo}/pulls/{n}/reviews"),
        ("GET", f"{GH}/repos/acme/api/contents/.github/gatebot.yml?ref=refs%2Fheads%2Fmain",
         "GET /repos/{owner}/{repo}/contents/{path}"),
        ("GET", f"{GH}/repos/acme/api/commits/{'a1' * 20}/status",
         "GET /repos/{owner}/{repo}/commits/{sha}/status"),
        ("GET", f"{GH}/repos/acme/api/compare/{'a' * 40}...{'b' * 40}",
         "GET /repos/{owner}/{repo}/compare/{range}"),
        ("GET", f"{GH}/repos/acme/api/git/ref/heads/release/2.x",
         "GET /repos/{owner}/{repo}/git/ref/heads/{path}"),
        ("GET", f"{GH}/orgs/acme/teams/backend/memberships/mia",
         "GET /orgs/{org}/teams/{team}/memberships/{user}"),
        ("GET", f"{GH}/repos/acme/api/collaborators/mia/permission",
         "GET /repos/{owner}/{repo}/collaborators/{user}/permission"),
        ("POST", f"{GH}/app/installations/42/access_tokens",
         "POST /app/installations/{n}/access_tokens"),
        ("POST", f"{GH}/graphql", "POST /graphql"),
        ("POST", "https://ghe.acme.test/api/graphql", "POST /api/graphql"),
        # A repository named like a word of the vocabulary is still a placeholder.
        ("GET", f"{GH}/repos/pulls/merge/pulls/1", "GET /repos/{owner}/{repo}/pulls/{n}"),
        ("GET", f"{GL}/projects/acme%2Fplatform%2Fapi/merge_requests/3/approvals",
         "GET /api/v4/projects/{project}/merge_requests/{n}/approvals"),
        ("GET", f"{GL}/projects/acme%2Fapi/repository/files/.gitlab%2Fgatebot.yml/raw",
         "GET /api/v4/projects/{project}/repository/files/{path}"),
        ("GET", f"{GL}/groups/acme/members/all/17", "GET /api/v4/groups/{group}/members/all/{n}"),
        ("GET", f"{GH}/repos/acme/api/branches/feature-x",
         "GET /repos/{owner}/{repo}/branches/{name}"),
    ],
)
def test_routes_are_templates(method, url, route):
    assert route_of(method, url) == route


def test_no_route_holds_a_name_it_was_not_taught():
    url = f"{GH}/repos/secret-owner/secret-repo/issues/comments/9/reactions"
    assert "secret" not in route_of("POST", url)
