/* Mounts (with tmpcopyup and the fallbacks the plan allows), the switch to the new root, and
 * maskedPaths, readonlyPaths and root.readonly. */
#include "executor.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x04
#define MOVE_MOUNT_T_EMPTY_PATH 0x40
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* ---- mounts ------------------------------------------------------------------------------- */

static unsigned long flags_of_mount(const char *path)
{
    struct statvfs st;
    if (statvfs(path, &st) < 0)
        return 0;
    unsigned long flags = 0;
    if (st.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (st.f_flag & ST_RDONLY) flags |= MS_RDONLY;
    if (st.f_flag & ST_NOATIME) flags |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    return flags;
}

/* Remount the bind mount at `dst` with `flags`, keeping the flags it has (a user namespace may
 * not drop locked ones) except `cleared`.  Reopened: an fd taken before mounting names what is
 * underneath. */
int remount_bind(const char *dst, unsigned long flags, unsigned long cleared)
{
    int fd = open_in_root(dst, O_PATH);
    if (fd < 0)
        return -1;
    char path[64];
    fdpath(fd, path, sizeof(path));
    unsigned long keep = flags_of_mount(path) & ~cleared;
    int rc = mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | flags | keep, NULL);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

/* proc and sysfs go on an ordinary directory (runc: "must be mounted on ordinary directory"): a
 * symlink the image put at /proc or /sys is refused, not followed; its target is the detail. */
static void refuse_unless_directory(const char *dst)
{
    int fd = open_in_root(dst, O_PATH | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT)
            return; /* made as a directory below */
        fail(errno);
    }
    struct stat st;
    if (fstat(fd, &st) < 0)
        fail(errno);
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return;
    }
    char detail[PATH_MAX] = ""; /* a symlink's target is shorter */
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlinkat(fd, "", detail, sizeof(detail) - 1);
        detail[n > 0 ? n : 0] = 0;
    }
    close(fd);
    fail_detail(ENOTDIR, detail);
}

void op_mount(const struct step *st)
{
    const char *src = st->s[S_MOUNT_SOURCE].len ? st->s[S_MOUNT_SOURCE].p : NULL;
    const char *dst = st->s[S_MOUNT_DESTINATION].p;
    const char *type = st->s[S_MOUNT_TYPE].len ? st->s[S_MOUNT_TYPE].p : NULL;
    const char *data = st->s[S_MOUNT_DATA].len ? st->s[S_MOUNT_DATA].p : NULL;
    unsigned long flags = (unsigned long)st->i[I_MOUNT_FLAGS];
    int bits = (int)st->i[I_MOUNT_BITS];
    int tree = (int)st->i[I_MOUNT_TREE];
    if (bits & MNT_ORDINARY_DIR)
        refuse_unless_directory(dst);
    if (bits & MNT_SOURCE_AT_MOUNT) {
        /* The source did not exist when the plan was made: it may lie under an earlier mount's
         * destination, so it is looked at now, in this mount namespace, as runc does. */
        struct stat source;
        if (!src || stat(src, &source) < 0)
            fail(src ? errno : EINVAL);
        if (!S_ISDIR(source.st_mode))
            bits |= MNT_TARGET_FILE;
    }
    int target = ensure_mountpoint(dst, bits & MNT_TARGET_FILE);
    if (target < 0)
        fail(errno);
    int copy_from = -1;
    char *data_with_mode = NULL;
    if (bits & MNT_TMPFS_MODE) {
        struct stat under;
        if (fstat(target, &under) == 0 && S_ISDIR(under.st_mode)) {
            if (asprintf(&data_with_mode, "%s%smode=%o", data ? data : "", data ? "," : "",
                         under.st_mode & 07777) < 0)
                fail(ENOMEM);
            data = data_with_mode;
        }
    }
    if (bits & MNT_COPY_UP) {
        char path[64];
        fdpath(target, path, sizeof(path));
        copy_from = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (copy_from < 0)
            fail(errno);
    }
    char path[64];
    fdpath(target, path, sizeof(path));
    if (mount(src, path, type, flags, data) < 0) {
        int err = errno;
        const char *host = NULL;
        if ((bits & MNT_TREE_FALLBACK) && err == EACCES) {
            /* The source lies under a directory the container's root cannot traverse: the
             * runtime opened it before the user namespace existed (open_tree). */
            CHECK(syscall(SYS_move_mount, tree, "", target, "",
                          MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
            close(tree);
            close(target);
            if (copy_from >= 0)
                close(copy_from);
            free(data_with_mode);
            return;
        }
        if ((bits & MNT_SYSFS_FALLBACK) && err == EPERM)
            host = "/sys"; /* sysfs of a network namespace we do not own: the host's, as runc */
        else if ((bits & MNT_CGROUP2_FALLBACK) && (err == EPERM || err == EBUSY))
            host = "/sys/fs/cgroup"; /* a user namespace without its own cgroup namespace */
        if (!host)
            fail(err);
        CHECK(mount(host, path, NULL, MS_BIND | MS_REC, NULL));
        unsigned long fallback_flags = (unsigned long)st->i[I_MOUNT_FALLBACK_FLAGS];
        if (fallback_flags && remount_bind(dst, fallback_flags, 0) < 0)
            fail(errno);
    }
    close(target);
    free(data_with_mode);
    if ((bits & MNT_TREE_FALLBACK) && tree >= 0)
        close(tree);
    if (copy_from >= 0) {
        int fresh = open_in_root(dst, O_PATH | O_DIRECTORY);
        if (fresh < 0)
            fail(errno);
        copy_up(copy_from, fresh, dst);
        close(fresh);
        close(copy_from);
    }
}

void op_move_mount(const struct step *st)
{
    int tree = (int)st->i[I_MOVE_MOUNT_TREE];
    int target = ensure_mountpoint(st->s[S_MOVE_MOUNT_DESTINATION].p,
                                   (int)st->i[I_MOVE_MOUNT_BITS] & MNT_TARGET_FILE);
    if (target < 0)
        fail(errno);
    CHECK(syscall(SYS_move_mount, tree, "", target, "",
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
    close(target);
    close(tree);
}

void op_remount_bind(const struct step *st)
{
    CHECK(remount_bind(st->s[S_REMOUNT_BIND_DESTINATION].p,
                       (unsigned long)st->i[I_REMOUNT_BIND_FLAGS],
                       (unsigned long)st->i[I_REMOUNT_BIND_CLEARED]));
}

void op_setattr(const struct step *st)
{
    int fd = open_in_root(st->s[S_SETATTR_DESTINATION].p, O_PATH);
    if (fd < 0)
        fail(errno);
    struct { uint64_t attr_set, attr_clr, propagation, userns_fd; } attr = {
        (uint64_t)st->i[I_SETATTR_ATTR_SET], (uint64_t)st->i[I_SETATTR_ATTR_CLR], 0, 0};
    CHECK(syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)));
    close(fd);
}

void op_propagation(const struct step *st)
{
    int fd = open_in_root(st->s[S_PROPAGATION_DESTINATION].p, O_PATH);
    if (fd < 0)
        fail(errno);
    char path[64];
    fdpath(fd, path, sizeof(path));
    CHECK(mount(NULL, path, NULL, (unsigned long)st->i[I_PROPAGATION_FLAGS], NULL));
    close(fd);
}

void op_prepare_root(const struct step *st)
{
    const char *rootfs = st->s[S_PREPARE_ROOT_ROOTFS].p;
    /* No mount namespace of its own (the runtime's is used): the host's propagation is left
     * alone; only the rootfs becomes a mount of its own, so root.readonly applies to it alone. */
    if (!st->i[I_PREPARE_ROOT_NO_MOUNT_NS]) {
        CHECK(mount(NULL, "/", NULL, (unsigned long)st->i[I_PREPARE_ROOT_PROPAGATION], NULL));
        /* pivot_root refuses a new root whose parent mount is shared. */
        CHECK(mount(NULL, st->s[S_PREPARE_ROOT_PARENT_MOUNT].p, NULL, MS_PRIVATE, NULL));
    }
    CHECK(mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL));
    root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_fd < 0)
        fail(errno);
}

void open_root(const char *dir)
{
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        fail(errno);
    if (root_fd >= 0)
        close(root_fd);
    root_fd = fd;
}

void op_open_cwd_root(const struct step *st)
{
    (void)st;
    open_root("/");
}

void op_pivot_root(const struct step *st)
{
    (void)st;
    int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (old_root < 0)
        fail(errno);
    CHECK(fchdir(root_fd));
    CHECK(syscall(SYS_pivot_root, ".", "."));
    CHECK(fchdir(old_root));
    /* The old root must not propagate our unmount back to the host. */
    CHECK(mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL));
    CHECK(umount2(".", MNT_DETACH));
    CHECK(chdir("/"));
    close(old_root);
    open_root("/");
}

void op_move_root(const struct step *st)
{
    (void)st;
    CHECK(fchdir(root_fd));
    CHECK(mount(".", "/", NULL, MS_MOVE, NULL));
    CHECK(chroot("."));
    CHECK(chdir("/"));
    open_root("/");
}

void op_chroot(const struct step *st)
{
    (void)st;
    CHECK(fchdir(root_fd));
    CHECK(chroot("."));
    CHECK(chdir("/"));
    open_root("/");
}

/* The /dev/null of the root, checked to be the real character device 1:3 (CVE-2025-31133: a
 * symlink or another file there must never be bind-mounted over a masked path). */
static int verified_devnull_in_root(void)
{
    int fd = open_in_root("/dev/null", O_PATH | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
        close(fd);
        errno = EPERM;
        return -2;
    }
    return fd;
}

/* maskedPaths and readonlyPaths name paths that need not exist: an O_PATH fd, or -1 when absent. */
static int open_listed_path(const char *path)
{
    int fd = open_in_root(path, O_PATH);
    if (fd < 0 && errno != ENOENT)
        fail(errno);
    return fd;
}

void op_mask_path(const struct step *st)
{
    const char *path = st->s[S_MASK_PATH_PATH].p;
    int fd = open_listed_path(path);
    if (fd < 0)
        return;
    struct stat masked;
    CHECK(fstat(fd, &masked));
    char target[64];
    fdpath(fd, target, sizeof(target));
    if (S_ISDIR(masked.st_mode)) {
        CHECK(mount("tmpfs", target, "tmpfs", MS_RDONLY, NULL));
    } else {
        int null_fd = verified_devnull_in_root();
        if (null_fd == -2)
            fail_detail(EPERM, "/dev/null in the container is not the character device 1:3");
        if (null_fd < 0)
            fail(errno);
        char source[64];
        fdpath(null_fd, source, sizeof(source));
        CHECK(mount(source, target, NULL, MS_BIND, NULL));
        close(null_fd);
    }
    close(fd);
}

void op_readonly_path(const struct step *st)
{
    const char *path = st->s[S_READONLY_PATH_PATH].p;
    int fd = open_listed_path(path);
    if (fd < 0)
        return;
    char target[64];
    fdpath(fd, target, sizeof(target));
    CHECK(mount(target, target, NULL, MS_BIND | MS_REC, NULL));
    close(fd);
    if (remount_bind(path, MS_RDONLY, 0) < 0)
        fail(errno);
}

void op_root_readonly(const struct step *st)
{
    (void)st;
    char path[64];
    fdpath(root_fd, path, sizeof(path));
    CHECK(mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | flags_of_mount(path), NULL));
}
