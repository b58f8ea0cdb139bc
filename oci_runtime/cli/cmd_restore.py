"""restore [options] ID: make container ID from a bundle's config with its processes restored by
CRIU from a checkpoint (runc's restore); unless --detach, wait for it and exit with its status."""
from oci_runtime.cli.args import UsageError, parse
from oci_runtime.cli.cmd_checkpoint import CRIU_OPTIONS, REPEATABLE, common_values
from oci_runtime.cli.cmd_run import OPTIONS as RUN_OPTIONS

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from oci_runtime.cli import Context
    from oci_runtime.cli.args import OptionTable

OPTIONS: "OptionTable" = dict(CRIU_OPTIONS, **{
    name: RUN_OPTIONS[name] for name in ("--bundle", "--detach", "--pid-file",
                                         "--console-socket")}, **{
    "--no-subreaper": (None, None, None, "do not reap the container's processes orphaned to the "
                       "runtime while it waits (without --detach)"),
    "--lsm-profile": (None, "TYPE:NAME", None, "the LSM profile (apparmor:NAME or selinux:LABEL) "
                      "the restored processes get"),
    "--lsm-mount-context": (None, "CONTEXT", None, "the SELinux mount context of the restored "
                            "mounts"),
    # runc's, with what they mean here (no option is silently ignored: help says what they do).
    "--no-pivot": (None, None, None, "accepted as runc does: CRIU enters the root with its own "
                   "pivot_root on restore, so it changes nothing"),
})


def run(context: "Context", argv: "Sequence[str]") -> int:
    values, positionals = parse(argv, OPTIONS, REPEATABLE)
    if len(positionals) != 1:
        raise UsageError("usage: oci-runtime restore [--bundle DIR] [options] CONTAINER_ID")
    common = common_values(values)
    return context.runtime.restore(
        positionals[0], values["bundle"], image_path=common.pop("image_path") or "checkpoint",
        console_socket=values.get("console_socket"), pid_file=values.get("pid_file"),
        detach=values.get("detach", False), subreaper=not values.get("no_subreaper", False),
        lsm_profile=values.get("lsm_profile"),
        lsm_mount_context=values.get("lsm_mount_context"), **common)
