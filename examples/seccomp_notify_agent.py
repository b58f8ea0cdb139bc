#!/usr/bin/env python3
"""An example seccomp-notify agent for oci-runtime (and any OCI runtime with listenerPath).

A container whose seccomp profile gives some syscalls the action SCMP_ACT_NOTIFY, and names this
agent's socket as ``linux.seccomp.listenerPath``, stops in each such syscall until the agent
answers.  This agent decides on mkdir(2) and mkdirat(2) by the path the container asked for:

* under an ``--allow`` prefix: the syscall runs for real (SECCOMP_USER_NOTIF_FLAG_CONTINUE);
* equal to a ``--pretend`` path: it "succeeds" without anything being made;
* anything else: it fails with EPERM.

Each decision is printed as one JSON line on stdout: {"id", "pid", "syscall", "path", "answer"}.

The protocol (runtime-spec config-linux.md, "The Container Process State"): the runtime connects
to the socket once per filtered process, sends one JSON document (ociVersion, fds ["seccompFd"],
pid, metadata, state) with the listener fd in SCM_RIGHTS, and closes the connection.  The agent
then reads notifications from that fd (SECCOMP_IOCTL_NOTIF_RECV), checks each is still pending
(SECCOMP_IOCTL_NOTIF_ID_VALID, after reading the caller's memory: the pid could have been reused)
and answers (SECCOMP_IOCTL_NOTIF_SEND).  oci_runtime.seccomp.notify wraps those ioctls.

Usage (the profile: {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": SOCKET,
"syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}):

    python3 examples/seccomp_notify_agent.py SOCKET --allow /tmp/ --pretend /fake [--once]

``--once`` serves one container process and exits when it is gone (the listener hangs up);
without it the agent serves every connection until interrupted.  A CONTINUE answer is only safe
for decisions a race cannot subvert: the caller may rewrite the path after the agent read it, so
a real policy must not grant privilege on what it read (here, the path only selects which of
the caller's own abilities apply).
"""
import argparse
import errno
import json
import os
import socket
import sys
import threading

from oci_runtime.errors import OCIError
from oci_runtime.seccomp import notify
from oci_runtime.seccomp._libseccomp import syscall_number

MKDIR_SYSCALLS = ("mkdir", "mkdirat")


class Agent:
    def __init__(self, allow=(), pretend=(), output=sys.stdout):
        self.allow = tuple(allow)
        self.pretend = set(pretend)
        self.output = output
        self.lock = threading.Lock()
        self.names = {syscall_number(name): name for name in MKDIR_SYSCALLS}

    def decide(self, path):
        """(answer name, notify.respond keywords) for a mkdir of ``path``."""
        if any(path == prefix.rstrip("/") or path.startswith(prefix) for prefix in self.allow):
            return "continue", {"continue_syscall": True}
        if path in self.pretend:
            return "pretend", {"value": 0}
        return "EPERM", {"error": errno.EPERM}

    def serve(self, listener_fd):
        """Answer the notifications of one listener until its processes are gone."""
        try:
            while True:
                try:
                    notification = notify.receive(listener_fd)
                except OCIError:
                    return  # hung up: every process under this filter has exited
                name = self.names.get(notification.syscall_number, str(notification.syscall_number))
                address = notification.args[1] if name == "mkdirat" else notification.args[0]
                try:
                    path = notify.read_string(notification.pid, address)
                except OSError:
                    path = None
                if not notify.id_valid(listener_fd, notification.id):
                    continue  # the caller is gone (or was interrupted): what we read is stale
                answer, response = ("EPERM", {"error": errno.EPERM}) if path is None \
                    else self.decide(path)
                notify.respond(listener_fd, notification.id, **response)
                self.report({"id": notification.id, "pid": notification.pid, "syscall": name,
                             "path": path, "answer": answer})
        finally:
            os.close(listener_fd)

    def report(self, record):
        with self.lock:
            self.output.write(json.dumps(record) + "\n")
            self.output.flush()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("socket", help="the listenerPath of the container's seccomp profile")
    parser.add_argument("--allow", action="append", default=[],
                        help="let mkdir under this prefix run for real (repeatable)")
    parser.add_argument("--pretend", action="append", default=[],
                        help="report success for a mkdir of this exact path (repeatable)")
    parser.add_argument("--once", action="store_true",
                        help="serve one connection, exit when its processes are gone")
    options = parser.parse_args(argv)
    agent = Agent(options.allow, options.pretend)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    server.bind(options.socket)
    server.listen(8)
    sys.stderr.write(f"seccomp agent: listening on {options.socket}\n")
    sys.stderr.flush()
    try:
        while True:
            connection, _ = server.accept()
            with connection:
                state, listener_fd = notify.receive_listener_fd(connection)
            sys.stderr.write(f"seccomp agent: container {state['state']['id']} process "
                             f"{state['pid']} (metadata {state.get('metadata', '')!r})\n")
            if options.once:
                agent.serve(listener_fd)
                return 0
            threading.Thread(target=agent.serve, args=(listener_fd,), daemon=True).start()
    except KeyboardInterrupt:
        return 0
    finally:
        server.close()
        os.unlink(options.socket)


if __name__ == "__main__":
    sys.exit(main())
