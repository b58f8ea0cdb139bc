"""`checkpoint` and `restore` of real containers with CRIU: what a container holds (open files,
pipes, its stdio, a terminal, TCP connections), lazy pages, and a restore killed half-way."""
import json
import os
import subprocess

from tests.criu.conftest import mounts_under, restore, run_detached, wait_counting
from tests.waiting import FAILURE_AFTER, wait_until
from tests.criu.test_checkpoint_restore import counter_bundle


def test_open_files_and_pipes_survive_and_stdio_is_the_restorers(oci, make_bundle, tmp_path):
    script = ("exec 3>>/tmp/log; i=0; "
              "while :; do i=$((i+1)); echo line$i >&3; echo out$i; sleep 0.05; done "
              "| while read l; do echo $l; echo $l > /tmp/count-line; done")
    bundle, cid = make_bundle(["sh", "-c", script])
    if True:
        proc = subprocess.Popen(oci.command + ["--root", oci.root, "run", "--detach", "--bundle",
                                               str(bundle), cid],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL)
        reader = proc.stdout
        proc.wait(timeout=FAILURE_AFTER)
        assert proc.returncode == 0
        log = bundle / "rootfs" / "tmp" / "log"
        wait_until(lambda: log.exists() and log.read_text().count("\n") >= 5, "the log")
        assert reader.read1(4096).startswith(b"out")  # its stdout is our pipe
        images = tmp_path / "images"
        oci("checkpoint", "--image-path", str(images), cid, check=True)
        entries = json.loads((images / "descriptors.json").read_text())
        assert entries[1].startswith("pipe:[")
        reader.close()
        lines_before = log.read_text().splitlines()
        # restore with our stdout a new pipe: the container's pipe end is now ours
        restorer = subprocess.Popen(oci.command + ["--root", oci.root, "restore", "--detach",
                                                   "--bundle", str(bundle), "--image-path",
                                                   str(images), cid],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        new_reader = restorer.stdout
        restorer.wait(timeout=FAILURE_AFTER)
        assert restorer.returncode == 0, restorer.stderr.read()
        data = new_reader.read1(4096)
        assert data.startswith(b"out") or b"\nout" in data, data
    # (new_reader stays open until the test ends: a closed pipe would SIGPIPE the container)
    wait_until(lambda: len(log.read_text().splitlines()) > len(lines_before) + 3, "more lines")
    lines = log.read_text().splitlines()
    # the file offset and the counter went on: no line twice, none lost, no restart at 1
    numbers = [int(line[4:]) for line in lines]
    assert numbers == list(range(1, len(numbers) + 1))
    assert (bundle / "rootfs" / "tmp" / "count-line").exists()
    oci("delete", "--force", cid, check=True)
    new_reader.close()


def test_a_terminal_container_through_console_sockets(oci, make_bundle, tmp_path):
    from tests.terminal.test_terminal import ConsoleReceiver, terminal_config

    bundle, cid = make_bundle(["sh"], edit=terminal_config())
    (tmp_path / "first").mkdir()
    first = ConsoleReceiver(tmp_path / "first")
    oci("run", "--detach", "--console-socket", first.path, "--bundle", str(bundle), cid,
        check=True)
    first.receive()
    assert "hello-1" in first.converse("echo hello-$((0+1)); x=41\n", "hello-1")
    images = tmp_path / "images"
    oci("checkpoint", "--image-path", str(images), cid, check=True)
    first.close()
    (tmp_path / "second").mkdir()
    second = ConsoleReceiver(tmp_path / "second")
    result = restore(oci, bundle, cid, images, "--console-socket", second.path)
    assert result.returncode == 0
    second.receive()
    # the same shell, with its variable, on the new terminal
    assert "answer-42" in second.converse("echo answer-$((x+1))\n", "answer-42")
    second.close()


def test_an_established_tcp_connection_survives_with_tcp_established(oci, make_bundle,
                                                                       tmp_path):
    """A server and a client talking over the container's own loopback: refused without
    --tcp-established (and left running), restored with it, the stream going on unbroken."""
    # The client starts once the server listens (/proc/net/tcp[6] shows port 5555, 15B3, in
    # state 0A): a connection tried before would be refused, and the stream would never start.
    script = ("sleep 1000 | nc -l -p 5555 > /tmp/received & "
              "until grep -qs ':15B3 0*:0000 0A' /proc/net/tcp /proc/net/tcp6; do sleep 0.05; done; "
              "i=0; while :; do i=$((i+1)); echo $i; sleep 0.05; done | nc 127.0.0.1 5555")
    bundle, cid = make_bundle(["sh", "-c", script])
    run_detached(oci, bundle, cid)
    received = bundle / "rootfs" / "tmp" / "received"

    def lines():
        return received.read_text().split() if received.exists() else []
    wait_until(lambda: len(lines()) >= 5, "data over the connection")
    images = tmp_path / "images"
    refused = oci("checkpoint", "--image-path", str(images), cid)
    assert refused.returncode == 1 and f"(log: {images}/dump.log)" in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    count = len(lines())
    wait_until(lambda: len(lines()) > count + 3, "the stream to go on after the refusal")
    oci("checkpoint", "--tcp-established", "--image-path", str(images), cid, check=True)
    before = lines()
    restore(oci, bundle, cid, images, "--tcp-established")
    wait_until(lambda: len(lines()) > len(before) + 5, "the stream after restore")
    numbers = [int(n) for n in lines()]
    assert numbers == list(range(1, len(numbers) + 1))  # nothing lost, nothing twice


def _free_port():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_lazy_pages_status_fd_and_the_page_server(oci, make_bundle, tmp_path):
    """checkpoint --lazy-pages: CRIU dumps all but the memory and serves that from its page
    server; --status-fd gets a NUL byte once it listens (runc's protocol, through CRIU's
    status-ready notification); the checkpoint ends when the page client is done (here one that
    connects and leaves), and the container is then stopped and deleted, as runc's.

    A whole lazy migration (criu lazy-pages, restore --lazy-pages) is not run: CRIU 4.2's page
    server fails on this kernel ("page-pipe: splice: Bad file descriptor"), with runc 1.1.5 too,
    and its restore then never returns."""
    import socket

    bundle, cid = counter_bundle(make_bundle)
    run_detached(oci, bundle, cid)
    wait_counting(bundle, 3)
    images, work = tmp_path / "images", tmp_path / "work"
    port = _free_port()
    ready, ready_writer = os.pipe()
    with open(tmp_path / "checkpoint.err", "w+") as errors:
        checkpointer = subprocess.Popen(
            oci.command + ["--root", oci.root, "checkpoint", "--lazy-pages", "--page-server",
                           f"127.0.0.1:{port}", "--status-fd", str(ready_writer), "--image-path",
                           str(images), "--work-path", str(work), cid],
            pass_fds=[ready_writer], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=errors)
        os.close(ready_writer)
        try:
            assert os.read(ready, 1) == b"\0", (tmp_path / "checkpoint.err").read_text()
            assert os.read(ready, 1) == b""  # written once, then closed
            assert (images / "pstree.img").exists()  # all but the memory is dumped already
            assert checkpointer.poll() is None  # serving pages
            with socket.create_connection(("127.0.0.1", port), timeout=FAILURE_AFTER):
                pass
            assert checkpointer.wait(timeout=FAILURE_AFTER) == 0, \
                (tmp_path / "checkpoint.err").read_text()
        finally:
            os.close(ready)
            if checkpointer.poll() is None:
                checkpointer.kill()
                checkpointer.wait()
    assert oci("state", cid).returncode == 1  # checkpointed: stopped and deleted


def test_a_restore_killed_while_criu_runs_is_deleted_with_its_mount(oci, make_bundle, tmp_path):
    """SIGKILL undoes nothing (as for create): what is left reads as stopped, and delete --force
    removes it, the rootfs bound for CRIU at <state dir>/criu-root included."""
    bundle, cid = counter_bundle(make_bundle)
    run_detached(oci, bundle, cid)
    wait_counting(bundle, 2)
    images = tmp_path / "images"
    oci("checkpoint", "--image-path", str(images), cid, check=True)
    # a CRIU that never answers (and exits when its RPC socket, fd 3, closes): the restore is
    # killed while it waits for CRIU
    hang = tmp_path / "hanging-criu"
    hang.write_text("#!/bin/sh\nexec cat <&3 >/dev/null\n")
    hang.chmod(0o755)
    restorer = subprocess.Popen(oci.command + ["--root", oci.root, "--criu", str(hang),
                                               "restore", "--detach", "--bundle", str(bundle),
                                               "--image-path", str(images), cid],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    criu_root = os.path.join(oci.root, cid, "criu-root")
    wait_until(lambda: mounts_under(criu_root), "the restore to bind the rootfs")
    restorer.kill()
    restorer.wait()
    assert oci.state(cid)["status"] == "stopped"
    oci("delete", "--force", cid, check=True)
    assert mounts_under(oci.root) == []
    assert not os.path.exists(os.path.join(oci.root, cid))
