"""Where the bot's own GitLab username is kept.

GitLab has no App: the bot acts as the user whose token it holds. The GitLab
pipeline (`bot.pipeline.gitlab`) records that user's username in the store's
`apps` table under provider `gitlab` and this id when it first runs; the
GitLab routing (`bot.events.gitlab`) reads it there to recognise the bot's
own notes and awards.
"""

BOT_ACCOUNT_ID = 0
"""The `apps` row id the bot's GitLab username is kept under."""
