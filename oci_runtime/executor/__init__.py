"""The Python side of the C executor (cext/executor.c): the wire format plans are sent in and
the sync messages (wire.py), and starting the sealed executable and talking to it (session.py)."""

# The name of the executor's sealed memfd (session.py): /proc/<pid>/exe of a process that is still
# the executor reads "/memfd:oci-runtime-executor (deleted)" (the state store's `created` test).
EXECUTOR_MEMFD_NAME = "oci-runtime-executor"
