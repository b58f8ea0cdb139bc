"""The bottom layer: the cffi seam (syscalls.py), the kernel's constants, fd passing, signal
names, /proc parsing and the hot path's bindings.  Empty on purpose: importing a module of this
package must not load the cffi extension."""
