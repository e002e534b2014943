"""gatebot: a pull-request approval gate.

`bot.core` is the pure policy engine (no I/O, no clock); everything else is
the thin shell that talks to forges, the store, the queue and the web.
"""

__version__ = "0.1.0"
