"""Writes the fastest `oci-runtime` command this installation allows.

Callers run the runtime 4 to 6 times per container, so its start-up is the product.  The generic
launcher installed by pip (bin/oci-runtime) must find its interpreter and package at run time: a
/bin/sh exec first, then a search of site-packages.  Once installed, both are known, so this
module writes a launcher with an absolute `#!python -IS` line (no site, no sh) and the package's
path fixed in it.  `scripts/setup` runs it after `pip install`; run it again after moving the venv:

    .venv/bin/python -m oci_runtime.cli.launcher            # rewrites <venv>/bin/oci-runtime
"""
import os
import sys

# Linux reads at most this much of a #! line (BINPRM_BUF_SIZE); a longer one keeps pip's launcher.
_SHEBANG_LIMIT = 255

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from collections.abc import Iterable

TEMPLATE = """#!{python} -IS
# Written by `python -m oci_runtime.cli.launcher` for this installation: the interpreter runs without
# site (-S) and isolated (-I), so the package's location is given here instead of searched for.
import sys
sys.path[:0] = {paths!r}
from oci_runtime.cli import main_and_exit
main_and_exit()
"""


def launcher_text(python: str, paths: "Iterable[str]") -> str:
    return TEMPLATE.format(python=python, paths=list(paths))


def installation_paths() -> "list[str]":
    """Where `oci_runtime` and the modules it imports (cffi's backend) are found now."""
    import oci_runtime

    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(oci_runtime.__file__)))
    paths = [package_parent]
    try:
        import _cffi_backend

        backend_dir = os.path.dirname(os.path.abspath(_cffi_backend.__file__))
        if backend_dir not in paths:
            paths.append(backend_dir)
    except ImportError:
        pass  # create/exec will report it; state/start/kill do not need it
    return paths


def install(bin_dir: str | None = None) -> str | None:
    bin_dir = bin_dir or os.path.dirname(os.path.abspath(sys.executable))
    python = os.path.join(bin_dir, "python3") if os.path.exists(
        os.path.join(bin_dir, "python3")) else sys.executable
    if len(f"#!{python} -IS") > _SHEBANG_LIMIT:
        print(f"oci-runtime launcher: interpreter path longer than {_SHEBANG_LIMIT} bytes; "
              "keeping the generic launcher", file=sys.stderr)
        return None
    target = os.path.join(bin_dir, "oci-runtime")
    temporary = f"{target}.tmp.{os.getpid()}"
    with open(temporary, "w") as launcher:
        launcher.write(launcher_text(python, installation_paths()))
    os.chmod(temporary, 0o755)
    os.rename(temporary, target)
    return target


if __name__ == "__main__":
    written = install(sys.argv[1] if len(sys.argv) > 1 else None)
    if written:
        print(f"wrote {written}")
