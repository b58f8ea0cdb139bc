/* The calls Python 3.11 lacks, as thin wrappers that return -1 and leave errno set.
 *
 * Policy lives in Python (oci_runtime/kernel/syscalls.py wraps every function here and raises OSError);
 * this file only reaches syscalls that have no os-module equivalent.  Keep it free of logic.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

int oci_mount(const char *source, const char *target, const char *fstype,
              unsigned long flags, const char *data)
{
    return mount(source, target, fstype, flags, data);
}

int oci_umount2(const char *target, int flags) { return umount2(target, flags); }

int oci_unshare(int flags) { return unshare(flags); }

int oci_setns(int fd, int nstype) { return setns(fd, nstype); }

/* The child-subreaper flag (an attached `run` adopting the container's orphans). */
int oci_set_child_subreaper(int value) { return prctl(PR_SET_CHILD_SUBREAPER, value, 0, 0, 0); }

int oci_get_child_subreaper(int *value) { return prctl(PR_GET_CHILD_SUBREAPER, value, 0, 0, 0); }

/* Capability sets as three 64-bit masks (the kernel ABI splits each into two 32-bit words). */
int oci_capget(uint64_t *effective, uint64_t *permitted, uint64_t *inheritable)
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &header, data) < 0)
        return -1;
    *effective = ((uint64_t)data[1].effective << 32) | data[0].effective;
    *permitted = ((uint64_t)data[1].permitted << 32) | data[0].permitted;
    *inheritable = ((uint64_t)data[1].inheritable << 32) | data[0].inheritable;
    return 0;
}

int oci_open_tree(int dirfd, const char *path, unsigned int flags)
{
    return (int)syscall(SYS_open_tree, dirfd, path, flags);
}

int oci_mount_setattr(int dirfd, const char *path, unsigned int flags, uint64_t attr_set,
                      uint64_t attr_clr, uint64_t propagation, uint64_t userns_fd)
{
    struct { uint64_t attr_set, attr_clr, propagation, userns_fd; } attr = {
        attr_set, attr_clr, propagation, userns_fd};
    return (int)syscall(SYS_mount_setattr, dirfd, path, flags, &attr, sizeof(attr));
}

/* seccomp(2) and bpf(2): glibc has no wrappers; the syscall numbers come from this build's headers.
 * seccomp is only probed here (which filter flags the kernel knows): the executor loads filters. */
long oci_seccomp(unsigned int operation, unsigned int flags, void *args)
{
    return syscall(SYS_seccomp, operation, flags, args);
}

long oci_bpf(int command, void *attr, unsigned int size)
{
    return syscall(SYS_bpf, command, attr, size);
}
