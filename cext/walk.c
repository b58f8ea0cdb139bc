/* The userspace twin of openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): open a path as if
 * `root` were "/", one component at a time.
 *
 * Why: openat2 refuses (EAGAIN) a lookup through ".." during which anything on the host was
 * renamed or mounted; on a busy host (other containers writing state files by rename) every
 * retry can fail.  This walk is indifferent to renames elsewhere and keeps the guarantees:
 *   - each component is opened with O_PATH | O_NOFOLLOW relative to the directory before it,
 *     by a name without "/": no lookup the kernel does for us follows a symlink;
 *   - a symlink is read (readlinkat) and its target walked the same way: an absolute target
 *     restarts at `root`, a relative one at the symlink's directory; at most 40 of them
 *     (the kernel's MAXSYMLINKS), then ELOOP;
 *   - ".." at `root` stays at `root` (as a process's "/" does); elsewhere it is the real parent,
 *     as in the kernel's walk;
 *   - a magic link of procfs (/proc/<pid>/fd/N, exe, cwd, root, ns/...) is ELOOP, as
 *     RESOLVE_NO_MAGICLINKS makes it;
 *   - the directory the last component was opened in is checked to be under `root` (its ".."
 *     chain reaches `root`), else EXDEV: what the kernel's own final check refuses, a directory
 *     moved out of the root while we were in it.
 * Only the last component is opened with the caller's flags (O_NOFOLLOW there keeps a final
 * symlink as the kernel does).  O_CREAT is not supported (nothing asks for it). */
#include "executor.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>

#define MAX_SYMLINKS 40

static int same_inode(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static int fail_with(int err, int fd1, int fd2, char *buffer)
{
    if (fd1 >= 0)
        close(fd1);
    if (fd2 >= 0)
        close(fd2);
    free(buffer);
    errno = err;
    return -1;
}

/* A symlink of procfs the kernel jumps through instead of reading (a magic link): their targets
 * are absolute paths or "type:[inode]"; procfs's plain symlinks (self, thread-self, mounts, net)
 * point at relative paths of digits, letters and "/". */
static int is_magic_link(int link_fd, const char *target)
{
    struct statfs fs;
    if (fstatfs(link_fd, &fs) < 0 || fs.f_type != PROC_SUPER_MAGIC)
        return 0;
    if (target[0] == '/' || target[0] == 0)
        return 1;
    for (const char *p = target; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-", *p))
            return 1;
    return 0;
}

/* Whether directory `dir` lies under `root`: its ".." chain meets `root` before it ends. */
static int is_under(int dir, const struct stat *root)
{
    int current = dup(dir);
    if (current < 0)
        return -1;
    for (;;) {
        struct stat here;
        if (fstat(current, &here) < 0)
            return fail_with(errno, current, -1, NULL);
        if (same_inode(&here, root)) {
            close(current);
            return 1;
        }
        int parent = openat(current, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (parent < 0)
            return fail_with(errno, current, -1, NULL);
        struct stat above;
        if (fstat(parent, &above) < 0)
            return fail_with(errno, current, parent, NULL);
        close(current);
        if (same_inode(&above, &here)) {
            close(parent);
            return 0; /* the top of this process's tree, and `root` was not on the way */
        }
        current = parent;
    }
}

/* `rest` with `target` in front of it, separated by "/" (`rest` empty: `target` alone). */
static char *prepend(const char *target, const char *rest)
{
    size_t target_len = strlen(target), rest_len = strlen(rest);
    char *joined = malloc(target_len + rest_len + 2);
    if (!joined)
        return NULL;
    memcpy(joined, target, target_len);
    size_t at = target_len;
    if (rest_len)
        joined[at++] = '/';
    memcpy(joined + at, rest, rest_len + 1);
    return joined;
}

/* The last step: `name` in `dir`, the directory reached ("." for `dir` itself), opened with the
 * caller's flags.  `dir` and `buffer` are released. */
static int open_last(const struct stat *root_st, int dir, const char *name, int flags, char *buffer)
{
    int under = is_under(dir, root_st);
    if (under <= 0)
        return fail_with(under < 0 ? errno : EXDEV, dir, -1, buffer);
    int fd = openat(dir, name, flags | O_CLOEXEC | (strcmp(name, ".") ? O_NOFOLLOW : 0));
    int err = errno;
    close(dir);
    free(buffer);
    errno = err;
    return fd;
}

int walk_in_root(int root, const char *path, int flags)
{
    if (flags & O_CREAT)
        return fail_with(EINVAL, -1, -1, NULL);
    struct stat root_st;
    if (fstat(root, &root_st) < 0)
        return -1;
    char *buffer = strdup(path);
    if (!buffer)
        return -1;
    int current = fcntl(root, F_DUPFD_CLOEXEC, 0);
    if (current < 0)
        return fail_with(errno, -1, -1, buffer);
    int links = 0;
    const char *p = buffer;
    for (;;) {
        while (*p == '/')
            p++;
        if (!*p) {
            /* The path ended on a directory (empty, "/", "..", a trailing "/"). */
            return open_last(&root_st, current, ".", flags, buffer);
        }
        const char *end = strchr(p, '/');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *after = p + len;
        while (*after == '/')
            after++;
        int last = *after == 0;
        int trailing_slash = last && end != NULL; /* "name/": a directory, symlinks followed */
        char name[256];
        if (len >= sizeof(name))
            return fail_with(ENAMETOOLONG, current, -1, buffer);
        memcpy(name, p, len);
        name[len] = 0;
        p = after;
        if (strcmp(name, ".") == 0)
            continue;
        if (strcmp(name, "..") == 0) {
            struct stat here;
            if (fstat(current, &here) < 0)
                return fail_with(errno, current, -1, buffer);
            if (same_inode(&here, &root_st))
                continue; /* ".." of the root is the root */
            int parent = openat(current, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (parent < 0)
                return fail_with(errno, current, -1, buffer);
            close(current);
            current = parent;
            continue;
        }
        if (last && !trailing_slash && (flags & O_NOFOLLOW))
            return open_last(&root_st, current, name, flags, buffer);
        int next = openat(current, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            return fail_with(errno, current, -1, buffer);
        struct stat st;
        if (fstat(next, &st) < 0)
            return fail_with(errno, current, next, buffer);
        if (S_ISLNK(st.st_mode)) {
            if (++links > MAX_SYMLINKS)
                return fail_with(ELOOP, current, next, buffer);
            char target[4096];
            ssize_t n = readlinkat(next, "", target, sizeof(target) - 1);
            if (n < 0)
                return fail_with(errno, current, next, buffer);
            target[n] = 0;
            if (is_magic_link(next, target))
                return fail_with(ELOOP, current, next, buffer);
            close(next);
            /* The rest of the walk is the target, then what followed the symlink ("/" kept when
             * the symlink was written "link/": its target must be a directory). */
            char *joined = prepend(target, trailing_slash ? "." : p);
            if (!joined)
                return fail_with(ENOMEM, current, -1, buffer);
            free(buffer);
            buffer = joined;
            p = buffer;
            if (target[0] == '/') {
                close(current);
                current = fcntl(root, F_DUPFD_CLOEXEC, 0);
                if (current < 0)
                    return fail_with(errno, -1, -1, buffer);
            }
            continue;
        }
        if (!last || trailing_slash) {
            if (!S_ISDIR(st.st_mode))
                return fail_with(ENOTDIR, current, next, buffer);
            close(current);
            current = next;
            continue;
        }
        /* The last component, not a symlink: opened again with the caller's flags (O_NOFOLLOW:
         * if it became a symlink meanwhile, that fails rather than following it). */
        close(next);
        return open_last(&root_st, current, name, flags, buffer);
    }
}
