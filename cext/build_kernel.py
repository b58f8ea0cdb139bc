"""cffi (API mode) build of oci_runtime._kernel from kernel_shim.c.

Run by setuptools at install time (setup.py's cffi_modules) or by hand:
``python cext/build_kernel.py`` writes the extension next to the package for in-tree use.
"""
import os

from cffi import FFI

HERE = os.path.dirname(os.path.abspath(__file__))

ffibuilder = FFI()
ffibuilder.cdef(
    """
    int oci_mount(const char *, const char *, const char *, unsigned long, const char *);
    int oci_umount2(const char *, int);
    int oci_unshare(int);
    int oci_setns(int, int);
    int oci_set_child_subreaper(int);
    int oci_get_child_subreaper(int *);
    int oci_capget(uint64_t *, uint64_t *, uint64_t *);
    int oci_open_tree(int, const char *, unsigned int);
    int oci_mount_setattr(int, const char *, unsigned int, uint64_t, uint64_t, uint64_t, uint64_t);
    long oci_seccomp(unsigned int, unsigned int, void *);
    long oci_bpf(int, void *, unsigned int);
    """
)
with open(os.path.join(HERE, "kernel_shim.c")) as source:
    ffibuilder.set_source("oci_runtime._kernel", source.read())

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=os.path.join(HERE, "..", "build", "cffi"), target=None, verbose=False)
    import glob, shutil
    for built in glob.glob(os.path.join(HERE, "..", "build", "cffi", "oci_runtime", "_kernel*.so")):
        shutil.copy(built, os.path.join(HERE, "..", "oci_runtime"))
