/* oci-runtime's container-side executor: runs a plan compiled by Python (oci_runtime/plan/).
 *
 * Python plans, C executes.  The runtime (Python) validates the config and compiles a flat list of
 * steps; this static program, exec'd from a sealed memfd copy of itself, performs them in order:
 * from the first setns/unshare to execve.  No step decides policy: which flags, which order and
 * what to refuse were decided in Python.  Failures travel to the runtime as (step index, errno,
 * detail) on the sync socket; Python turns the index into the step's JSON pointer and text.
 *
 * Usage (only by the runtime):  oci-runtime-executor PLAN_FD SYNC_FD
 * The plan format and the sync messages are documented in oci_runtime/executor/wire.py.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x04
#define MOVE_MOUNT_T_EMPTY_PATH 0x40
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW 256
#endif
#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

/* ---- the plan ---------------------------------------------------------------------------- */

enum op {
    OP_NONDUMPABLE = 1,
    OP_SETNS = 2,            /* i0 fd, i1 nstype */
    OP_UNSHARE = 3,          /* i0 flags */
    OP_SYNC_SETUP = 4,       /* send SETUP(pid), wait OK */
    OP_BECOME_ROOT = 5,      /* setresgid/setresuid 0 (after entering a user namespace) */
    OP_WRITE_PROC = 6,       /* s0 path under /proc (host procfs), s1 data */
    OP_FORK = 7,             /* clone(CLONE_PARENT): the caller sends PID(child) and exits */
    OP_SETSID = 8,
    OP_LOOPBACK_UP = 9,
    OP_PREPARE_ROOT = 10,    /* i0 "/" propagation, i1 no own mount ns; s0 rootfs, s1 mount point holding the rootfs */
    OP_MOUNT = 12,           /* i0 flags, i1 MNT_* bits, i2 flags of a fallback remount; s0 src, s1 dst, s2 type, s3 data */
    OP_MOVE_MOUNT = 13,      /* i0 detached mount fd, i1 MNT_* bits, s1 dst */
    OP_REMOUNT_BIND = 14,    /* i0 flags to set, i1 flags cleared; s1 dst */
    OP_PROPAGATION = 15,     /* i0 flags; s1 dst */
    OP_SETATTR = 16,         /* i0 attr_set, i1 attr_clr; s1 dst */
    OP_WAIT_GO = 17,         /* wait GO(state blobs) from the runtime */
    OP_MKNOD = 18,           /* i0 mode (type|perm), i1 major, i2 minor, i3 uid, i4 gid; s0 path */
    OP_BIND_DEVICE = 19,     /* s0 host path, s1 path in root */
    OP_SYMLINK = 20,         /* i0 replace; s0 target, s1 link path in root */
    OP_HOOKS_SYNC = 21,      /* send HOOKS, wait OK */
    OP_RUN_HOOK = 22,        /* i0 timeout s, i1 argc, i2 envc (-1: inherit), i3 state blob; s0 path, s1 argv, s2 env, s3 where */
    OP_MKDIR_P = 23,         /* s0 path in root */
    OP_PIVOT_ROOT = 24,
    OP_MOVE_ROOT = 25,       /* --no-pivot: MS_MOVE over / and chroot */
    OP_CHROOT = 26,          /* no mount namespace: chroot only */
    OP_SYSCTL = 27,          /* s0 path under /proc/sys, s1 value */
    OP_READONLY_PATH = 28,   /* s0 path in root */
    OP_MASK_PATH = 29,       /* s0 path in root */
    OP_ROOT_READONLY = 30,
    OP_CONSOLE = 31,         /* i0 socket fd, i1 rows, i2 cols, i3 uid, i4 gid (-1: keep) */
    OP_SETHOSTNAME = 32,     /* s0 */
    OP_SETDOMAINNAME = 33,   /* s0 */
    OP_RLIMIT = 34,          /* i0 resource, i1 soft, i2 hard */
    OP_KEYRING = 35,         /* s0 name */
    OP_PERSONALITY = 36,     /* i0 */
    OP_SCHED = 37,           /* i0 policy, i1 flags, i2 nice, i3 priority, i4 runtime, i5 deadline, i6 period */
    OP_IOPRIO = 38,          /* i0 value */
    OP_AFFINITY = 39,        /* s0 cpu mask bytes */
    OP_EXEC_ARGS = 40,       /* i0 argc, i1 envc; s0 argv, s1 env */
    OP_SET_HOME = 41,        /* i0 uid: HOME from the root's /etc/passwd */
    OP_FIND_EXEC = 42,       /* s0 arg0, s1 PATH list, s2 cwd */
    OP_REPORT_CREATED = 43,
    OP_WAIT_START = 44,      /* i0 listener fd */
    OP_FD_SWEEP = 45,        /* i0 preserved fds after stdio */
    OP_DROP_BOUNDING = 46,   /* i0 mask to keep, i1 last cap */
    OP_SET_IDS = 47,         /* i0 uid, i1 gid, i2 ngroups, i3 setgroups denied; s0 groups (u32 each) */
    OP_SET_CAPS = 48,        /* i0 effective, i1 permitted, i2 inheritable */
    OP_AMBIENT = 49,         /* i0 mask */
    OP_UMASK = 50,           /* i0 */
    OP_CHDIR = 51,           /* s0 */
    OP_RELEASE = 52,         /* tell `start` we are past everything that can fail but execve */
    OP_NO_NEW_PRIVS = 53,
    OP_SECCOMP = 54,         /* i0 flags, i1 listener (1: new listener, send it); s0 program */
    OP_EXEC = 55,
    OP_STDIO_CHOWN = 56,     /* i0 uid, i1 gid */
    OP_OOM_SCORE = 57,       /* i0 value (through the host procfs, before any pivot) */
    OP_OPEN_CWD_ROOT = 58,   /* root fd := "/" of the current mount namespace (exec) */
};

/* OP_MOUNT / OP_MOVE_MOUNT bits */
#define MNT_TARGET_FILE 1     /* the mount point is a file (bind of a file) */
#define MNT_COPY_UP 2         /* tmpcopyup: fill the new mount with what was underneath */
#define MNT_SYSFS_FALLBACK 4  /* EPERM: bind the host's /sys instead */
#define MNT_CGROUP2_FALLBACK 8 /* EPERM/EBUSY: bind the host's /sys/fs/cgroup instead */
#define MNT_TMPFS_MODE 16     /* no mode= given: the tmpfs takes the mode of the directory under it */
#define MNT_TREE_FALLBACK 32  /* EACCES reaching the source: move the runtime's detached copy (i3) */

struct str { const char *p; uint32_t len; };
struct step {
    uint32_t op, index;
    int64_t i[8];
    struct str s[5]; /* s[4]: what the step does, for messages composed here (after `start`) */
};

#define PLAN_MAGIC "OCIPLAN1"
#define STEP_SIZE (4 + 4 + 8 * 8 + 5 * 8)

/* sync messages (first byte) */
#define MSG_SETUP 'S'
#define MSG_PID 'P'
#define MSG_HOOKS 'H'
#define MSG_CREATED 'C'
#define MSG_ERROR 'E'
#define MSG_LISTENER 'L'
#define MSG_OK 'K'
#define MSG_GO 'G'
#define MSG_ABORT 'A'

static int sync_fd = -1;
static int root_fd = -1;       /* O_PATH of the container's root (before pivot: the rootfs) */
static int devnull_fd = -1;    /* the host's /dev/null, opened before entering anything */
static int start_conn = -1;    /* the accepted `start` connection */
static uint32_t current_step;
static char *state_blob[2];
static uint32_t state_len[2];
static char **exec_argv;
static char **exec_envp;
static int exec_envc;
static char exec_path[4096];
static int in_exec_mode;       /* exec (join) plans report success by EOF and send listeners on sync */
static int released;           /* `start` has returned: failures go to the container's stderr */
static struct step *running;   /* the step being run */

static void exit_on_signal(int signal_number) { _exit(128 + signal_number); }

/* ---- errors ------------------------------------------------------------------------------ */

static void send_all_msg(const void *data, size_t len)
{
    if (sync_fd >= 0)
        (void)send(sync_fd, data, len, MSG_NOSIGNAL);
}

/* Report (step, errno, detail) and exit.  The runtime composes the message. */
static void __attribute__((noreturn)) fail_detail(int err, const char *detail)
{
    char frame[4096];
    size_t dlen = detail ? strnlen(detail, sizeof(frame) - 9) : 0;
    frame[0] = MSG_ERROR;
    memcpy(frame + 1, &current_step, 4);
    uint32_t e = (uint32_t)err;
    memcpy(frame + 5, &e, 4);
    if (dlen)
        memcpy(frame + 9, detail, dlen);
    send_all_msg(frame, 9 + dlen);
    if (start_conn >= 0) {
        /* After `start` connected, `start` reads the reason on that connection, as one line. */
        char line[4600];
        const char *what = running ? running->s[4].p : "oci-runtime";
        int n;
        if (running && running->op == OP_RUN_HOOK && detail) {
            /* detail: "status N\nlast stderr line", "signal N\n...", "timeout N\n" */
            const char *rest = strchr(detail, '\n');
            rest = rest ? rest + 1 : "";
            long value = strtol(strchr(detail, ' ') ? strchr(detail, ' ') + 1 : "0", NULL, 10);
            if (strncmp(detail, "timeout", 7) == 0)
                n = snprintf(line, sizeof(line), "%s timed out after %ld s", what, value);
            else if (strncmp(detail, "signal", 6) == 0)
                n = snprintf(line, sizeof(line), "%s failed: killed by signal %ld%s%s", what, value,
                             *rest ? ": " : "", rest);
            else
                n = snprintf(line, sizeof(line), "%s failed: exit status %ld%s%s", what, value,
                             *rest ? ": " : "", rest);
        } else if (detail && *detail) {
            n = snprintf(line, sizeof(line), "%s: %s: %s", what, strerror(err), detail);
        } else {
            n = snprintf(line, sizeof(line), "%s: %s", what, strerror(err));
        }
        size_t len = n < 0 ? 0 : (size_t)n < sizeof(line) - 1 ? (size_t)n : sizeof(line) - 2;
        if (released) {
            /* `start` stopped reading at the release byte: the container's stderr is where a
             * failure of the last steps (execve, the privilege drop under the filter) shows. */
            line[len] = '\n';
            (void)write(2, "oci-runtime: ", 13);
            (void)write(2, line, len + 1);
        } else if (len) {
            (void)write(start_conn, line, len);
        }
    }
    /* As a shell, and as podman maps runc's: 127 for a program that cannot be found, 126 for
     * one that cannot be executed. */
    if (running && running->op == OP_EXEC)
        _exit(err == ENOENT ? 127 : 126);
    _exit(1);
}

static void __attribute__((noreturn)) fail(int err) { fail_detail(err, NULL); }

#define CHECK(expr) do { if ((expr) < 0) fail(errno); } while (0)

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

/* Open `path` as seen from the root: symlinks resolve as if the root were "/". */
static int open_in_root(const char *path, int flags)
{
    /* EAGAIN: a rename or mount somewhere on the host raced a ".." of the walk; the kernel asks
     * for a retry (openat2(2)). */
    long fd;
    int attempts = 0;
    do {
        fd = sys_openat2(root_fd, rel(path), flags, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    } while (fd < 0 && errno == EAGAIN && ++attempts < 1024);
    return (int)fd;
}

static void fdpath(int fd, char *buf, size_t size) { snprintf(buf, size, "/proc/self/fd/%d", fd); }

static int read_exact(int fd, void *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = read(fd, (char *)buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

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

/* One message from the runtime; exits quietly when it is gone or aborts. */
static ssize_t receive(char *buf, size_t size, char expected)
{
    ssize_t n;
    do {
        n = recv(sync_fd, buf, size, 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0 || buf[0] == MSG_ABORT)
        _exit(1);
    if (buf[0] != expected)
        fail_detail(EPROTO, "unexpected message from the runtime");
    return n;
}

static void send_u32_msg(char type, uint32_t value)
{
    char frame[5];
    frame[0] = type;
    memcpy(frame + 1, &value, 4);
    send_all_msg(frame, sizeof(frame));
}

static int send_fd(int sock, const void *data, size_t len, int fd)
{
    struct iovec iov = {(void *)data, len};
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof(control.buf);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
    ssize_t n;
    do {
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -1 : 0;
}

/* NUL-separated strings of a blob as a NULL-terminated vector. */
static char **split_vector(struct str blob, int count)
{
    char **vector = calloc((size_t)count + 1, sizeof(char *));
    if (!vector)
        fail(ENOMEM);
    const char *p = blob.p, *end = blob.p + blob.len;
    for (int k = 0; k < count; k++) {
        if (p >= end)
            fail_detail(EINVAL, "plan: vector shorter than its count");
        vector[k] = (char *)p;
        p += strlen(p) + 1;
    }
    return vector;
}

/* ---- paths inside the root ---------------------------------------------------------------- */

static int mkdirs_in_root(const char *path, mode_t mode, int depth);

/* Follow a dangling symlink `name` in directory `dirfd` (whose in-root path is `parent`):
 * create what it points to, resolved inside the root. */
static int create_symlink_target(int dirfd, const char *name, const char *parent, mode_t mode, int depth)
{
    char target[4096], resolved[8192];
    ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);
    if (n < 0)
        return -1;
    target[n] = 0;
    if (target[0] == '/')
        snprintf(resolved, sizeof(resolved), "%s", target);
    else
        snprintf(resolved, sizeof(resolved), "%s/%s", parent, target);
    int fd = mkdirs_in_root(resolved, mode, depth + 1);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* mkdir -p inside the root; returns an O_PATH fd of the directory.  Dangling symlinks on the way
 * are followed as if the root were "/": their targets are created inside the root. */
static int mkdirs_in_root(const char *path, mode_t mode, int depth)
{
    if (depth > 40) {
        errno = ELOOP;
        return -1;
    }
    char walked[8192] = "";
    size_t wlen = 0;
    int current = dup(root_fd);
    if (current < 0)
        return -1;
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        if (!*p)
            break;
        const char *end = strchr(p, '/');
        size_t plen = end ? (size_t)(end - p) : strlen(p);
        char part[256];
        if (plen >= sizeof(part) || wlen + plen + 2 >= sizeof(walked)) {
            close(current);
            errno = ENAMETOOLONG;
            return -1;
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
                    char parent[8192];
                    snprintf(parent, sizeof(parent), "%.*s", (int)(wlen - plen - 1), walked);
                    if (create_symlink_target(current, part, parent, mode, depth) < 0) {
                        int saved = errno;
                        close(current);
                        errno = saved;
                        return -1;
                    }
                }
                made = 0;
            }
            if (made == 0)
                next = open_in_root(walked, O_PATH | O_DIRECTORY);
        }
        if (next < 0) {
            int saved = errno;
            close(current);
            errno = saved;
            return -1;
        }
        close(current);
        current = next;
        errno = 0;
    }
    return current;
}

/* An empty file at `path` (parents too) unless something is there; O_PATH fd of what is there. */
static int mkfile_in_root(const char *path, mode_t mode)
{
    char parent[8192];
    snprintf(parent, sizeof(parent), "%s", path);
    size_t len = strlen(parent);
    while (len > 1 && parent[len - 1] == '/')
        parent[--len] = 0;
    char *slash = strrchr(parent, '/');
    const char *name = parent;
    if (slash) {
        *slash = 0;
        name = slash + 1;
    }
    char name_copy[256];
    snprintf(name_copy, sizeof(name_copy), "%s", name);
    int dirfd = mkdirs_in_root(slash ? parent : "/", 0755, 0);
    if (dirfd < 0)
        return -1;
    int fd = openat(dirfd, name_copy, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd >= 0)
        close(fd);
    close(dirfd);
    return open_in_root(path, O_PATH);
}

static int ensure_mountpoint(const char *path, int is_file)
{
    int fd = open_in_root(path, O_PATH);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    return is_file ? mkfile_in_root(path, 0644) : mkdirs_in_root(path, 0755, 0);
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
static int remount_bind(const char *dst, unsigned long flags, unsigned long cleared)
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

static void do_mount(struct step *st)
{
    const char *src = st->s[0].len ? st->s[0].p : NULL;
    const char *dst = st->s[1].p;
    const char *type = st->s[2].len ? st->s[2].p : NULL;
    const char *data = st->s[3].len ? st->s[3].p : NULL;
    unsigned long flags = (unsigned long)st->i[0];
    int bits = (int)st->i[1];
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

static void do_move_mount(struct step *st)
{
    int target = ensure_mountpoint(st->s[1].p, (int)st->i[1] & MNT_TARGET_FILE);
    if (target < 0)
        fail(errno);
    CHECK(syscall(SYS_move_mount, (int)st->i[0], "", target, "",
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH));
    close(target);
    close((int)st->i[0]);
}

static void do_setattr(struct step *st)
{
    int fd = open_in_root(st->s[1].p, O_PATH);
    if (fd < 0)
        fail(errno);
    struct { uint64_t attr_set, attr_clr, propagation, userns_fd; } attr = {
        (uint64_t)st->i[0], (uint64_t)st->i[1], 0, 0};
    CHECK(syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)));
    close(fd);
}

static void do_propagation(struct step *st)
{
    int fd = open_in_root(st->s[1].p, O_PATH);
    if (fd < 0)
        fail(errno);
    char path[64];
    fdpath(fd, path, sizeof(path));
    CHECK(mount(NULL, path, NULL, (unsigned long)st->i[0], NULL));
    close(fd);
}

static void prepare_root(struct step *st)
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

static void open_root(const char *dir)
{
    int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        fail(errno);
    if (root_fd >= 0)
        close(root_fd);
    root_fd = fd;
}

static void pivot_root_here(void)
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

static void move_root_here(void)
{
    CHECK(fchdir(root_fd));
    CHECK(mount(".", "/", NULL, MS_MOVE, NULL));
    CHECK(chroot("."));
    CHECK(chdir("/"));
    open_root("/");
}

static void chroot_here(void)
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

static void mask_path(const char *path)
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

static void readonly_path(const char *path)
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

static void root_readonly(void)
{
    char path[64];
    fdpath(root_fd, path, sizeof(path));
    CHECK(mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | flags_of_mount(path), NULL));
}

/* ---- /proc writes ------------------------------------------------------------------------- */

/* Write to a file of the host's procfs (the one this mount namespace inherited: the container
 * cannot reach it), checked to be procfs and reached without symlinks (CVE-2025-52881). */
static int write_proc(const char *relative, const char *data, size_t len)
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

/* ---- devices ------------------------------------------------------------------------------ */

static void make_node(struct step *st)
{
    const char *path = st->s[0].p;
    mode_t mode = (mode_t)st->i[0];
    dev_t number = makedev((unsigned)st->i[1], (unsigned)st->i[2]);
    char parent[8192];
    snprintf(parent, sizeof(parent), "%s", path);
    char *slash = strrchr(parent, '/');
    if (!slash || !slash[1])
        fail_detail(EINVAL, "device path");
    *slash = 0;
    const char *name = slash + 1;
    int dirfd = mkdirs_in_root(parent[0] ? parent : "/", 0755, 0);
    if (dirfd < 0)
        fail(errno);
    mode_t old = umask(0);
    if (mknodat(dirfd, name, mode, number) < 0) {
        if (errno != EEXIST)
            fail(errno);
        struct stat existing;
        CHECK(fstatat(dirfd, name, &existing, AT_SYMLINK_NOFOLLOW));
        if ((existing.st_mode & S_IFMT) != (mode & S_IFMT) || existing.st_rdev != number)
            fail_detail(EEXIST, "exists and is not the requested device");
        /* The requested device is there already (the image's, or a node bound from the host):
         * it is not ours to change; its mode and owner stay. */
        umask(old);
        close(dirfd);
        return;
    }
    umask(old);
    /* Ours: made just now.  fchmodat/fchownat without following (a node, never a link). */
    CHECK(fchmodat(dirfd, name, mode & 07777, 0));
    CHECK(fchownat(dirfd, name, (uid_t)st->i[3], (gid_t)st->i[4], AT_SYMLINK_NOFOLLOW));
    close(dirfd);
}

static void bind_device(struct step *st)
{
    int target = mkfile_in_root(st->s[1].p, 0600);
    if (target < 0)
        fail(errno);
    char path[64];
    fdpath(target, path, sizeof(path));
    CHECK(mount(st->s[0].p, path, NULL, MS_BIND, NULL));
    close(target);
}

static void make_symlink(struct step *st)
{
    const char *link = st->s[1].p;
    char parent[8192];
    snprintf(parent, sizeof(parent), "%s", link);
    char *slash = strrchr(parent, '/');
    if (!slash)
        fail_detail(EINVAL, "symlink path");
    *slash = 0;
    const char *name = slash + 1;
    int dirfd = mkdirs_in_root(parent[0] ? parent : "/", 0755, 0);
    if (dirfd < 0)
        fail(errno);
    if (st->i[0] && unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        fail(errno);
    if (symlinkat(st->s[0].p, dirfd, name) < 0 && errno != EEXIST)
        fail(errno);
    close(dirfd);
}

/* ---- the terminal ------------------------------------------------------------------------- */

static void console(struct step *st)
{
    int sock = (int)st->i[0];
    int master = open_in_root("/dev/ptmx", O_RDWR | O_NOCTTY);
    if (master < 0)
        fail(errno);
    int unlock = 0;
    CHECK(ioctl(master, TIOCSPTLCK, &unlock));
    if (st->i[1] || st->i[2]) {
        struct winsize size = {(unsigned short)st->i[1], (unsigned short)st->i[2], 0, 0};
        CHECK(ioctl(master, TIOCSWINSZ, &size));
    }
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        fail(errno);
    unsigned int number = 0;
    CHECK(ioctl(master, TIOCGPTN, &number));
    if (st->i[3] >= 0)
        CHECK(fchown(slave, (uid_t)st->i[3], (gid_t)(st->i[4] >= 0 ? st->i[4] : -1)));
    for (int target = 0; target < 3; target++)
        CHECK(dup2(slave, target));
    close(slave);
    CHECK(ioctl(0, TIOCSCTTY, 0));
    char name[64];
    int len = snprintf(name, sizeof(name), "/dev/pts/%u", number);
    if (send_fd(sock, name, (size_t)len, master) < 0)
        fail(errno);
    close(master);
    close(sock);
}

static void stdio_chown(uid_t uid, gid_t gid)
{
    for (int fd = 0; fd < 3; fd++) {
        struct stat st;
        if (fstat(fd, &st) < 0)
            continue;
        if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3))
            continue; /* /dev/null: shared with everything, never ours to give away */
        if (st.st_uid == uid)
            continue;
        if (fchown(fd, uid, gid) < 0 && errno != EINVAL && errno != EPERM)
            fail(errno);
    }
}

/* ---- hooks (createContainer, startContainer) ---------------------------------------------- */

static void run_hook(struct step *st)
{
    const char *path = st->s[0].p;
    char **argv = split_vector(st->s[1], (int)st->i[1]);
    char **envp = st->i[2] >= 0 ? split_vector(st->s[2], (int)st->i[2]) : environ;
    int blob = (int)st->i[3] & 1;
    int in_pipe[2], err_pipe[2];
    CHECK(pipe2(in_pipe, O_CLOEXEC));
    CHECK(pipe2(err_pipe, O_CLOEXEC));
    pid_t pid = fork();
    if (pid < 0)
        fail(errno);
    if (pid == 0) {
        dup2(in_pipe[0], 0);
        dup2(devnull_fd, 1);
        dup2(err_pipe[1], 2);
        syscall(SYS_close_range, 3, ~0U, 0);
        execve(path, argv, envp);
        dprintf(2, "exec %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    close(in_pipe[0]);
    close(err_pipe[1]);
    signal(SIGPIPE, SIG_IGN);
    /* A hook need not read its stdin: what does not fit in the pipe is dropped, never waited for. */
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
    (void)write(in_pipe[1], state_blob[blob], state_len[blob]);
    close(in_pipe[1]);
    signal(SIGPIPE, SIG_DFL); /* ignored signals survive execve: the program must not inherit it */
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    char tail[2048];
    size_t tail_len = 0;
    int timeout_ms = st->i[0] > 0 ? (int)(st->i[0] * 1000) : -1;
    struct timespec begin, now;
    clock_gettime(CLOCK_MONOTONIC, &begin);
    int timed_out = 0, err_open = 1;
    for (;;) {
        struct pollfd fds[2] = {{pidfd, POLLIN, 0}, {err_open ? err_pipe[0] : -1, POLLIN, 0}};
        int wait_ms = -1;
        if (timeout_ms >= 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            long spent = (now.tv_sec - begin.tv_sec) * 1000 + (now.tv_nsec - begin.tv_nsec) / 1000000;
            wait_ms = spent >= timeout_ms ? 0 : (int)(timeout_ms - spent);
        }
        int n = poll(fds, 2, wait_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n == 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (err_open && (fds[1].revents & (POLLIN | POLLHUP))) {
            char buf[1024];
            ssize_t got = read(err_pipe[0], buf, sizeof(buf));
            if (got <= 0) {
                err_open = 0;
            } else {
                if (tail_len + (size_t)got > sizeof(tail) - 1) {
                    size_t drop = tail_len + (size_t)got - (sizeof(tail) - 1);
                    if (drop > tail_len)
                        drop = tail_len;
                    memmove(tail, tail + drop, tail_len - drop);
                    tail_len -= drop;
                }
                size_t take = (size_t)got > sizeof(tail) - 1 ? sizeof(tail) - 1 : (size_t)got;
                memcpy(tail + tail_len, buf + got - take, take);
                tail_len += take;
            }
        }
        if (fds[0].revents & POLLIN)
            break;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(pidfd);
    close(err_pipe[0]);
    if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    /* detail: "<kind> <value>\n<last stderr line>"; the runtime phrases it. */
    char detail[2200];
    tail[tail_len] = 0;
    while (tail_len && (tail[tail_len - 1] == '\n' || tail[tail_len - 1] == ' '))
        tail[--tail_len] = 0;
    char *last = strrchr(tail, '\n');
    last = last ? last + 1 : tail;
    if (timed_out)
        snprintf(detail, sizeof(detail), "timeout %lld\n", (long long)st->i[0]);
    else if (WIFSIGNALED(status))
        snprintf(detail, sizeof(detail), "signal %d\n%s", WTERMSIG(status), last);
    else
        snprintf(detail, sizeof(detail), "status %d\n%s", WEXITSTATUS(status), last);
    fail_detail(0, detail);
}

/* ---- the process -------------------------------------------------------------------------- */

static void set_home(uid_t uid)
{
    for (int k = 0; k < exec_envc; k++)
        if (strncmp(exec_envp[k], "HOME=", 5) == 0)
            return;
    char home[4096] = "/";
    /* Only a regular file is read: never a device node or a fifo of the image. */
    int probe = open_in_root("/etc/passwd", O_PATH);
    struct stat st;
    if (probe >= 0 && fstat(probe, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < (8 << 20)) {
        char path[64];
        fdpath(probe, path, sizeof(path));
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        struct stat opened;
        if (fd >= 0 && fstat(fd, &opened) == 0 && opened.st_ino == st.st_ino &&
            opened.st_dev == st.st_dev) {
            char *text = malloc((size_t)st.st_size + 1);
            if (text && read_exact(fd, text, (size_t)st.st_size) == 0) {
                text[st.st_size] = 0;
                for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                    char *fields[7] = {0};
                    int count = 0;
                    for (char *p = line; count < 7; count++) {
                        fields[count] = p;
                        char *colon = strchr(p, ':');
                        if (!colon) {
                            count++;
                            break;
                        }
                        *colon = 0;
                        p = colon + 1;
                    }
                    if (count >= 6 && fields[2][0] && strtoul(fields[2], NULL, 10) == uid &&
                        fields[5][0]) {
                        snprintf(home, sizeof(home), "%s", fields[5]);
                        break;
                    }
                }
            }
            free(text);
        }
        if (fd >= 0)
            close(fd);
    }
    if (probe >= 0)
        close(probe);
    char **grown = calloc((size_t)exec_envc + 2, sizeof(char *));
    if (!grown)
        fail(ENOMEM);
    memcpy(grown, exec_envp, (size_t)exec_envc * sizeof(char *));
    grown[exec_envc] = malloc(strlen(home) + 6);
    if (!grown[exec_envc])
        fail(ENOMEM);
    sprintf(grown[exec_envc], "HOME=%s", home);
    exec_envp = grown;
    exec_envc++;
}

/* args[0] like execvp with the process's own PATH; checked in the root: a missing program fails
 * create, as with runc.  detail: "notfound" (not in $PATH), "denied", "nofile" + path. */
static void find_exec(struct step *st)
{
    const char *arg0 = st->s[0].p;
    const char *search = st->s[1].p;
    const char *cwd = st->s[2].p;
    char candidate[8192];
    if (strchr(arg0, '/')) {
        if (arg0[0] == '/')
            snprintf(candidate, sizeof(candidate), "%s", arg0);
        else
            snprintf(candidate, sizeof(candidate), "%s/%s", cwd, arg0);
        int fd = open_in_root(candidate, O_PATH);
        struct stat sb;
        if (fd < 0)
            fail_detail(ENOENT, candidate);
        if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
            syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) < 0)
            fail_detail(EACCES, candidate);
        close(fd);
        snprintf(exec_path, sizeof(exec_path), "%s", candidate);
        return;
    }
    const char *p = search;
    for (;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == 0)
            snprintf(candidate, sizeof(candidate), "%s/%s", cwd, arg0);
        else
            snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len, p, arg0);
        int fd = open_in_root(candidate, O_PATH);
        if (fd >= 0) {
            struct stat sb;
            int ok = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) &&
                     syscall(SYS_faccessat2, fd, "", X_OK, AT_EMPTY_PATH | AT_EACCESS) == 0;
            close(fd);
            if (ok) {
                snprintf(exec_path, sizeof(exec_path), "%s", candidate);
                return;
            }
        }
        if (!end)
            break;
        p = end + 1;
    }
    fail_detail(ENOENT, "notfound");
}

static int capset3(uint64_t effective, uint64_t permitted, uint64_t inheritable)
{
    struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2];
    data[0].effective = (uint32_t)effective;
    data[1].effective = (uint32_t)(effective >> 32);
    data[0].permitted = (uint32_t)permitted;
    data[1].permitted = (uint32_t)(permitted >> 32);
    data[0].inheritable = (uint32_t)inheritable;
    data[1].inheritable = (uint32_t)(inheritable >> 32);
    return (int)syscall(SYS_capset, &header, data);
}

static void wait_start(int listener)
{
    /* As pid 1 of its pid namespace the init only receives signals it handles: until the user's
     * program runs, `kill` of a created container must end it, as with runc. */
    int terminating[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM};
    struct sigaction action = {0};
    action.sa_handler = SIG_DFL;
    for (size_t k = 0; k < sizeof(terminating) / sizeof(*terminating); k++) {
        /* SIG_DFL is ignored for pid 1; a handler that exits is not. */
        action.sa_handler = exit_on_signal;
        sigaction(terminating[k], &action, NULL);
    }
    for (;;) {
        int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0) {
            if (errno == EINTR)
                continue;
            fail(errno);
        }
        char request[64];
        ssize_t n = recv(conn, request, sizeof(request), 0);
        if (n == 5 && memcmp(request, "start", 5) == 0) {
            start_conn = conn;
            break;
        }
        close(conn); /* a stray connection: keep waiting for a real `start` */
    }
    close(listener);
    /* execve resets handled signals to their defaults; restore them now so hooks and the
     * process start with the defaults a fork inherits. */
    action.sa_handler = SIG_DFL;
    for (size_t k = 0; k < sizeof(terminating) / sizeof(*terminating); k++)
        sigaction(terminating[k], &action, NULL);
}


static void load_seccomp(struct step *st)
{
    struct sock_fprog program = {(unsigned short)(st->s[0].len / 8), (struct sock_filter *)st->s[0].p};
    unsigned long flags = (unsigned long)st->i[0];
    long result = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &program);
    if (result < 0)
        fail(errno);
    if (st->i[1]) {
        /* The listener goes to `start` (create) or to `exec`, which hands it to the agent. */
        int sock = in_exec_mode ? sync_fd : start_conn;
        static const char create_message[] = "\0seccomp-listener\0";
        static const char exec_message[] = "L";
        if (in_exec_mode)
            (void)send_fd(sock, exec_message, 1, (int)result);
        else
            (void)send_fd(sock, create_message, sizeof(create_message) - 1, (int)result);
        close((int)result);
    }
}

static void fd_sweep(int preserved)
{
    for (int fd = 3; fd < 3 + preserved; fd++) {
        int flags = fcntl(fd, F_GETFD);
        if (flags >= 0)
            fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    CHECK(syscall(SYS_close_range, 3 + preserved, ~0U, CLOSE_RANGE_CLOEXEC));
}

static void loopback_up(void)
{
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0)
        fail(errno);
    struct ifreq request = {0};
    snprintf(request.ifr_name, IFNAMSIZ, "lo");
    CHECK(ioctl(sock, SIOCGIFFLAGS, &request));
    request.ifr_flags |= IFF_UP;
    CHECK(ioctl(sock, SIOCSIFFLAGS, &request));
    close(sock);
}

/* ---- the interpreter ---------------------------------------------------------------------- */

static int go_read = -1;

static void run_step(struct step *st)
{
    char message[1 << 16];
    switch (st->op) {
    case OP_NONDUMPABLE:
        /* Before joining anything a container controls: no container process may ptrace us or
         * open /proc/<pid>/mem while we hold the runtime's privileges and fds. */
        CHECK(prctl(PR_SET_DUMPABLE, 0, 0, 0, 0));
        break;
    case OP_SETNS:
        CHECK(setns((int)st->i[0], (int)st->i[1]));
        close((int)st->i[0]);
        break;
    case OP_UNSHARE:
        CHECK(unshare((int)st->i[0]));
        break;
    case OP_SYNC_SETUP:
        send_u32_msg(MSG_SETUP, (uint32_t)getpid());
        receive(message, sizeof(message), MSG_OK);
        break;
    case OP_BECOME_ROOT:
        CHECK(setresgid(0, 0, 0));
        CHECK(setresuid(0, 0, 0));
        break;
    case OP_WRITE_PROC:
        CHECK(write_proc(st->s[0].p, st->s[1].p, st->s[1].len));
        break;
    case OP_FORK: {
        int go[2];
        CHECK(pipe2(go, O_CLOEXEC));
        /* CLONE_PARENT: the new process is the runtime's child, not ours, so the runtime can wait
         * for it without being a subreaper; a new pid namespace makes it pid 1 there. */
        pid_t pid = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
        if (pid < 0)
            fail(errno);
        if (pid > 0) {
            close(go[0]);
            send_u32_msg(MSG_PID, (uint32_t)pid);
            /* Only now may the child talk on the channel: the runtime must learn its pid first. */
            (void)write(go[1], "g", 1);
            _exit(0);
        }
        close(go[1]);
        go_read = go[0];
        char g;
        if (read(go_read, &g, 1) != 1)
            _exit(1);
        close(go_read);
        break;
    }
    case OP_SETSID:
        CHECK(setsid());
        break;
    case OP_LOOPBACK_UP:
        loopback_up();
        break;
    case OP_PREPARE_ROOT:
        prepare_root(st);
        break;
    case OP_OPEN_CWD_ROOT:
        open_root("/");
        break;
    case OP_MOUNT:
        do_mount(st);
        break;
    case OP_MOVE_MOUNT:
        do_move_mount(st);
        break;
    case OP_REMOUNT_BIND:
        CHECK(remount_bind(st->s[1].p, (unsigned long)st->i[0], (unsigned long)st->i[1]));
        break;
    case OP_PROPAGATION:
        do_propagation(st);
        break;
    case OP_SETATTR:
        do_setattr(st);
        break;
    case OP_WAIT_GO: {
        ssize_t n = receive(message, sizeof(message), MSG_GO);
        /* GO: u32 len, bytes, u32 len, bytes: the hook states ("creating", "created"). */
        size_t offset = 1;
        for (int k = 0; k < 2; k++) {
            uint32_t len = 0;
            if (offset + 4 > (size_t)n)
                fail_detail(EPROTO, "short GO message");
            memcpy(&len, message + offset, 4);
            offset += 4;
            if (offset + len > (size_t)n)
                fail_detail(EPROTO, "short GO message");
            state_blob[k] = malloc(len + 1);
            if (!state_blob[k])
                fail(ENOMEM);
            memcpy(state_blob[k], message + offset, len);
            state_len[k] = len;
            offset += len;
        }
        break;
    }
    case OP_MKNOD:
        make_node(st);
        break;
    case OP_BIND_DEVICE:
        bind_device(st);
        break;
    case OP_SYMLINK:
        make_symlink(st);
        break;
    case OP_HOOKS_SYNC:
        message[0] = MSG_HOOKS;
        send_all_msg(message, 1);
        receive(message, sizeof(message), MSG_OK);
        break;
    case OP_RUN_HOOK:
        run_hook(st);
        break;
    case OP_MKDIR_P: {
        int fd = mkdirs_in_root(st->s[0].p, 0755, 0);
        if (fd < 0)
            fail(errno);
        close(fd);
        break;
    }
    case OP_PIVOT_ROOT:
        pivot_root_here();
        break;
    case OP_MOVE_ROOT:
        move_root_here();
        break;
    case OP_CHROOT:
        chroot_here();
        break;
    case OP_SYSCTL:
        CHECK(write_proc(st->s[0].p, st->s[1].p, st->s[1].len));
        break;
    case OP_READONLY_PATH:
        readonly_path(st->s[0].p);
        break;
    case OP_MASK_PATH:
        mask_path(st->s[0].p);
        break;
    case OP_ROOT_READONLY:
        root_readonly();
        break;
    case OP_CONSOLE:
        console(st);
        break;
    case OP_SETHOSTNAME:
        CHECK(sethostname(st->s[0].p, st->s[0].len));
        break;
    case OP_SETDOMAINNAME:
        CHECK(setdomainname(st->s[0].p, st->s[0].len));
        break;
    case OP_RLIMIT: {
        struct rlimit limit = {(rlim_t)st->i[1], (rlim_t)st->i[2]};
        if (setrlimit((int)st->i[0], &limit) < 0) {
            int err = errno;
            struct rlimit current;
            char detail[64] = "";
            if (getrlimit((int)st->i[0], &current) == 0)
                snprintf(detail, sizeof(detail), "%llu", (unsigned long long)current.rlim_max);
            fail_detail(err, detail);
        }
        break;
    }
    case OP_KEYRING:
        /* ENOSYS: a kernel without keyrings; runc ignores it too. */
        if (syscall(SYS_keyctl, 1 /* KEYCTL_JOIN_SESSION_KEYRING */, st->s[0].p) < 0 && errno != ENOSYS)
            fail(errno);
        break;
    case OP_PERSONALITY:
        CHECK(personality((unsigned long)st->i[0]));
        break;
    case OP_SCHED: {
        struct {
            uint32_t size, sched_policy;
            uint64_t sched_flags;
            int32_t sched_nice;
            uint32_t sched_priority;
            uint64_t sched_runtime, sched_deadline, sched_period;
        } attr = {48, (uint32_t)st->i[0], (uint64_t)st->i[1], (int32_t)st->i[2], (uint32_t)st->i[3],
                  (uint64_t)st->i[4], (uint64_t)st->i[5], (uint64_t)st->i[6]};
        CHECK(syscall(SYS_sched_setattr, 0, &attr, 0));
        break;
    }
    case OP_IOPRIO:
        CHECK(syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)st->i[0]));
        break;
    case OP_AFFINITY:
        CHECK(sched_setaffinity(0, st->s[0].len, (const cpu_set_t *)st->s[0].p));
        break;
    case OP_EXEC_ARGS:
        exec_argv = split_vector(st->s[0], (int)st->i[0]);
        exec_envp = split_vector(st->s[1], (int)st->i[1]);
        exec_envc = (int)st->i[1];
        break;
    case OP_SET_HOME:
        set_home((uid_t)st->i[0]);
        break;
    case OP_FIND_EXEC:
        find_exec(st);
        break;
    case OP_REPORT_CREATED:
        message[0] = MSG_CREATED;
        send_all_msg(message, 1);
        close(sync_fd);
        sync_fd = -1;
        break;
    case OP_WAIT_START:
        wait_start((int)st->i[0]);
        break;
    case OP_FD_SWEEP:
        fd_sweep((int)st->i[0]);
        break;
    case OP_DROP_BOUNDING:
        for (int cap = 0; cap <= (int)st->i[1]; cap++)
            if (!((uint64_t)st->i[0] & (1ULL << cap)))
                CHECK(prctl(PR_CAPBSET_DROP, cap, 0, 0, 0));
        break;
    case OP_SET_IDS: {
        /* Capabilities are kept across the uid change; OP_SET_CAPS sets the final ones. */
        CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
        /* i3: the runtime wrote the user namespace's gid map without CAP_SETGID (rootless), so
         * setgroups is denied there; the plan then has no groups and the call is skipped. */
        if (!st->i[3] && setgroups((size_t)st->i[2], (const gid_t *)st->s[0].p) < 0)
            fail(errno);
        CHECK(setresgid((gid_t)st->i[1], (gid_t)st->i[1], (gid_t)st->i[1]));
        CHECK(setresuid((uid_t)st->i[0], (uid_t)st->i[0], (uid_t)st->i[0]));
        break;
    }
    case OP_SET_CAPS:
        CHECK(capset3((uint64_t)st->i[0], (uint64_t)st->i[1], (uint64_t)st->i[2]));
        break;
    case OP_AMBIENT:
        CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
        for (int cap = 0; cap < 64; cap++)
            if ((uint64_t)st->i[0] & (1ULL << cap))
                CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0));
        break;
    case OP_UMASK:
        umask((mode_t)st->i[0]);
        break;
    case OP_CHDIR:
        CHECK(chdir(st->s[0].p));
        break;
    case OP_RELEASE:
        /* `start` returns on this byte, before execve, as runc's does; what fails after it is
         * reported on the container's stderr. */
        if (start_conn >= 0)
            (void)write(start_conn, "", 1);
        released = 1;
        break;
    case OP_NO_NEW_PRIVS:
        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
        break;
    case OP_SECCOMP:
        load_seccomp(st);
        break;
    case OP_STDIO_CHOWN:
        stdio_chown((uid_t)st->i[0], (gid_t)st->i[1]);
        break;
    case OP_OOM_SCORE: {
        char value[32];
        int len = snprintf(value, sizeof(value), "%lld", (long long)st->i[0]);
        CHECK(write_proc("self/oom_score_adj", value, (size_t)len));
        break;
    }
    case OP_EXEC:
        execve(exec_path, exec_argv, exec_envp);
        fail_detail(errno, exec_path);
    default:
        fail_detail(EINVAL, "plan: unknown operation");
    }
}

static char *read_plan(int fd, size_t *size)
{
    size_t capacity = 1 << 16, used = 0;
    char *buf = malloc(capacity);
    if (!buf)
        return NULL;
    for (;;) {
        if (used == capacity) {
            capacity *= 2;
            char *grown = realloc(buf, capacity);
            if (!grown)
                return NULL;
            buf = grown;
        }
        ssize_t n = pread(fd, buf + used, capacity - used, (off_t)used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return NULL;
        if (n == 0)
            break;
        used += (size_t)n;
    }
    *size = used;
    return buf;
}

int main(int argc, char **argv)
{
    /* Run as anything but the runtime's executor (for instance as the interpreter of a
     * container's `#!/proc/self/exe` script): do nothing. */
    if (argc != 3 || strcmp(argv[0], "oci-runtime-executor") != 0)
        return 127;
    int plan_fd = atoi(argv[1]);
    sync_fd = atoi(argv[2]);
    struct stat st;
    if (plan_fd < 3 || sync_fd < 3 || fstat(plan_fd, &st) < 0 || fstat(sync_fd, &st) < 0 ||
        !S_ISSOCK(st.st_mode))
        return 127;
    fcntl(sync_fd, F_SETFD, FD_CLOEXEC);
    devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    size_t size = 0;
    char *plan = read_plan(plan_fd, &size);
    close(plan_fd);
    if (!plan)
        fail_detail(errno, "reading the plan");
    if (size < 20 || memcmp(plan, PLAN_MAGIC, 8) != 0)
        fail_detail(EINVAL, "plan: bad header");
    uint32_t version, count, flags;
    memcpy(&version, plan + 8, 4);
    memcpy(&count, plan + 12, 4);
    memcpy(&flags, plan + 16, 4);
    if (version != 1)
        fail_detail(EINVAL, "plan: unknown version");
    in_exec_mode = flags & 1;
    size_t header = 20;
    if ((size - header) / STEP_SIZE < count)
        fail_detail(EINVAL, "plan: truncated");
    const char *blob = plan + header + (size_t)count * STEP_SIZE;
    size_t blob_size = size - header - (size_t)count * STEP_SIZE;
    struct step *steps = calloc(count ? count : 1, sizeof(struct step));
    if (!steps)
        fail(ENOMEM);
    for (uint32_t k = 0; k < count; k++) {
        const char *p = plan + header + (size_t)k * STEP_SIZE;
        memcpy(&steps[k].op, p, 4);
        memcpy(&steps[k].index, p + 4, 4);
        memcpy(steps[k].i, p + 8, 64);
        for (int s = 0; s < 5; s++) {
            uint32_t offset, len;
            memcpy(&offset, p + 72 + s * 8, 4);
            memcpy(&len, p + 76 + s * 8, 4);
            if ((size_t)offset + len + 1 > blob_size || blob[offset + len] != 0)
                fail_detail(EINVAL, "plan: string out of bounds");
            steps[k].s[s].p = blob + offset;
            steps[k].s[s].len = len;
        }
    }
    for (uint32_t k = 0; k < count; k++) {
        current_step = steps[k].index;
        running = &steps[k];
        run_step(&steps[k]);
    }
    return 0;
}
