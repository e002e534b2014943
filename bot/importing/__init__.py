"""`gatebot import`: other bots' configurations read into gatebot policies.

Pure conversions (text in, policy text and a report out): one module per
source format, a shared report and source walker, a YAML writer, and the
regex-to-glob translation policy-bot and bulldozer patterns need. The CLI
reads the files and prints; nothing here does I/O.
"""
