"""The event layer: what a verified webhook delivery causes, for every forge.

Below the web tier and beside the pipeline: the web tier verifies and
parses a delivery (`bot/web/github_webhook.py`, `bot/web/gitlab_webhook.py`)
and keeps it in the store's inbox (`group_commit` shares the commits of
deliveries arriving together); the consumer's `inbox_drain` calls
`ingestion.ingest` once for each, with the routing of the delivery's forge;
the ingestion records the delivery, routes it, applies its effects and
marks its PRs dirty in one transaction. Nothing here imports the web
tier, and nothing forge-neutral here names a forge: what differs by forge
is in its own package, or passed in by its routing.

| module        | what it is for                                                   |
|---------------|------------------------------------------------------------------|
| `parsed`      | a parsed delivery: `DeliveryRecord`, `ParsedDelivery`, `MalformedDelivery` |
| `payload`     | defensive readers of webhook JSON, for the parsers and handlers  |
| `router`      | dispatch on (event, action): `Router`, `Routed`, `do`, `ignore`  |
| `effects`     | what a delivery causes, as values                                |
| `apply`       | the effects on the delivery's transaction; what to mark dirty    |
| `ingestion`   | record → route → apply → mark, in one call (`ingest`)            |
| `group_commit`| concurrent webhook answers sharing one commit                    |
| `inbox_drain` | the consumer ingesting the inbox in batches, then waking PRs     |
| `github/`     | GitHub's handlers, one module per concern, and `GitHubRouting`   |
| `gitlab/`     | GitLab's handlers, one module per concern, and `GitLabRouting`   |
"""
