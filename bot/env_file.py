"""The file the one-click GitHub App setup writes, and every command reads.

`gatebot serve` in setup mode can register a GitHub App through GitHub's App
manifest flow (`bot/web/setup.py`). What GitHub hands back — the App's id,
private key and webhook secret — is kept in files, not in the store: the key
then never sits in the database (or its backups) beside what it protects,
the files work before any store exists, and an operator can move them into
a secret manager as environment variables later (the environment wins over
the file).

- `GATEBOT_ENV_FILE` (default `gatebot.env` in the data directory, beside the
  embedded store) holds `GITHUB_APP_ID`, `GITHUB_PRIVATE_KEY_PATH`,
  `GITHUB_WEBHOOK_SECRET` and, when they were not set already,
  `GITHUB_API_URL` and `GATEBOT_PUBLIC_URL`, in `.env` syntax.
- The private key goes to its own file beside it. Both are created readable
  by their owner only (0600), and never overwritten.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class AppCredentials:
    """What GitHub answered for a newly registered App."""

    app_id: int
    private_key_pem: str = field(repr=False)
    webhook_secret: str = field(repr=False)


class EnvFileError(Exception):
    """The credentials cannot be written; the message is one sentence."""


def already_configured(path: Path) -> bool:
    """Whether the file names a GitHub App already (the one-click setup then refuses)."""
    if not path.exists():
        return False
    return any(
        line.strip().startswith("GITHUB_APP_ID=")
        for line in path.read_text(encoding="utf-8").splitlines()
    )


def write_github_app(
    path: Path, app: AppCredentials, *, api_url: str | None, public_url: str | None
) -> Path:
    """Write the App's key beside `path` and its settings into `path`; the key's path.

    Lines already in the file stay; the App's lines are appended. Refuses (and
    writes nothing) when the file names an App already or the key file exists.
    """
    if already_configured(path):
        raise EnvFileError(f"{path} names a GitHub App already; nothing was written.")
    path.parent.mkdir(parents=True, exist_ok=True)
    key_path = path.with_name(f"github-app-{app.app_id}.private-key.pem")
    try:
        _create_private(key_path, app.private_key_pem)
    except FileExistsError:
        raise EnvFileError(f"{key_path} exists already; nothing was written.") from None
    lines = [
        "# The GitHub App registered by gatebot's one-click setup.",
        f"GITHUB_APP_ID={app.app_id}",
        f"GITHUB_PRIVATE_KEY_PATH={key_path}",
        f"GITHUB_WEBHOOK_SECRET={_quoted(app.webhook_secret)}",
    ]
    if api_url:
        lines.append(f"GITHUB_API_URL={api_url}")
    if public_url:
        lines.append(f"GATEBOT_PUBLIC_URL={public_url}")
    text = "\n".join(lines) + "\n"
    if path.exists():
        before = path.read_text(encoding="utf-8")
        text = before + ("" if before.endswith("\n") or not before else "\n") + text
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)
    else:
        _create_private(path, text)
    return key_path


def _create_private(path: Path, text: str) -> None:
    # O_EXCL: never replace a file someone else put there; 0600 from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def _quoted(value: str) -> str:
    # GitHub's webhook secrets are hex, but a `.env` value in single quotes is taken
    # literally whatever it holds (except a single quote, which GitHub never sends).
    if "'" in value or "\n" in value:
        raise EnvFileError("GitHub sent a webhook secret that cannot be written to a .env file.")
    return f"'{value}'"
