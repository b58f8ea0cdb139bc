/* Mounts (with tmpcopyup and the fallbacks the plan allows), the switch to the new root, and
 * maskedPaths, readonlyPaths and root.readonly. */
#include "executor.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
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

static int write_all(int fd, const void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, (const char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}


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

static void copy_tree(int from, int to, int depth);

/* tmpcopyup: copy directories, regular files and symlinks; recreate device nodes and fifos
 * (never open them); skip sockets.  Ownership and modes are kept. */
static void copy_entry(int from_dir, int to_dir, const char *name, int depth)
{
    struct stat st;
    if (fstatat(from_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        fail_detail(errno, name);
    if (S_ISDIR(st.st_mode)) {
        if (mkdirat(to_dir, name, st.st_mode & 07777) < 0 && errno != EEXIST)
            fail_detail(errno, name);
        int sub_from = openat(from_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int sub_to = openat(to_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub_from < 0 || sub_to < 0)
            fail_detail(errno, name);
        copy_tree(sub_from, sub_to, depth + 1);
        (void)fchown(sub_to, st.st_uid, st.st_gid);
        (void)fchmod(sub_to, st.st_mode & 07777);
        close(sub_from);
        close(sub_to);
    } else if (S_ISREG(st.st_mode)) {
        int in = openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (in < 0)
            fail_detail(errno, name);
        struct stat opened;
        if (fstat(in, &opened) < 0 || !S_ISREG(opened.st_mode))
            fail_detail(EINVAL, name); /* swapped under us for something that is not a file */
        int out = openat(to_dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (out < 0)
            fail_detail(errno, name);
        char buf[65536];
        for (;;) {
            ssize_t n = read(in, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0)
                fail_detail(errno, name);
            if (n == 0)
                break;
            if (write_all(out, buf, (size_t)n) < 0)
                fail_detail(errno, name);
        }
        (void)fchown(out, st.st_uid, st.st_gid);
        (void)fchmod(out, st.st_mode & 07777);
        close(in);
        close(out);
    } else if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlinkat(from_dir, name, target, sizeof(target) - 1);
        if (n < 0)
            fail_detail(errno, name);
        target[n] = 0;
        if (symlinkat(target, to_dir, name) < 0 && errno != EEXIST)
            fail_detail(errno, name);
        (void)fchownat(to_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
        /* Recreated, never opened.  Where mknod is not allowed (a user namespace) it is left out:
         * the node's contents are never copied. */
        if (mknodat(to_dir, name, st.st_mode, st.st_rdev) == 0) {
            (void)fchownat(to_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        } else if (errno != EPERM && errno != EEXIST) {
            fail_detail(errno, name);
        }
    }
}

static void copy_tree(int from, int to, int depth)
{
    if (depth > 128)
        fail_detail(ELOOP, "tmpcopyup: directory tree too deep");
    int scan = dup(from);
    if (scan < 0)
        fail(errno);
    DIR *dir = fdopendir(scan);
    if (!dir)
        fail(errno);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        copy_entry(from, to, entry->d_name, depth);
    }
    closedir(dir);
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
    char detail[4096] = "";
    if (S_ISLNK(st.st_mode)) {
        ssize_t n = readlinkat(fd, "", detail, sizeof(detail) - 1);
        detail[n > 0 ? n : 0] = 0;
    }
    close(fd);
    fail_detail(ENOTDIR, detail);
}

void do_mount(struct step *st)
{
    const char *src = st->s[0].len ? st->s[0].p : NULL;
    const char *dst = st->s[1].p;
    const char *type = st->s[2].len ? st->s[2].p : NULL;
    const char *data = st->s[3].len ? st->s[3].p : NULL;
    unsigned long flags = (unsigned long)st->i[0];
    int bits = (int)st->i[1];
    if (bits & MNT_ORDINARY_DIR)
        refuse_unless_directory(dst);
    if (bits & MNT_SOURCE_AT_MOUNT) {
        /* The source did not exist when the plan was made: it may lie under an earlier mount's
         * destination, so it is looked at now, in this mount namespace, as runc does. */
        struct stat source;
        if (stat(src, &source) < 0)
            fail(errno);
        if (!S_ISDIR(source.st_mode))
            bits |= MNT_TARGET_FILE;
    }
    int target = ensure_mountpoint(dst, bits & MNT_TARGET_FILE);
    if (target < 0)
        fail(errno);
    int copy_from = -1;
    char data_with_mode[4096];
    if (bits & MNT_TMPFS_MODE) {
        struct stat under;
        if (fstat(target, &under) == 0 && S_ISDIR(under.st_mode)) {
            snprintf(data_with_mode, sizeof(data_with_mode), "%s%smode=%o", data ? data : "",
                     data ? "," : "", under.st_mode & 07777);
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
            CHECK(syscall(SYS_move_mount, (int)st->i[3], "", target, "",
                          MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
            close((int)st->i[3]);
            close(target);
            return;
        }
        if ((bits & MNT_SYSFS_FALLBACK) && err == EPERM)
            host = "/sys"; /* sysfs of a network namespace we do not own: the host's, as runc */
        else if ((bits & MNT_CGROUP2_FALLBACK) && (err == EPERM || err == EBUSY))
            host = "/sys/fs/cgroup"; /* a user namespace without its own cgroup namespace */
        if (!host)
            fail(err);
        CHECK(mount(host, path, NULL, MS_BIND | MS_REC, NULL));
        if (st->i[2] && remount_bind(dst, (unsigned long)st->i[2], 0) < 0)
            fail(errno);
    }
    close(target);
    if (bits & MNT_TREE_FALLBACK)
        close((int)st->i[3]);
    if (copy_from >= 0) {
        int fresh = open_in_root(dst, O_RDONLY | O_DIRECTORY);
        if (fresh < 0)
            fail(errno);
        copy_tree(copy_from, fresh, 0);
        close(fresh);
        close(copy_from);
    }
}

void do_move_mount(struct step *st)
{
    int target = ensure_mountpoint(st->s[1].p, (int)st->i[1] & MNT_TARGET_FILE);
    if (target < 0)
        fail(errno);
    CHECK(syscall(SYS_move_mount, (int)st->i[0], "", target, "",
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
    close(target);
    close((int)st->i[0]);
}

void do_setattr(struct step *st)
{
    int fd = open_in_root(st->s[1].p, O_PATH);
    if (fd < 0)
        fail(errno);
    struct { uint64_t attr_set, attr_clr, propagation, userns_fd; } attr = {
        (uint64_t)st->i[0], (uint64_t)st->i[1], 0, 0};
    CHECK(syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)));
    close(fd);
}

void do_propagation(struct step *st)
{
    int fd = open_in_root(st->s[1].p, O_PATH);
    if (fd < 0)
        fail(errno);
    char path[64];
    fdpath(fd, path, sizeof(path));
    CHECK(mount(NULL, path, NULL, (unsigned long)st->i[0], NULL));
    close(fd);
}

void prepare_root(struct step *st)
{
    const char *rootfs = st->s[0].p;
    /* i1: no mount namespace of its own (the runtime's is used): the host's propagation is left
     * alone; only the rootfs becomes a mount of its own, so root.readonly applies to it alone. */
    if (!st->i[1]) {
        CHECK(mount(NULL, "/", NULL, (unsigned long)st->i[0], NULL));
        /* pivot_root refuses a new root whose parent mount is shared. */
        CHECK(mount(NULL, st->s[1].p, NULL, MS_PRIVATE, NULL));
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

void pivot_root_here(void)
{
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

void move_root_here(void)
{
    CHECK(fchdir(root_fd));
    CHECK(mount(".", "/", NULL, MS_MOVE, NULL));
    CHECK(chroot("."));
    CHECK(chdir("/"));
    open_root("/");
}

void chroot_here(void)
{
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
    if (fstat(fd, &st) < 0)
        return -1;
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

void mask_path(const char *path)
{
    int fd = open_listed_path(path);
    if (fd < 0)
        return;
    struct stat st;
    CHECK(fstat(fd, &st));
    char target[64];
    fdpath(fd, target, sizeof(target));
    if (S_ISDIR(st.st_mode)) {
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

void readonly_path(const char *path)
{
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

void root_readonly(void)
{
    char path[64];
    fdpath(root_fd, path, sizeof(path));
    CHECK(mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | flags_of_mount(path), NULL));
}
