"""The pure core: policy language, snapshot model, evaluation, rendering.

Nothing under this package performs I/O or reads the clock; callers hand it
text and snapshots and get values back.
"""
