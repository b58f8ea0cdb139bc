"""oci_runtime.container.transaction and the init channel's failure paths, without containers."""
import os
import signal
import time

import pytest

from oci_runtime.errors import OCIError
from oci_runtime.container.transaction import CreateInterrupted, CreateTransaction


def test_undo_runs_newest_first_and_a_failing_step_only_warns():
    done, warnings = [], []
    with pytest.raises(OCIError, match="^the step that failed$"):
        with CreateTransaction(warnings.append) as transaction:
            transaction.on_undo("first", lambda: done.append("first"))
            transaction.on_undo("broken", lambda: 1 / 0)
            transaction.on_undo("last", lambda: done.append("last"))
            raise OCIError("the step that failed")
    assert done == ["last", "first"]
    assert warnings == ["undoing a failed create: broken: division by zero"]


def test_commit_undoes_nothing_and_restores_the_signal_handlers():
    before = signal.getsignal(signal.SIGTERM)
    done = []
    with CreateTransaction() as transaction:
        assert signal.getsignal(signal.SIGTERM) != before
        transaction.on_undo("step", lambda: done.append("undone"))
    assert done == []
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_signal_aborts_and_a_second_one_does_not_interrupt_the_undo():
    done = []

    def slow_undo():
        os.kill(os.getpid(), signal.SIGTERM)  # blocked during the undo, then discarded
        time.sleep(0.05)
        done.append("undone")

    previous = signal.signal(signal.SIGTERM, lambda *_: done.append("after"))
    try:
        with pytest.raises(CreateInterrupted, match="^create interrupted by SIGTERM"):
            with CreateTransaction() as transaction:
                transaction.on_undo("slow", slow_undo)
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert done == ["undone"]


def test_the_init_is_killed_and_reaped_by_the_undo():
    pid = os.fork()
    if pid == 0:
        time.sleep(60)
        os._exit(0)
    steps = []
    with pytest.raises(OCIError):
        with CreateTransaction() as transaction:
            transaction.before_init_continues(lambda init, t: steps.append(init.pid))
            transaction.init_started(pid)
            raise OCIError("later step failed")
    assert steps == [pid]
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # killed and reaped


def test_forked_children_get_the_handlers_from_before_the_transaction():
    read_end, write_end = os.pipe()
    with CreateTransaction():
        pid = os.fork()
        if pid == 0:
            os.write(write_end, b"default" if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
                     else b"changed")
            os._exit(0)
        os.waitpid(pid, 0)
    assert os.read(read_end, 16) == b"default"


class _NoSteps:
    steps = []


def _session_pair():
    import socket

    from oci_runtime.executor.session import Session

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return Session(_NoSteps(), 0, ours), theirs


def _executor_fails(sock):
    """What the executor does when a step fails: one error frame, then exit (close)."""
    from oci_runtime.executor import wire

    sock.sendall(wire.pack_frame(wire.MSG_ERROR, 3, 22, b"mounting /mnt"))
    sock.close()


def test_a_send_to_an_executor_that_failed_raises_its_error_frame():
    from oci_runtime.executor import wire

    session, executor = _session_pair()
    _executor_fails(executor)
    with pytest.raises(OCIError, match="^executor: step 3: Invalid argument mounting /mnt$"):
        session.send(wire.MSG_GO, b"creating", b"created")


def test_a_receive_after_the_executor_closed_with_our_message_unread_raises_its_error_frame():
    """The executor closed with our frame unread (the kernel then reports ECONNRESET): the
    error frame it sent before closing must still be read, not lost as 'exited without
    reporting an error'."""
    from oci_runtime.executor import wire

    session, executor = _session_pair()
    session.send(wire.MSG_GO, b"creating", b"created")  # never read by the executor
    _executor_fails(executor)
    with pytest.raises(OCIError, match="^executor: step 3: Invalid argument mounting /mnt$"):
        session.receive(wire.MSG_HOOKS, wire.MSG_CREATED)


def test_a_send_to_a_killed_executor_says_it_exited():
    from oci_runtime.executor import wire

    session, executor = _session_pair()
    executor.close()
    with pytest.raises(OCIError, match="exited without reporting an error"):
        session.send(wire.MSG_GO, b"creating", b"created")


def test_the_cli_reports_an_internal_broken_pipe(monkeypatch, capsys, tmp_path):
    """Only a closed stdout is a silent exit 1; an EPIPE anywhere else is one line."""
    from oci_runtime import cli
    from oci_runtime.container import lifecycle as container

    def broken(*_args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(container.StoredContainer, "load", classmethod(broken))
    assert cli.main(["--root", str(tmp_path), "state", "c1"]) == 1
    assert capsys.readouterr().err == ("oci-runtime: internal: Broken pipe (a process of the "
                                       "runtime exited early)\n")


def test_a_transaction_outside_the_main_thread_still_undoes():
    import threading

    done, errors = [], []

    def body():
        try:
            with CreateTransaction() as transaction:
                transaction.on_undo("step", lambda: done.append("undone"))
                raise OCIError("failed")
        except OCIError as exc:
            errors.append(str(exc))

    worker = threading.Thread(target=body)
    worker.start()
    worker.join(5)
    assert done == ["undone"] and errors == ["failed"]
