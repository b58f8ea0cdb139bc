"""The Python side of the C executor (cext/executor.c): the wire format plans are sent in and
the sync messages (wire.py), and starting the sealed executable and talking to it (session.py)."""

