"""oci_runtime.seccomp against the real kernel and libseccomp: SCMP_ACT_NOTIFY listeners, the
compiled-filter cache and the package's import cost (the filters run in forked children, as in
test_seccomp.py; seccomp_child.py has the helpers)."""

import errno
import json
import os
import socket
import subprocess
import sys

import pytest

from oci_runtime.errors import OCIError
from oci_runtime import seccomp
from oci_runtime.seccomp import notify
from seccomp_child import (
    REPO_ROOT, DOCKER_PROFILE, load_docker_profile, CHILD_TIMEOUT, run_in_child, errno_of,
    allow_all_but, load_filter, set_no_new_privs,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="installs seccomp filters and changes uid: needs root")


# --- SCMP_ACT_NOTIFY ----------------------------------------------------------------------------

def test_notify_listener_fd_reaches_the_agent_which_answers_the_syscalls(tmp_path):
    socket_path = tmp_path / "agent.sock"
    directory = tmp_path / "notified-mkdir"
    profile = allow_all_but({"names": ["getpgid", "mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"})
    profile |= {"listenerPath": str(socket_path), "listenerMetadata": "MKNOD=/dev/null"}
    received = {}

    def body():
        compiled = seccomp.compile_filter(profile)
        set_no_new_privs()
        listener_fd = load_filter(compiled, want_listener=compiled.uses_notify)
        state = {"ociVersion": "1.3.0", "id": "notify-test", "status": "creating", "pid": os.getpid(),
                 "bundle": str(tmp_path), "annotations": {"k": "v"}}
        seccomp.send_listener_fd(compiled.listener_path, listener_fd, state, compiled.listener_metadata)
        os.close(listener_fd)  # the agent holds its own copy now
        return {"getpgid": os.getpgid(0), "mkdir": errno_of(lambda: os.mkdir(directory))}

    def agent(child_pid):
        connection, _ = server.accept()
        with connection:
            message, listener_fd = notify.receive_listener_fd(connection)
        try:
            received["message"] = message
            first = notify.receive(listener_fd, timeout=CHILD_TIMEOUT)
            received["first"] = first
            notify.respond(listener_fd, first.id, value=4242)
            second = notify.receive(listener_fd, timeout=CHILD_TIMEOUT)
            received["second"] = second
            notify.respond(listener_fd, second.id, error=errno.EROFS)
            received["first_still_valid"] = notify.id_valid(listener_fd, first.id)
        finally:
            os.close(listener_fd)
        received["child_pid"] = child_pid

    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(socket_path))
        server.listen(1)
        server.settimeout(CHILD_TIMEOUT)
        result = run_in_child(body, before_wait=agent)
    finally:
        server.close()
        socket_path.unlink(missing_ok=True)

    assert result.exit_code == 0
    assert result.report == {"getpgid": 4242, "mkdir": errno.EROFS}
    assert not directory.exists()

    child_pid = received["child_pid"]
    message = received["message"]
    assert message == {
        "ociVersion": "1.3.0", "fds": ["seccompFd"], "pid": child_pid, "metadata": "MKNOD=/dev/null",
        "state": {"ociVersion": "1.3.0", "id": "notify-test", "status": "creating", "pid": child_pid,
                  "bundle": str(tmp_path), "annotations": {"k": "v"}},
    }
    first, second = received["first"], received["second"]
    assert first.pid == second.pid == child_pid
    assert first.args[0] == 0  # getpgid(0)
    if os.uname().machine == "x86_64":
        assert (first.syscall_number, second.syscall_number) == (121, 83)  # getpgid, mkdir
    assert second.args[0] != 0  # the path pointer
    assert received["first_still_valid"] is False


def test_send_listener_fd_fails_clearly_without_an_agent(tmp_path):
    read_fd, write_fd = os.pipe()
    try:
        with pytest.raises(OCIError, match=r"^seccomp: sending the listener fd to .*/absent.sock: "):
            seccomp.send_listener_fd(str(tmp_path / "absent.sock"), read_fd, {"pid": 1})
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_send_listener_fd_reaches_a_socket_path_longer_than_sun_path(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    socket_path = deep / "agent.sock"
    assert len(str(socket_path)) > 108
    read_fd, write_fd = os.pipe()
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # bind() has the same 108-byte limit; reach the directory through /proc like the sender does.
        directory_fd = os.open(deep, os.O_PATH)
        try:
            server.bind(f"/proc/self/fd/{directory_fd}/agent.sock")
        finally:
            os.close(directory_fd)
        server.listen(1)
        seccomp.send_listener_fd(str(socket_path), write_fd, {"pid": 42, "id": "x"})
        connection, _ = server.accept()
        with connection:
            message, passed_fd = notify.receive_listener_fd(connection)
        os.write(passed_fd, b"through")
        os.close(passed_fd)
        assert os.read(read_fd, 16) == b"through"
        assert message == {"ociVersion": "1.3.0", "fds": ["seccompFd"], "pid": 42, "state": {"pid": 42, "id": "x"}}
    finally:
        server.close()
        socket_path.unlink(missing_ok=True)
        os.close(read_fd)
        os.close(write_fd)


# --- cache --------------------------------------------------------------------------------------

def test_cache_hit_returns_identical_bytes_without_libseccomp(tmp_path, monkeypatch):
    from oci_runtime.seccomp import _libseccomp

    cache_dir = tmp_path / "cache"
    profile = load_docker_profile()
    cold = seccomp.compile_filter(profile, cache_dir=str(cache_dir))
    assert cold.from_cache is False
    entries = list(cache_dir.iterdir())
    assert len(entries) == 1 and entries[0].suffix == ".json"
    assert entries[0].stat().st_mode & 0o777 == 0o600

    def refuse(*args, **kwargs):
        raise AssertionError("libseccomp was called on a cache hit")

    monkeypatch.setattr(_libseccomp, "generate_bpf", refuse)
    monkeypatch.setattr(_libseccomp, "_load", refuse)
    warm = seccomp.compile_filter(profile, cache_dir=str(cache_dir))
    assert warm.from_cache is True
    assert warm.bpf == cold.bpf
    assert warm.warnings == cold.warnings

    # listenerPath and listenerMetadata do not shape the program: same entry, fresh values.
    with_agent = dict(profile, listenerPath="/run/agent.sock", listenerMetadata="m")
    hit = seccomp.compile_filter(with_agent, cache_dir=str(cache_dir))
    assert hit.from_cache is True and hit.listener_path == "/run/agent.sock" and hit.listener_metadata == "m"

    # Validation still runs on a hit.
    with pytest.raises(OCIError, match="unknown flag"):
        seccomp.compile_filter(dict(profile, flags=["BOGUS"]), cache_dir=str(cache_dir))


def test_cache_hit_in_a_fresh_interpreter_never_loads_cffi_or_libseccomp(tmp_path):
    cache_dir = tmp_path / "cache"
    seccomp.compile_filter(load_docker_profile(), cache_dir=str(cache_dir))
    script = (
        "import json, sys\n"
        "from oci_runtime import seccomp\n"
        f"compiled = seccomp.compile_filter(json.load(open({str(DOCKER_PROFILE)!r})), cache_dir={str(cache_dir)!r})\n"
        "loaded = {'from_cache': compiled.from_cache,"
        " 'cffi_backend': '_cffi_backend' in sys.modules,"
        " 'libseccomp_mapped': 'libseccomp' in open('/proc/self/maps').read()}\n"
        "seccomp.kernel_supports_flag(1)  # the kernel seam: pre-generated bindings only\n"
        "loaded['cdef_parser_after_kernel_call'] = 'pycparser' in sys.modules or 'cffi' in sys.modules\n"
        "print(json.dumps(loaded))\n"
    )
    output = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, check=True,
                            capture_output=True, text=True).stdout
    assert json.loads(output) == {"from_cache": True, "cffi_backend": False, "libseccomp_mapped": False,
                                  "cdef_parser_after_kernel_call": False}


def test_pregenerated_cffi_modules_match_the_declarations():
    from oci_runtime.seccomp import _cffi_build

    for module_name in _cffi_build.MODULES:
        with open(_cffi_build.module_path(module_name)) as module_file:
            assert module_file.read() == _cffi_build.generated_source(module_name), (
                f"{module_name} is stale: run python -m oci_runtime.seccomp._cffi_build")


def test_cache_key_changes_with_the_program_and_damaged_entries_are_rewritten(tmp_path):
    cache_dir = tmp_path / "cache"
    first = seccomp.compile_filter(allow_all_but({"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}),
                                   cache_dir=str(cache_dir))
    other = seccomp.compile_filter(allow_all_but({"names": ["getppid"], "action": "SCMP_ACT_ERRNO"}),
                                   cache_dir=str(cache_dir))
    assert not other.from_cache and other.bpf != first.bpf
    assert len(list(cache_dir.iterdir())) == 2

    for entry in cache_dir.iterdir():
        entry.write_text('{"format": "oci-runtime-seccomp-cache/1", "bpf": "00')  # truncated
    again = seccomp.compile_filter(allow_all_but({"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}),
                                   cache_dir=str(cache_dir))
    assert not again.from_cache and again.bpf == first.bpf
    hit = seccomp.compile_filter(allow_all_but({"names": ["getpid"], "action": "SCMP_ACT_ERRNO"}),
                                 cache_dir=str(cache_dir))
    assert hit.from_cache and hit.bpf == first.bpf


def test_cache_directory_writable_by_others_is_not_trusted(tmp_path):
    cache_dir = tmp_path / "shared-cache"
    cache_dir.mkdir()
    cache_dir.chmod(0o777)
    compiled = seccomp.compile_filter({"defaultAction": "SCMP_ACT_ALLOW"}, cache_dir=str(cache_dir))
    assert not compiled.from_cache
    assert any("writable by other users" in warning for warning in compiled.warnings)
    assert list(cache_dir.iterdir()) == []


# --- import cost --------------------------------------------------------------------------------

def test_importing_the_package_loads_neither_cffi_nor_re():
    script = ("import sys\nimport oci_runtime.seccomp\n"
              "print(sorted(m for m in ('cffi', 're', 'json', 'dataclasses', 'socket') if m in sys.modules))")
    # -S: no site hooks, which in some environments import re themselves.
    output = subprocess.run([sys.executable, "-S", "-c", script], cwd=REPO_ROOT, check=True,
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}).stdout
    assert output.strip() == "[]"
