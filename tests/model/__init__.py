"""A model of the whole gate: random sequences of what people and forges do, checked
after every step against an oracle written from the policy spec alone.

- `policies`: the small family of policies the machine writes on base branches.
- `oracle`: ground truth (what really happened on the forge) and what the spec says
  it allows; imports nothing from `bot`.
- `driver`: what the machine asks of a forge (the verbs, deliveries, the bot's worker
  and what it did); a GitLab driver against `tests/fakegitlab/` plugs in here.
- `github_driver`: the verbs of the machine against the fake GitHub, and the real web
  tier and worker pipeline in-process on one simulated clock.
- `machine`: the hypothesis state machine over a driver, its invariants and findings.
"""
