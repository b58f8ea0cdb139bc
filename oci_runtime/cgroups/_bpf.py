"""bpf(2), through the runtime's kernel seam: load a BPF_PROG_TYPE_CGROUP_DEVICE program and
attach it to a cgroup v2 directory with BPF_F_ALLOW_MULTI, replacing (detaching) older programs.

Imported only when device rules are set on cgroup v2 (keeps `import oci_runtime.cgroups` cheap).
union bpf_attr is built by hand in a bytearray; its pointer fields hold the addresses of other
bytearrays, which stay alive (and unresized) for the duration of each call.
"""

import os

from oci_runtime.errors import OCIError
from oci_runtime.kernel import syscalls as kernel

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
_ATTR_SIZE = 128
_LOG_SIZE = 65536


def _put(buf: bytearray, off: int, size: int, value: int) -> None:
    buf[off:off + size] = int(value).to_bytes(size, "little")


def load_program(code_bytes: bytes, license: str = "Apache") -> int:
    """BPF_PROG_LOAD; returns the program fd.  On failure the verifier log is put in the message."""
    insns = bytearray(code_bytes)
    lic = bytearray(license.encode() + b"\0")
    log = bytearray(_LOG_SIZE)
    attr = bytearray(_ATTR_SIZE)
    _put(attr, 0, 4, BPF_PROG_TYPE_CGROUP_DEVICE)
    _put(attr, 4, 4, len(code_bytes) // 8)
    _put(attr, 8, 8, kernel.address_of(insns))
    _put(attr, 16, 8, kernel.address_of(lic))
    try:
        return kernel.bpf(BPF_PROG_LOAD, attr)
    except OSError:
        # again with the verifier's log, for a message that says why
        _put(attr, 24, 4, 1)
        _put(attr, 28, 4, _LOG_SIZE)
        _put(attr, 32, 8, kernel.address_of(log))
        try:
            return kernel.bpf(BPF_PROG_LOAD, attr)
        except OSError as exc:
            msg = bytes(log).split(b"\0", 1)[0].decode("utf-8", "replace").strip()
            raise OSError(exc.errno, f"{exc.strerror}{': ' + msg[-400:] if msg else ''}") from None


def _attach_detach(cmd: int, cgroup_fd: int, prog_fd: int, flags: int = 0) -> int:
    attr = bytearray(_ATTR_SIZE)
    _put(attr, 0, 4, cgroup_fd)
    _put(attr, 4, 4, prog_fd)
    _put(attr, 8, 4, BPF_CGROUP_DEVICE)
    _put(attr, 12, 4, flags)
    return kernel.bpf(cmd, attr)


def query_programs(cgroup_fd: int) -> list[int]:
    """IDs of the device programs attached directly to the cgroup."""
    ids = bytearray(4 * 64)
    attr = bytearray(_ATTR_SIZE)
    _put(attr, 0, 4, cgroup_fd)
    _put(attr, 4, 4, BPF_CGROUP_DEVICE)
    _put(attr, 16, 8, kernel.address_of(ids))
    _put(attr, 24, 4, 64)
    kernel.bpf(BPF_PROG_QUERY, attr)
    count = int.from_bytes(attr[24:28], "little")
    return [int.from_bytes(ids[4 * i:4 * i + 4], "little") for i in range(min(count, 64))]


def _prog_fd_by_id(prog_id: int) -> int:
    attr = bytearray(_ATTR_SIZE)
    _put(attr, 0, 4, prog_id)
    return kernel.bpf(BPF_PROG_GET_FD_BY_ID, attr)


def attach_device_filter(cgroup_dir: str, code_bytes: bytes, field: str = "/linux/resources/devices") -> None:
    """Load the program, attach it (ALLOW_MULTI) and detach every device program attached before."""
    try:
        cg = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise OCIError.from_os(f"{field}: opening cgroup {cgroup_dir}", exc) from exc
    prog = -1
    try:
        try:
            old = query_programs(cg)
        except OSError:
            old = []
        try:
            prog = load_program(code_bytes)
        except OSError as exc:
            raise OCIError(f"{field}: loading the BPF device filter for {cgroup_dir}: {exc.strerror}",
                           exc.errno or 0) from exc
        try:
            _attach_detach(BPF_PROG_ATTACH, cg, prog, BPF_F_ALLOW_MULTI)
        except OSError as exc:
            raise OCIError(f"{field}: attaching the BPF device filter to {cgroup_dir}: {exc.strerror}",
                           exc.errno or 0) from exc
        for pid in old:
            try:
                ofd = _prog_fd_by_id(pid)
            except OSError:
                continue
            try:
                _attach_detach(BPF_PROG_DETACH, cg, ofd)
            except OSError as exc:
                raise OCIError(f"{field}: detaching the old BPF device filter (id {pid}) from "
                               f"{cgroup_dir}: {exc.strerror}", exc.errno or 0) from exc
            finally:
                os.close(ofd)
    finally:
        if prog >= 0:
            os.close(prog)
        os.close(cg)
