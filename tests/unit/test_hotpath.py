"""oci_runtime.kernel.hotpath leans on CPython's private C modules (posix, _signal, _socket, _json,
_thread, _sha2/_sha256): this pins the interpreters it is known to work on, and checks, on every
one of them found here, that each name it takes exists and behaves as the runtime uses it.

To support a new CPython version: run ``python3.X tests/unit/test_hotpath.py`` (no pytest
needed), then widen hotpath.SUPPORTED_PYTHON and requires-python in pyproject.toml together.
"""
import glob
import json
import os
import signal
import socket
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if __name__ == "__main__":
    sys.path.insert(0, REPO)

from oci_runtime.kernel import hotpath  # noqa: E402
from tests.waiting import FAILURE_AFTER, wait_until  # noqa: E402

# The modules hotpath exists to avoid: importing it must load none of them.
AVOIDED = ("os", "json", "re", "signal", "enum", "socket", "hashlib", "_socket", "threading")


def _raises(error, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except error as exc:
        return exc
    raise AssertionError(f"{call.__name__}{args} did not raise {error.__name__}")


def _fresh_python(code):
    """Run ``code`` in a new interpreter like the CLI's (-S: nothing preloaded), this one."""
    return subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                          check=True, timeout=30, env={**os.environ, "PYTHONPATH": REPO}).stdout


def test_this_interpreter_is_in_the_supported_range():
    minimum, limit = hotpath.SUPPORTED_PYTHON
    assert sys.implementation.name == "cpython"
    assert minimum <= sys.version_info[:2] < limit, (sys.version_info, hotpath.SUPPORTED_PYTHON)


def test_requires_python_says_the_supported_range():
    try:
        import tomllib
    except ImportError:  # only pyproject's own range is < 3.11
        raise AssertionError("CPython < 3.11 is outside every supported range") from None
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as pyproject:
        requires = tomllib.load(pyproject)["project"]["requires-python"]
    (minimum, limit) = hotpath.SUPPORTED_PYTHON
    assert requires == f">={minimum[0]}.{minimum[1]},<{limit[0]}.{limit[1]}", requires


def test_importing_hotpath_loads_none_of_what_it_avoids():
    code = ("import sys\nfrom oci_runtime.kernel import hotpath\n"
            f"print([m for m in {AVOIDED!r} if m in sys.modules])\n"
            "hotpath.AF_UNIX\nprint('_socket' in sys.modules)")
    assert _fresh_python(code).split("\n")[:2] == ["[]", "True"]  # _socket on first use only


PRIVATE_MODULES = {"posix", "_socket", "_signal", "_json", "_thread", "_sha2", "_sha256"}


def test_no_other_module_imports_a_private_module():
    import ast

    package = os.path.join(REPO, "oci_runtime")
    importers = set()
    for directory, _, names in os.walk(package):
        for name in names:
            if not name.endswith(".py"):
                continue
            path = os.path.join(directory, name)
            with open(path, encoding="utf-8") as source:
                tree = ast.parse(source.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    imported = {alias.name for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and not node.level:
                    imported = {node.module}
                else:
                    continue
                if imported & PRIVATE_MODULES:
                    importers.add(os.path.relpath(path, package))
    # _image.py is imported before any other module of the package, hotpath included: it
    # takes posix's open, pread and stat itself (oci_runtime/_image.py).
    assert importers == {"kernel/hotpath.py", "_image.py"}, importers


def test_posix_names_are_what_os_exports():
    for name in ("close", "fstat", "getcwd", "getegid", "geteuid", "getpid", "listdir",
                 "mkdir", "open", "pidfd_open", "read", "readlink", "rename", "rmdir", "scandir",
                 "stat", "strerror", "unlink", "write", "O_APPEND", "O_CLOEXEC", "O_CREAT",
                 "O_DIRECTORY", "O_PATH", "O_RDONLY", "O_TRUNC", "O_WRONLY"):
        assert getattr(hotpath, name) is getattr(os, name), name
    assert hotpath.exit_now is os._exit
    # environ is posix's (os.environ wraps it): bytes, as store.default_root reads it.
    assert hotpath.environ is sys.modules["posix"].environ
    assert all(isinstance(key, bytes) and isinstance(value, bytes)
               for key, value in hotpath.environ.items())


def test_exit_now_skips_finalisation():
    code = ("import atexit, sys\nfrom oci_runtime.kernel import hotpath\n"
            "atexit.register(print, 'finalised')\nsys.stdout.write('flushed\\n'); sys.stdout.flush()\n"
            "hotpath.exit_now(7)")
    completed = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                               timeout=30, env={**os.environ, "PYTHONPATH": REPO})
    assert (completed.returncode, completed.stdout) == (7, "flushed\n")


def test_the_command_collects_cycles_late_and_the_library_as_usual():
    code = ("import gc\nprint(gc.get_threshold()[0])\n"
            "import oci_runtime.cli as cli\nfrom oci_runtime import Runtime\n"
            "print(gc.get_threshold()[0])\n"
            "cli.main = lambda: print(gc.get_threshold()[0]) or 0\ncli.main_and_exit()")
    default, library, command = _fresh_python(code).split()
    assert library == default and command == "100000"


def test_signal_names_and_their_behaviour():
    assert (hotpath.SIGKILL, hotpath.SIG_BLOCK, hotpath.SIG_SETMASK) == \
        (signal.SIGKILL, signal.SIG_BLOCK, signal.SIG_SETMASK)
    number = int(signal.SIGUSR1)
    seen = []
    previous = hotpath.signal(number, lambda signum, _frame: seen.append(signum))
    try:
        assert hotpath.getsignal(number) is not None
        # transaction.rollback: block, find it pending (a set), take it without waiting.
        blocked = hotpath.pthread_sigmask(hotpath.SIG_BLOCK, (number,))
        try:
            os.kill(os.getpid(), number)
            assert isinstance(hotpath.sigpending(), set) and number in hotpath.sigpending()
            assert hotpath.sigtimedwait({number}, 0).si_signo == number
            assert hotpath.sigtimedwait({number}, 0) is None
        finally:
            hotpath.pthread_sigmask(hotpath.SIG_SETMASK, blocked)
        os.kill(os.getpid(), number)  # unblocked: the handler runs
        wait_until(lambda: seen, "the handler to run")
        assert seen == [number]
    finally:
        hotpath.signal(number, previous)


def test_pidfd_send_signal_kills_through_a_pidfd():
    child = subprocess.Popen(["sleep", "30"])
    pidfd = hotpath.pidfd_open(child.pid)
    try:
        hotpath.pidfd_send_signal(pidfd, hotpath.SIGKILL)
    finally:
        hotpath.close(pidfd)
    assert child.wait(timeout=FAILURE_AFTER) == -hotpath.SIGKILL


def test_start_new_thread_runs_the_function():
    done = []
    hotpath.start_new_thread(done.append, (1,))
    wait_until(lambda: done, "the new thread to run")
    assert done == [1]


def test_socket_names_and_fd_passing():
    for name in ("AF_UNIX", "SOCK_STREAM", "SOCK_SEQPACKET", "SOCK_CLOEXEC", "SOCK_NONBLOCK",
                 "SOL_SOCKET", "SCM_RIGHTS"):
        assert getattr(hotpath, name) == getattr(socket, name), name
    assert hotpath.CMSG_SPACE(4) == socket.CMSG_SPACE(4)
    _raises(AttributeError, getattr, hotpath, "no_such_name")
    from oci_runtime.kernel.fdpass import receive_with_fd, send_fd

    # executor/session.spawn's pair, and fdpass over it (the console socket, seccomp listener).
    parent, child = hotpath.socketpair(hotpath.AF_UNIX,
                                       hotpath.SOCK_SEQPACKET | hotpath.SOCK_CLOEXEC)
    read_end, write_end = os.pipe()
    try:
        assert send_fd(parent, b"fd", write_end) == 2
        data, received = receive_with_fd(child, 16)
        assert data == b"fd" and received is not None and received != write_end
        os.write(received, b"x")
        os.close(received)
        assert os.read(read_end, 1) == b"x"
    finally:
        for end in (parent, child):
            end.close()
        os.close(read_end)
        os.close(write_end)
    # store._start_socket_listens's probe: a non-blocking connect to nobody is refused.
    probe = hotpath.socket(hotpath.AF_UNIX, hotpath.SOCK_STREAM | hotpath.SOCK_NONBLOCK)
    try:
        _raises(OSError, probe.connect, "/nonexistent/start.sock")
    finally:
        probe.close()


CORPUS = [None, True, False, 0, -1, 1.5, 2 ** 64, "", "é \"\\\n\x00", "\U0001F600", [], {},
          {"b": [1, {"a": None}], "a": "日本"}, {str(i): i for i in range(20)}]


def test_make_encoder_and_make_scanner_round_trip_like_json():
    for value in CORPUS:
        assert hotpath.dumps(value) == json.dumps(value, separators=(",", ":"))
        # The seccomp cache's key: its bytes must stay json.dumps's.
        assert hotpath.dumps(value, sort_keys=True, ensure_ascii=False) == \
            json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert hotpath.loads(hotpath.dumps(value)) == value
        assert hotpath.loads(json.dumps(value, indent=2).encode()) == value
    assert type(hotpath.loads("1.5")) is float and hotpath.loads(str(10 ** 40)) == 10 ** 40
    for text in ("NaN", "[Infinity]", "[1,]", '{"a" 1}', "1 2", ""):
        _raises(ValueError, hotpath.loads, text)
    _raises(ValueError, hotpath.dumps, float("nan"))
    # The encoder is made once: a call that failed half-way must not keep what it was given
    # (the circular-reference markers hold the containers it entered).
    document = [[{1, 2}]]
    held = sys.getrefcount(document)
    _raises(TypeError, hotpath.dumps, document)
    assert sys.getrefcount(document) == held
    _raises(ValueError, hotpath.dumps, [[float("inf")]])
    assert hotpath.dumps([[1]]) == "[[1]]"
    _raises(ValueError, hotpath.dumps, float("nan"), sort_keys=True, ensure_ascii=False)


def test_scanner_errors_without_json_imported():
    # _json raises its decode error only once json.decoder is imported (hotpath's SystemError
    # path): a CLI call that reads a broken config.json runs without it.
    code = ("import sys\nfrom oci_runtime.kernel import hotpath\nprint('json' in sys.modules)\n"
            "for text in ('[1,', '{\"a\" 1}', '\"\\\\x\"'):\n"
            "    try:\n        hotpath.loads(text)\n"
            "    except ValueError as exc:\n        print(exc)\n")
    lines = _fresh_python(code).splitlines()
    assert lines[0] == "False"
    assert len(lines) == 4 and all(" at char " in line for line in lines[1:]), lines


def test_sha256_is_the_builtin_module():
    import hashlib

    digest = hotpath.sha256()
    digest.update(b"oci-runtime")
    assert digest.hexdigest() == hashlib.sha256(b"oci-runtime").hexdigest()
    expected = "_sha2" if sys.version_info >= (3, 12) else "_sha256"
    assert type(digest).__module__ == expected, type(digest).__module__


def _supported_interpreters():
    """Every CPython of the supported range found here, one per version (Debian's, pyenv's)."""
    minimum, limit = hotpath.SUPPORTED_PYTHON
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    candidates = sorted(glob.glob("/usr/bin/python3.[0-9]*") + glob.glob(f"{root}/versions/3.*/bin/python3")
                        + glob.glob("/usr/local/bin/python3.[0-9]*"))
    found = {}
    for path in candidates:
        if not os.access(path, os.X_OK) or path.endswith("-config"):
            continue
        try:
            version = subprocess.run([path, "-S", "-c", "import sys; print(*sys.version_info[:3])"],
                                     capture_output=True, text=True, timeout=30).stdout.split()
        except OSError:
            continue
        if len(version) == 3 and minimum <= (int(version[0]), int(version[1])) < limit:
            found.setdefault(".".join(version), path)
    return found


def test_every_supported_interpreter_found_here_passes_these_checks():
    interpreters = _supported_interpreters()
    assert interpreters  # at least the one running this
    failed = {}
    for version, path in interpreters.items():
        completed = subprocess.run([path, "-S", os.path.abspath(__file__)], capture_output=True,
                                   text=True, timeout=120)
        if completed.returncode != 0 or "all passed" not in completed.stdout:
            failed[version] = completed.stdout + completed.stderr
    assert not failed, failed


def _main():
    # The range first: out of it, that is the failure to report.
    checks = [test_this_interpreter_is_in_the_supported_range] + [
        value for name, value in sorted(globals().items())
        if name.startswith("test_") and value is not test_this_interpreter_is_in_the_supported_range
        and value is not test_every_supported_interpreter_found_here_passes_these_checks]
    for check in checks:
        check()
    print(f"CPython {'.'.join(map(str, sys.version_info[:3]))}: {len(checks)} checks, all passed")


if __name__ == "__main__":
    _main()
