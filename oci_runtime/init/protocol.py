"""The create handshake between the runtime (parent) and the processes it forks.

A SOCK_SEQPACKET socketpair carries one JSON object per packet, so a message is never split or
merged.  Every message has a "type"; a child that fails sends {"type": "error", "message": ...,
"errno": N} and exits, and the parent re-raises it as OCIError (the _posixsubprocess pattern).

    stage 1 (namespaces)                         parent (create)
      with a new user namespace only:
      "setup" {pid}                        ->     writes id maps
                                           <-     "ok"
      joins/unshares namespaces (not cgroup), forks the init
      "init" {pid: host pid of the init}   ->     places the init in the cgroup
    init (pid 1 of the container)
      mounts up to the first cgroup mount
                                           <-     "cgroup-ready"
      unshares the cgroup namespace, mounts the rest, devices
      "hooks" {stage: "createRuntime"}     ->     runs prestart + createRuntime hooks
                                           <-     "ok" (or "error": init exits)
      runs createContainer hooks, pivots, applies process settings
      "created"                            ->     writes state and pid file; create returns
      blocks in accept() on start.sock until `start` connects
"""
import os
import _socket  # not socket.py: it imports enum and selectors, ~4 ms of create

from oci_runtime import fastjson
from oci_runtime.errors import OCIError

_MAX_MESSAGE = 1 << 16


class Channel:
    def __init__(self, sock):
        self.sock = sock

    @classmethod
    def pair(cls):
        parent, child = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        return cls(parent), cls(child)

    def send(self, message_type, **fields):
        fields["type"] = message_type
        self.sock.send(fastjson.dumps(fields).encode())

    def send_error(self, exc):
        message = str(exc) if isinstance(exc, OCIError) else f"{type(exc).__name__}: {exc}"
        errno = getattr(exc, "errno", 0) or 0
        from oci_runtime.hooks import HookError

        try:
            self.send("error", message=message, errno=errno, hook=isinstance(exc, HookError))
        except OSError:
            pass  # the parent is gone; nobody is left to tell

    def receive(self, *expected):
        data = self.sock.recv(_MAX_MESSAGE)
        if not data:
            raise OCIError("container init exited during create without reporting an error")
        message = fastjson.loads(data)
        if message.get("type") == "error":
            if message.get("hook"):
                from oci_runtime.hooks import HookError

                raise HookError(message.get("message", "a hook failed"))
            raise OCIError(message.get("message", "unknown error"), message.get("errno", 0))
        if expected and message.get("type") not in expected:
            raise OCIError(f"internal: expected {'/'.join(expected)} from the container init, "
                           f"got {message.get('type')!r}")
        return message

    def close(self):
        self.sock.close()


def child_main(channel, body):
    """Run ``body`` in a forked child: report any failure over ``channel`` and never return."""
    status = 1
    try:
        body()
        status = 0
    except BaseException as exc:  # noqa: B902 - everything must reach the parent as one line
        channel.send_error(exc)
    finally:
        os._exit(status)
