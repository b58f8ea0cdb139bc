"""Bringing up the loopback interface of a container's network namespace from the runtime.

create's executor does it from inside (its LOOPBACK_UP step).  A restored container's network
namespace is made empty by CRIU (runc's --empty-ns network, always on: the interfaces are the
runtime's to set up), so restore does it from here, while CRIU waits in its "setup-namespaces"
notification: a socket is made in that namespace, and the interface flags set through it.
"""
import fcntl
import os
import socket
import struct

from oci_runtime.errors import OCIError

_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_CLONE_NEWNET = 0x40000000


def loopback_up(pid: int) -> None:
    """Set "lo" up in the network namespace of ``pid``."""
    from oci_runtime.kernel import syscalls as kernel

    theirs = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    ours = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        kernel.setns(theirs, _CLONE_NEWNET)
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        finally:
            kernel.setns(ours, _CLONE_NEWNET)  # a socket keeps the namespace it was made in
        with sock:
            request = struct.pack("16sH14x", b"lo", 0)
            flags = struct.unpack("16sH14x", fcntl.ioctl(sock, _SIOCGIFFLAGS, request))[1]
            fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))
    except OSError as exc:
        raise OCIError.from_os(f"bringing up the loopback interface of pid {pid}'s network "
                               "namespace", exc) from None
    finally:
        os.close(theirs)
        os.close(ours)
