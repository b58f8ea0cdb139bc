"""C declarations for the package's cffi ABI-mode bindings, and the generator of their modules.

cffi's in-line ABI mode parses C declarations with pycparser on every start, which costs ~25 ms:
more than everything else a cached compile plus install does.  cffi's "out-of-line ABI mode" moves
that parse to build time and emits a small pure-Python module
(``_ffi_libseccomp.py``) that only needs the ``_cffi_backend`` extension at run time; still no
compiler and no headers.  Those generated modules are committed; after editing a declaration below,
regenerate them with::

    python -m oci_runtime.seccomp._cffi_build

(tests/seccomp checks they are current).  If a generated module cannot be imported, e.g. with a cffi
whose backend rejects its format, the bindings fall back to parsing these same declarations in-line.
"""

import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy reads it the same)
if TYPE_CHECKING:
    from typing import Any

# Copied from seccomp.h (libseccomp >= 2.5); enum arguments are passed as int, which is their ABI.
LIBSECCOMP_MODULE = "oci_runtime.seccomp._ffi_libseccomp"
LIBSECCOMP_DECLARATIONS = """
typedef void *scmp_filter_ctx;
struct scmp_version { unsigned int major; unsigned int minor; unsigned int micro; };
struct scmp_arg_cmp { unsigned int arg; int op; uint64_t datum_a; uint64_t datum_b; };

const struct scmp_version *seccomp_version(void);
scmp_filter_ctx seccomp_init(uint32_t def_action);
void seccomp_release(scmp_filter_ctx ctx);
uint32_t seccomp_arch_resolve_name(const char *arch_name);
uint32_t seccomp_arch_native(void);
int seccomp_arch_add(scmp_filter_ctx ctx, uint32_t arch_token);
int seccomp_attr_set(scmp_filter_ctx ctx, int attr, uint32_t value);
int seccomp_syscall_resolve_name(const char *name);
int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name);
int seccomp_rule_add_array(scmp_filter_ctx ctx, uint32_t action, int syscall,
                           unsigned int arg_cnt, const struct scmp_arg_cmp *arg_array);
int seccomp_export_bpf(const scmp_filter_ctx ctx, int fd);
"""

MODULES = {LIBSECCOMP_MODULE: LIBSECCOMP_DECLARATIONS}


def load_ffi(module_name: str) -> "Any":
    """The FFI object for ``module_name``: the pre-generated one, else one built in-line."""
    try:
        from oci_runtime.seccomp._ffi_libseccomp import ffi
        return ffi
    except ImportError:
        import cffi

        ffi = cffi.FFI()
        ffi.cdef(MODULES[module_name])
        return ffi


def generated_source(module_name: str) -> str:
    """The text cffi emits for ``module_name`` (used to write and to verify the committed file)."""
    import io

    import cffi

    builder = cffi.FFI()
    builder.cdef(MODULES[module_name])
    builder.set_source(module_name, None)
    output = io.StringIO()
    builder.emit_python_code(output)
    return output.getvalue()


def module_path(module_name: str) -> str:
    return os.path.join(os.path.dirname(__file__), module_name.rsplit(".", 1)[1] + ".py")


def main() -> None:
    for module_name in MODULES:
        with open(module_path(module_name), "w") as module_file:
            module_file.write(generated_source(module_name))
        print(f"wrote {module_path(module_name)}")


if __name__ == "__main__":
    main()
