"""POSIX-platform hooks (config.md "POSIX-platform Hooks"): each hook gets the container state
as JSON on stdin, its own args and env (the runtime's environment when it has no "env"), and an
optional timeout in seconds."""

from oci_runtime import OCI_VERSION
from oci_runtime.kernel import hotpath
from oci_runtime.errors import OCIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class HookError(OCIError):
    """A hook failed: create then destroys the container and still runs the poststop hooks
    (runtime.md lifecycle, steps 3-5 continue at 12-13)."""

# poll(2) takes milliseconds in an int.
_LONGEST_TIMEOUT = (2 ** 31 - 1) // 1000

# Hook kinds in lifecycle order; poststop failures only warn, every other kind is fatal.
HOOK_KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
              "poststop")


def run_hooks(hooks: "dict[str, Any]", kind: str, state: "dict[str, Any]",
              warn: "Callable[[str], None] | None" = None) -> None:
    """Run every hook of ``kind`` in order.  A failure raises OCIError naming the hook, or, when
    ``warn`` is given (poststop), is reported through it and the rest still run."""
    import os
    import subprocess

    payload = hotpath.dumps(state).encode()
    # In the bundle, as runc runs them (its create and run work there): a hook may name files
    # relative to it.  A bundle removed before poststop leaves the runtime's own directory.
    bundle = state.get("bundle") or ""
    cwd = bundle if os.path.isdir(bundle) else None
    for index, hook in enumerate(hooks.get(kind) or ()):
        path = hook["path"]
        args = hook.get("args") or [path]
        env: "dict[str, str] | None" = None  # without "env", the runtime's own (runc, crun)
        if hook.get("env") is not None:
            env = {}
            for entry in hook["env"]:
                key, sep, value = entry.partition("=")
                if sep:
                    env[key] = value
        timeout = hook.get("timeout")
        if timeout is not None and timeout > _LONGEST_TIMEOUT:
            timeout = None  # longer than poll(2) can wait (24 days): the same as none
        where = f"hooks.{kind}[{index}] ({path})"
        try:
            result = subprocess.run(
                args, executable=path, input=payload, env=env, timeout=timeout, cwd=cwd,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, close_fds=True,
            )
            if result.returncode != 0:
                detail = result.stderr.decode(errors="replace").strip().splitlines()
                reason = f"exit status {result.returncode}"
                if result.returncode < 0:
                    reason = f"killed by signal {-result.returncode}"
                problem = f"{where} failed: {reason}" + (f": {detail[-1]}" if detail else "")
            else:
                continue
        except subprocess.TimeoutExpired:
            problem = f"{where} timed out after {timeout} s"
        except OSError as exc:
            problem = f"{where} could not run: {exc.strerror}"
        except ValueError as exc:  # a NUL in the path, args or env
            problem = f"{where} could not run: {exc}"
        if warn is None:
            raise HookError(problem)
        warn(problem)


def hook_state(container_id: str, status: str, pid: int, bundle: str,
               annotations: "dict[str, str] | None") -> "dict[str, Any]":
    state: "dict[str, Any]" = {"ociVersion": OCI_VERSION, "id": container_id, "status": status,
                               "pid": pid,
             "bundle": bundle}
    if annotations:
        state["annotations"] = annotations
    return state
