"""Failures inside the container executor read as one line with what was being done and the
config field (issue 11: no bare OSError from pivot_root, chdir, symlinkat, magic links...)."""


def _create_error(oci, make_bundle, edit, args=("true",)):
    bundle, container_id = make_bundle(list(args), edit=edit)
    result = oci("create", "--bundle", str(bundle), container_id)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert container_id not in oci("list", "-q").stdout
    return result.stderr.strip()


def test_a_masked_path_that_is_a_magic_link_names_the_field(oci, make_bundle):
    message = _create_error(oci, make_bundle,
                            lambda c: c["linux"].update(maskedPaths=["/proc/self/exe"]))
    assert "config.json: /linux/maskedPaths: masking /proc/self/exe:" in message
    assert "symbolic links" in message  # ELOOP: a magic link is never followed


def test_a_cwd_that_is_a_file_names_process_cwd(oci, make_bundle):
    message = _create_error(oci, make_bundle, lambda c: c["process"].update(cwd="/etc/passwd"))
    assert message.startswith("oci-runtime: config.json: /process/cwd: creating /etc/passwd")
    assert "Not a directory" in message


def test_a_mount_on_a_file_names_the_mount(oci, make_bundle):
    def edit(config):
        config["mounts"].append({"destination": "/etc/passwd", "type": "tmpfs",
                                 "source": "tmpfs"})
    message = _create_error(oci, make_bundle, edit)
    assert "config.json: /mounts/" in message and "on /etc/passwd" in message
    assert "Not a directory" in message


def test_a_missing_program_is_runc_s_message(oci, make_bundle):
    message = _create_error(oci, make_bundle, None, args=("no-such-program",))
    assert message == ("oci-runtime: exec: 'no-such-program': executable file not found in $PATH")


def test_a_fork_into_what_is_not_a_cgroup_fails_that_step(tmp_path):
    """clone3(CLONE_INTO_CGROUP) refusing the directory (EBADF: not a cgroup2 one) is the
    step's error, not a silent plain fork (only ENOSYS and E2BIG, a kernel without it, are)."""
    import os

    import pytest

    from oci_runtime.errors import OCIError
    from oci_runtime.executor import session, wire
    from oci_runtime.plan.model import FdArg, Plan

    plan = Plan("create")
    not_a_cgroup = FdArg(str(tmp_path),
                         lambda: os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
    plan.add(wire.FORK, f"forking the container's init into its cgroup {tmp_path}", None,
             (not_a_cgroup,))
    executor = session.spawn(plan)
    try:
        with pytest.raises(OCIError, match="into its cgroup .*: Bad file descriptor"):
            executor.receive(wire.MSG_PID)
    finally:
        executor.close()
        os.waitpid(executor.pid, 0)
