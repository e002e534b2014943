"""What the fake GitHub and the fake GitLab share, so that neither imports the other.

Each fake (`fakegithub`, `fakegitlab`) keeps what makes it that forge —
routes, authentication, bodies, state — and builds on these modules for the
rest: `server` (the HTTP server and the way a request passes faults and
holds), `faults` (faults, holds and their matching), `recording` (the
request log), `forge` (the `FakeForge` handle tests hold and the fixture
helper), `pagination` and `conditional` (ETags and 304 Not Modified). Nothing here imports either fake.
"""
