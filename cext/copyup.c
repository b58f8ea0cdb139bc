/* tmpcopyup: fill a new mount with what was underneath it.  Directories, regular files and
 * symlinks are copied, device nodes and fifos recreated (never opened), sockets skipped;
 * ownership and modes kept.
 *
 * Iterative, with no recursion and no fd held per level: a queue of directories (paths relative
 * to the two roots), each opened from its root with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS), so a tree of any depth costs heap, not stack; one past what a path can
 * name (PATH_MAX) fails with ENAMETOOLONG and the path.  Directories get their owner and mode
 * after their contents (deepest first): a read-only directory is still filled. */
#include "executor.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define COPY_BUFFER (1 << 16)

struct directory { char *path; mode_t mode; uid_t uid; gid_t gid; };

struct copy {
    int from, to;
    const char *destination;   /* for messages */
    struct directory *queue;
    size_t count, capacity;
    char *buffer;              /* COPY_BUFFER bytes, for regular files */
};

static char *joined(const char *parent, const char *name)
{
    char *path;
    if (strcmp(parent, ".") == 0 ? asprintf(&path, "%s", name) < 0
                                 : asprintf(&path, "%s/%s", parent, name) < 0)
        fail(ENOMEM);
    return path;
}

static void __attribute__((noreturn)) fail_at(const struct copy *copy, int err, const char *path)
{
    char *detail = NULL;
    if (asprintf(&detail, "tmpcopyup of %s: %s", copy->destination, path) < 0)
        fail(err);
    fail_detail(err, detail);
}

static int open_beneath(int root, const char *path, int flags)
{
    struct { uint64_t flags, mode, resolve; } how = {
        (uint64_t)(flags | O_CLOEXEC | O_NOFOLLOW), 0,
        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
    long fd;
    do /* EAGAIN only follows a "..", which these paths have none of; retried all the same */
        fd = syscall(SYS_openat2, root, path, &how, sizeof(how));
    while (fd < 0 && errno == EAGAIN);
    return (int)fd;
}

static void enqueue(struct copy *copy, char *path, const struct stat *st)
{
    if (copy->count == copy->capacity) {
        size_t capacity = copy->capacity ? copy->capacity * 2 : 64;
        struct directory *grown = realloc(copy->queue, capacity * sizeof(*grown));
        if (!grown)
            fail(ENOMEM);
        copy->queue = grown;
        copy->capacity = capacity;
    }
    copy->queue[copy->count++] = (struct directory){path, st->st_mode & 07777, st->st_uid,
                                                    st->st_gid};
}

static void copy_file(const struct copy *copy, int from_dir, int to_dir, const char *name,
                      const struct stat *st, const char *path)
{
    int in = openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (in < 0)
        fail_at(copy, errno, path);
    struct stat opened;
    if (fstat(in, &opened) < 0 || !S_ISREG(opened.st_mode))
        fail_at(copy, EINVAL, path); /* swapped under us for something that is not a file */
    int out = openat(to_dir, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0)
        fail_at(copy, errno, path);
    for (;;) {
        ssize_t n = read(in, copy->buffer, COPY_BUFFER);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail_at(copy, errno, path);
        if (n == 0)
            break;
        if (write_all(out, copy->buffer, (size_t)n) < 0)
            fail_at(copy, errno, path);
    }
    (void)fchown(out, st->st_uid, st->st_gid);
    (void)fchmod(out, st->st_mode & 07777);
    close(in);
    close(out);
}

static void copy_entry(struct copy *copy, int from_dir, int to_dir, const char *parent,
                       const char *name)
{
    char *path = joined(parent, name);
    struct stat st;
    if (fstatat(from_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        fail_at(copy, errno, path);
    if (S_ISDIR(st.st_mode)) {
        /* Owner-writable until its contents are in; its own mode comes last. */
        if (mkdirat(to_dir, name, 0700) < 0 && errno != EEXIST)
            fail_at(copy, errno, path);
        enqueue(copy, path, &st);
        return;
    }
    if (S_ISREG(st.st_mode)) {
        copy_file(copy, from_dir, to_dir, name, &st, path);
    } else if (S_ISLNK(st.st_mode)) {
        char *target = malloc((size_t)PATH_MAX);
        if (!target)
            fail(ENOMEM);
        ssize_t n = readlinkat(from_dir, name, target, PATH_MAX - 1);
        if (n < 0)
            fail_at(copy, errno, path);
        target[n] = 0;
        if (symlinkat(target, to_dir, name) < 0 && errno != EEXIST)
            fail_at(copy, errno, path);
        (void)fchownat(to_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        free(target);
    } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
        /* Recreated, never opened.  Where mknod is not allowed (a user namespace) it is left out:
         * the node's contents are never copied. */
        if (mknodat(to_dir, name, st.st_mode, st.st_rdev) == 0)
            (void)fchownat(to_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW);
        else if (errno != EPERM && errno != EEXIST)
            fail_at(copy, errno, path);
    }
    free(path);
}

void copy_up(int from, int to, const char *destination)
{
    struct copy copy = {from, to, destination, NULL, 0, 0, malloc(COPY_BUFFER)};
    if (!copy.buffer)
        fail(ENOMEM);
    struct stat top;
    CHECK(fstat(from, &top));
    char *dot = strdup(".");
    if (!dot)
        fail(ENOMEM);
    enqueue(&copy, dot, &top);
    for (size_t k = 0; k < copy.count; k++) {
        const char *path = copy.queue[k].path;
        int from_dir = open_beneath(from, path, O_RDONLY | O_DIRECTORY);
        if (from_dir < 0)
            fail_at(&copy, errno, path);
        int to_dir = open_beneath(to, path, O_PATH | O_DIRECTORY);
        if (to_dir < 0)
            fail_at(&copy, errno, path);
        DIR *dir = fdopendir(from_dir);
        if (!dir)
            fail_at(&copy, errno, path);
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL)
            if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
                copy_entry(&copy, from_dir, to_dir, path, entry->d_name);
        closedir(dir);
        close(to_dir);
    }
    /* Owners and modes, deepest first (the queue is in breadth-first order); the top is the
     * mount's own, which its options decided. */
    for (size_t k = copy.count; k-- > 1;) {
        const struct directory *made = &copy.queue[k];
        int fd = open_beneath(to, made->path, O_RDONLY | O_DIRECTORY);
        if (fd < 0)
            fail_at(&copy, errno, made->path);
        (void)fchown(fd, made->uid, made->gid);
        (void)fchmod(fd, made->mode);
        close(fd);
    }
    for (size_t k = 0; k < copy.count; k++)
        free(copy.queue[k].path);
    free(copy.queue);
    free(copy.buffer);
}
