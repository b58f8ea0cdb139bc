"""Writes the fastest `oci-runtime` command this installation allows.

Callers run the runtime 4 to 6 times per container, so its start-up is the product.  The generic
launcher installed by pip (bin/oci-runtime) must find its interpreter and package at run time: a
/bin/sh exec first, then a search of site-packages.  Once installed, both are known, so this
module writes a launcher with an absolute `#!python -IS` line (no site, no sh) and the package's
path fixed in it.  `scripts/setup` runs it after `pip install`; run it again after moving the venv:

    .venv/bin/python -m oci_runtime.cli.launcher            # rewrites <venv>/bin/oci-runtime
"""
import marshal
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
sys.path = [{package!r}, *sys.path, *{rest!r}]
from oci_runtime.cli import main_and_exit
main_and_exit()
"""


def launcher_text(python: str, paths: "Iterable[str]") -> str:
    """The package's directory first; the others (cffi's backend, in site-packages) after the
    standard library's, where site would put them: looking for _json (lib-dynload) then lists
    no site-packages."""
    package, *rest = paths
    return TEMPLATE.format(python=python, package=package, rest=rest)


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


def write_image(package_dir: str | None = None, first: "Iterable[str]" = (),
                warm: "Iterable[str]" = ()) -> str:
    """The import image of the package in ``package_dir`` (default: this one; the format is in
    oci_runtime/_image.py): the modules ``first`` lists make its head, those ``warm`` lists
    its warm part (each in that order); returns its path."""
    from oci_runtime import _image

    package_dir = package_dir or os.path.dirname(_image.__file__)
    modules = package_modules(package_dir)
    head = [name for name in first if name in modules]
    warm_part = [name for name in warm if name in modules and name not in head]
    order = head + warm_part + sorted(set(modules) - set(head) - set(warm_part))
    codes, records = [], []
    for name in order:
        path, is_package = modules[name]
        seen = os.stat(path)  # before the read: a change after it makes the record stale
        with open(path, "rb") as source:
            codes.append(marshal.dumps(compile(source.read(), path, "exec", dont_inherit=True)))
        records.append((len(codes[-1]), seen.st_mtime_ns, seen.st_size, is_package))
    names = "\n".join(order).encode()
    offset = _image.HEADER + len(names) + len(order) * _image.RECORD
    head_length = offset + sum(length for length, _, _, _ in records[:len(head)])
    warm_end = head_length + sum(length for length, _, _, _ in
                                 records[len(head):len(head) + len(warm_part)])
    index = [_image.magic(), _image.FORMAT, len(order).to_bytes(4, "little"),
             len(names).to_bytes(4, "little"), head_length.to_bytes(4, "little"),
             warm_end.to_bytes(4, "little"), names]
    for length, mtime, size, is_package in records:
        index.append(offset.to_bytes(4, "little") + length.to_bytes(4, "little")
                     + mtime.to_bytes(8, "little") + size.to_bytes(4, "little")
                     + bytes([is_package, 0, 0, 0]))
        offset += length
    target = _image.image_path(package_dir)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    temporary = f"{target}.tmp.{os.getpid()}"
    with open(temporary, "wb") as image:
        image.write(b"".join(index + codes))
    os.rename(temporary, target)
    return target


def write_package_image() -> str:
    """This package's image, its parts as oci_runtime/cli/import_sets.py orders them."""
    from oci_runtime.cli.import_sets import image_order

    head, warm = image_order()
    return write_image(first=head, warm=warm)


def package_modules(package_dir: str) -> "dict[str, tuple[str, bool]]":
    """{module name: (source path, is a package)} of every module under ``package_dir``."""
    root = os.path.dirname(package_dir)
    modules = {}
    for directory, subdirectories, names in os.walk(package_dir):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        for file_name in sorted(names):
            if file_name.endswith(".py"):
                path = os.path.join(directory, file_name)
                parts = os.path.relpath(path, root)[:-3].split(os.sep)
                is_package = parts[-1] == "__init__"
                modules[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return modules


if __name__ == "__main__":
    written = install(sys.argv[1] if len(sys.argv) > 1 else None)
    if written:
        print(f"wrote {written}")
    try:
        print(f"wrote {write_package_image()}")
    except OSError as exc:  # a cache: without it, every module is imported the usual way
        print(f"oci-runtime launcher: no import image ({exc})", file=sys.stderr)
