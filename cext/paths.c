/* Paths inside the container's root, resolved as if the root were "/" (openat2 RESOLVE_IN_ROOT),
 * created there when missing; and writes to the host's procfs. */
#include "executor.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10

int root_fd = -1;

/* ---- small helpers ----------------------------------------------------------------------- */

static long sys_openat2(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve)
{
    struct { uint64_t flags, mode, resolve; } how = {flags | O_CLOEXEC, mode, resolve};
    return syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static const char *rel(const char *path)
{
    while (*path == '/')
        path++;
    return *path ? path : ".";
}

/* openat2's EAGAIN is retried this often before the walk is done in userspace: a few attempts
 * ride out a single rename; a host that renames all the time (other containers' state files)
 * makes every attempt fail, and the userspace walk is not affected by renames at all. */
#define OPENAT2_ATTEMPTS 4

/* Open `path` as seen from the root: symlinks resolve as if the root were "/". */
int open_in_root(const char *path, int flags)
{
    /* EAGAIN: a rename or mount somewhere on the host raced a ".." of the walk (openat2(2));
     * ENOSYS: a kernel before 5.6. */
    for (int attempt = 0; attempt < OPENAT2_ATTEMPTS; attempt++) {
        long fd = sys_openat2(root_fd, rel(path), (uint64_t)flags, 0,
                              RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
        if (fd >= 0 || (errno != EAGAIN && errno != ENOSYS))
            return (int)fd;
        if (errno == ENOSYS)
            break;
    }
    return walk_in_root(root_fd, path, flags);
}

void fdpath(int fd, char *buf, size_t size) { snprintf(buf, size, "/proc/self/fd/%d", fd); }

/* ---- paths inside the root ---------------------------------------------------------------- */

/* Paths here are built in the heap, of any length: a path too long for the kernel fails there
 * (ENAMETOOLONG), never cut short here.  A component longer than NAME_MAX is ENAMETOOLONG. */

static int failed(int err, char *a, char *b)
{
    free(a);
    free(b);
    errno = err;
    return -1;
}

/* `target` of a symlink in directory `parent` (an in-root path), as a path from the root. */
static char *symlink_destination(const char *parent, const char *target)
{
    char *resolved = NULL;
    if (target[0] == '/' ? asprintf(&resolved, "%s", target) < 0
                         : asprintf(&resolved, "%s/%s", parent, target) < 0)
        return NULL;
    return resolved;
}

/* The target of symlink `name` in `dirfd`, read whole (a symlink holds less than PATH_MAX). */
static char *read_symlink(int dirfd, const char *name)
{
    char *target = malloc(PATH_MAX);
    if (!target)
        return NULL;
    ssize_t n = readlinkat(dirfd, name, target, PATH_MAX - 1);
    if (n < 0) {
        free(target);
        return NULL;
    }
    target[n] = 0;
    return target;
}

/* Follow a dangling symlink `name` in directory `dirfd` (whose in-root path is `parent`):
 * create what it points to, resolved inside the root. */
static int create_symlink_target(int dirfd, const char *name, const char *parent, mode_t mode,
                                 int depth)
{
    char *target = read_symlink(dirfd, name);
    if (!target)
        return -1;
    char *resolved = symlink_destination(parent, target);
    free(target);
    if (!resolved)
        return failed(ENOMEM, NULL, NULL);
    int fd = mkdirs_in_root(resolved, mode, depth + 1);
    free(resolved);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* mkdir -p inside the root; returns an O_PATH fd of the directory.  Dangling symlinks on the way
 * are followed as if the root were "/": their targets are created inside the root. */
int mkdirs_in_root(const char *path, mode_t mode, int depth)
{
    if (depth > 40)
        return failed(ELOOP, NULL, NULL);
    /* `path` again without "." components: never longer than it, with a leading "/". */
    char *walked = malloc(strlen(path) + 2);
    if (!walked)
        return failed(ENOMEM, NULL, NULL);
    walked[0] = 0;
    size_t wlen = 0;
    int current = dup(root_fd);
    if (current < 0)
        return failed(errno, walked, NULL);
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        char part[NAME_MAX + 1];
        if (plen > NAME_MAX) {
            close(current);
            return failed(ENAMETOOLONG, walked, NULL);
        }
        memcpy(part, p, plen);
        part[plen] = 0;
        p += plen;
        if (strcmp(part, ".") == 0)
            continue;
        walked[wlen++] = '/';
        memcpy(walked + wlen, part, plen + 1);
        wlen += plen;
        int next = open_in_root(walked, O_PATH | O_DIRECTORY);
        if (next < 0 && errno == ENOENT && strcmp(part, "..") != 0) {
            int made = mkdirat(current, part, mode);
            if (made < 0 && errno == EEXIST) {
                /* Something is there that did not resolve: a dangling symlink's target is made
                 * inside the root. */
                struct stat st;
                if (fstatat(current, part, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
                    char *parent = strndup(walked, wlen - plen - 1);
                    if (!parent || create_symlink_target(current, part, parent, mode, depth) < 0) {
                        int saved = parent ? errno : ENOMEM;
                        close(current);
                        return failed(saved, walked, parent);
                    }
                    free(parent);
                }
                made = 0;
            }
            if (made == 0)
                next = open_in_root(walked, O_PATH | O_DIRECTORY);
        }
        if (next < 0) {
            int saved = errno;
            close(current);
            return failed(saved, walked, NULL);
        }
        close(current);
        current = next;
        errno = 0;
    }
    free(walked);
    return current;
}

static int mkfile_at_depth(const char *path, mode_t mode, int depth);

/* An empty file at `path` (parents too) unless something is there; O_PATH fd of what is there.
 * A dangling symlink at `path` is followed as if the root were "/": the file is made at its
 * target, inside the root (runc's SecureJoin, crun). */
int mkfile_in_root(const char *path, mode_t mode) { return mkfile_at_depth(path, mode, 0); }

static int mkfile_at_depth(const char *path, mode_t mode, int depth)
{
    if (depth > 40)
        return failed(ELOOP, NULL, NULL);
    char *parent = strdup(path);
    if (!parent)
        return failed(ENOMEM, NULL, NULL);
    size_t len = strlen(parent);
    while (len > 1 && parent[len - 1] == '/')
        parent[--len] = 0;
    char *slash = strrchr(parent, '/');
    const char *name = parent;
    if (slash) {
        *slash = 0;
        name = slash + 1;
    }
    if (strlen(name) > NAME_MAX)
        return failed(ENAMETOOLONG, parent, NULL);
    int dirfd = mkdirs_in_root(slash ? parent : "/", 0755, 0);
    if (dirfd < 0)
        return failed(errno, parent, NULL);
    int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0)
        close(fd);
    else if (errno == EEXIST) {
        int found = open_in_root(path, O_PATH);
        if (found >= 0 || errno != ENOENT) {
            close(dirfd);
            free(parent);
            return found;
        }
        /* Still not there: a dangling symlink.  Make its target, resolved inside the root. */
        char *target = read_symlink(dirfd, name);
        int saved = errno;
        close(dirfd);
        if (!target)
            return failed(saved, parent, NULL);
        char *resolved = symlink_destination(slash ? parent : "", target);
        free(target);
        if (!resolved)
            return failed(ENOMEM, parent, NULL);
        int made = mkfile_at_depth(resolved, mode, depth + 1);
        if (made < 0)
            return failed(errno, parent, resolved);
        close(made);
        free(parent);
        free(resolved);
        return open_in_root(path, O_PATH);
    }
    close(dirfd);
    free(parent);
    return open_in_root(path, O_PATH);
}

int ensure_mountpoint(const char *path, int is_file)
{
    int fd = open_in_root(path, O_PATH);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    return is_file ? mkfile_in_root(path, 0644) : mkdirs_in_root(path, 0755, 0);
}

/* ---- /proc writes ------------------------------------------------------------------------- */

/* Write to a file of the host's procfs (the one this mount namespace inherited: the container
 * cannot reach it), checked to be procfs and reached without symlinks (CVE-2025-52881). */
int write_proc(const char *relative, const char *data, size_t len)
{
    int proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (proc < 0)
        return -1;
    struct statfs sfs;
    if (fstatfs(proc, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC) {
        close(proc);
        errno = EXDEV;
        return -1;
    }
    int fd = (int)sys_openat2(proc, relative, O_WRONLY, 0,
                              RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
    int saved = errno;
    close(proc);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    if (fstatfs(fd, &sfs) < 0 || sfs.f_type != PROC_SUPER_MAGIC) {
        close(fd);
        errno = EXDEV;
        return -1;
    }
    ssize_t n = write(fd, data, len);
    saved = errno;
    close(fd);
    errno = saved;
    return n < 0 ? -1 : 0;
}

/* ---- the steps ---------------------------------------------------------------------------- */

void op_write_proc(const struct step *st)
{
    CHECK(write_proc(st->s[S_WRITE_PROC_PATH].p, st->s[S_WRITE_PROC_DATA].p,
                     st->s[S_WRITE_PROC_DATA].len));
}

void op_mkdir_p(const struct step *st)
{
    int fd = mkdirs_in_root(st->s[S_MKDIR_P_PATH].p, 0755, 0);
    if (fd < 0)
        fail(errno);
    close(fd);
}
