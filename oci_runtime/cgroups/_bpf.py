"""bpf(2) through cffi ABI mode on libc's syscall(): load a BPF_PROG_TYPE_CGROUP_DEVICE program and
attach it to a cgroup v2 directory with BPF_F_ALLOW_MULTI, replacing (detaching) older programs.

Imported only when device rules are set on cgroup v2 (keeps `import oci_runtime.cgroups` cheap).
"""

import os

from cffi import FFI

from oci_runtime.errors import OCIError

_ffi = FFI()
_ffi.cdef("long syscall(long number, ...);")
_libc = _ffi.dlopen(None)

_SYS_BPF = {"x86_64": 321, "aarch64": 280, "armv7l": 386, "ppc64le": 361, "s390x": 351,
            "riscv64": 280, "i686": 357, "loongarch64": 280}.get(os.uname().machine, 321)

BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_DETACH = 9
BPF_PROG_GET_FD_BY_ID = 13
BPF_PROG_QUERY = 16
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
BPF_F_ALLOW_MULTI = 2
_ATTR_SIZE = 128


def _bpf(cmd, attr):
    _ffi.errno = 0
    ret = _libc.syscall(_ffi.cast("long", _SYS_BPF), _ffi.cast("int", cmd), attr,
                        _ffi.cast("unsigned int", _ATTR_SIZE))
    if ret < 0:
        err = _ffi.errno
        raise OSError(err, os.strerror(err))
    return int(ret)


def _put(buf, off, size, value):
    buf[off:off + size] = int(value).to_bytes(size, "little")


def load_program(code_bytes, license="Apache"):
    """BPF_PROG_LOAD; returns the program fd.  On failure the verifier log is put in the message."""
    n = len(code_bytes) // 8
    insns = _ffi.new("char[]", code_bytes)
    lic = _ffi.new("char[]", license.encode())
    log = _ffi.new("char[]", 65536)
    attr = _ffi.new("char[]", _ATTR_SIZE)
    buf = _ffi.buffer(attr)
    b = bytearray(_ATTR_SIZE)
    _put(b, 0, 4, BPF_PROG_TYPE_CGROUP_DEVICE)
    _put(b, 4, 4, n)
    _put(b, 8, 8, int(_ffi.cast("uintptr_t", insns)))
    _put(b, 16, 8, int(_ffi.cast("uintptr_t", lic)))
    buf[:] = bytes(b)
    try:
        return _bpf(BPF_PROG_LOAD, attr)
    except OSError:
        # retry with the verifier log for a useful message
        _put(b, 24, 4, 1)
        _put(b, 28, 4, 65536)
        _put(b, 32, 8, int(_ffi.cast("uintptr_t", log)))
        buf[:] = bytes(b)
        try:
            return _bpf(BPF_PROG_LOAD, attr)
        except OSError as exc:
            msg = _ffi.string(log).decode("utf-8", "replace").strip()
            raise OSError(exc.errno, f"{exc.strerror}{': ' + msg[-400:] if msg else ''}") from None


def _attach_detach(cmd, cgroup_fd, prog_fd, flags=0):
    attr = _ffi.new("char[]", _ATTR_SIZE)
    b = bytearray(_ATTR_SIZE)
    _put(b, 0, 4, cgroup_fd)
    _put(b, 4, 4, prog_fd)
    _put(b, 8, 4, BPF_CGROUP_DEVICE)
    _put(b, 12, 4, flags)
    _ffi.buffer(attr)[:] = bytes(b)
    return _bpf(cmd, attr)


def query_programs(cgroup_fd):
    """IDs of the device programs attached directly to the cgroup."""
    ids = _ffi.new("unsigned int[]", 64)
    attr = _ffi.new("char[]", _ATTR_SIZE)
    b = bytearray(_ATTR_SIZE)
    _put(b, 0, 4, cgroup_fd)
    _put(b, 4, 4, BPF_CGROUP_DEVICE)
    _put(b, 16, 8, int(_ffi.cast("uintptr_t", ids)))
    _put(b, 24, 4, 64)
    _ffi.buffer(attr)[:] = bytes(b)
    _bpf(BPF_PROG_QUERY, attr)
    cnt = int.from_bytes(_ffi.buffer(attr)[24:28], "little")
    return [int(ids[i]) for i in range(min(cnt, 64))]


def _prog_fd_by_id(prog_id):
    attr = _ffi.new("char[]", _ATTR_SIZE)
    b = bytearray(_ATTR_SIZE)
    _put(b, 0, 4, prog_id)
    _ffi.buffer(attr)[:] = bytes(b)
    return _bpf(BPF_PROG_GET_FD_BY_ID, attr)


def attach_device_filter(cgroup_dir, code_bytes, field="linux.resources.devices"):
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
                           exc.errno) from exc
        try:
            _attach_detach(BPF_PROG_ATTACH, cg, prog, BPF_F_ALLOW_MULTI)
        except OSError as exc:
            raise OCIError(f"{field}: attaching the BPF device filter to {cgroup_dir}: {exc.strerror}",
                           exc.errno) from exc
        for pid in old:
            try:
                ofd = _prog_fd_by_id(pid)
            except OSError:
                continue
            try:
                _attach_detach(BPF_PROG_DETACH, cg, ofd)
            except OSError as exc:
                raise OCIError(f"{field}: detaching the old BPF device filter (id {pid}) from "
                               f"{cgroup_dir}: {exc.strerror}", exc.errno) from exc
            finally:
                os.close(ofd)
    finally:
        if prog >= 0:
            os.close(prog)
        os.close(cg)
