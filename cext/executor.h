/* Declarations shared by the executor's translation units (cext/executor*.c): the plan as the
 * executor reads it, the state of the run, and the functions one unit calls in another.
 * Include it first: _GNU_SOURCE must precede every system header.
 * The plan format and the sync messages are documented in oci_runtime/executor/wire.py. */
#ifndef OCI_EXECUTOR_H
#define OCI_EXECUTOR_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

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
#ifndef SYS_set_mempolicy
#define SYS_set_mempolicy 238
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
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
    OP_CHDIR = 51,           /* s0; i0 0 plain, 1 before the user changes (EACCES waits), 2 after (once) */
    OP_RELEASE = 52,         /* tell `start` we are past everything that can fail but execve */
    OP_NO_NEW_PRIVS = 53,
    OP_SECCOMP = 54,         /* i0 flags, i1 listener (1: new listener, send it); s0 program */
    OP_EXEC = 55,
    OP_STDIO_CHOWN = 56,     /* i0 uid, i1 gid */
    OP_OOM_SCORE = 57,       /* i0 value (through the host procfs, before any pivot) */
    OP_OPEN_CWD_ROOT = 58,   /* root fd := "/" of the current mount namespace (exec) */
    OP_MEMPOLICY = 59,       /* i0 mode | flags, i1 maxnode; s0 nodemask (unsigned longs, may be empty) */
};

/* OP_MOUNT / OP_MOVE_MOUNT bits */
#define MNT_TARGET_FILE 1     /* the mount point is a file (bind of a file) */
#define MNT_COPY_UP 2         /* tmpcopyup: fill the new mount with what was underneath */
#define MNT_SYSFS_FALLBACK 4  /* EPERM: bind the host's /sys instead */
#define MNT_CGROUP2_FALLBACK 8 /* EPERM/EBUSY: bind the host's /sys/fs/cgroup instead */
#define MNT_TMPFS_MODE 16     /* no mode= given: the tmpfs takes the mode of the directory under it */
#define MNT_TREE_FALLBACK 32  /* EACCES reaching the source: move the runtime's detached copy (i3) */
#define MNT_ORDINARY_DIR 64   /* proc, sysfs: the destination must not be a symlink or a file */
#define MNT_SOURCE_AT_MOUNT 128 /* the bind source is looked at when mounting: file or directory */

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

/* ---- the state of the run ----------------------------------------------------------------- */

/* executor.c */
extern int devnull_fd;         /* the host's /dev/null, opened before entering anything */
extern uint32_t current_step;
extern struct step *running;   /* the step being run */
char **split_vector(struct str blob, int count);

/* sync.c: the runtime's sync socket and the `start` connection */
extern int sync_fd;
extern int start_conn;         /* the accepted `start` connection */
extern int in_exec_mode;       /* exec (join) plans report success by EOF and send listeners on sync */
extern int released;           /* `start` has returned: failures go to the container's stderr */
extern char *state_blob[2];
extern uint32_t state_len[2];
void send_all_msg(const void *data, size_t len);
void __attribute__((noreturn)) fail_detail(int err, const char *detail);
void __attribute__((noreturn)) fail(int err);
ssize_t receive(char *buf, size_t size, char expected);
void send_u32_msg(char type, uint32_t value);
int send_fd(int sock, const void *data, size_t len, int fd);
void wait_start(int listener);

#define CHECK(expr) do { if ((expr) < 0) fail(errno); } while (0)

/* paths.c: paths inside the root; the host's procfs */
extern int root_fd;            /* O_PATH of the container's root (before pivot: the rootfs) */
int open_in_root(const char *path, int flags);
/* walk.c: open_in_root's userspace walk, for when openat2 keeps failing with EAGAIN */
int walk_in_root(int root, const char *path, int flags);
void fdpath(int fd, char *buf, size_t size);
int mkdirs_in_root(const char *path, mode_t mode, int depth);
int mkfile_in_root(const char *path, mode_t mode);
int ensure_mountpoint(const char *path, int is_file);
int write_proc(const char *relative, const char *data, size_t len);

/* namespaces.c */
void fork_as_runtime_child(void);
void loopback_up(void);

/* mounts.c: mounts and the root */
int remount_bind(const char *dst, unsigned long flags, unsigned long cleared);
void do_mount(struct step *st);
void do_move_mount(struct step *st);
void do_setattr(struct step *st);
void do_propagation(struct step *st);
void prepare_root(struct step *st);
void open_root(const char *dir);
void pivot_root_here(void);
void move_root_here(void);
void chroot_here(void);
void mask_path(const char *path);
void readonly_path(const char *path);
void root_readonly(void);

/* devices.c: device nodes, symlinks, the terminal */
void make_node(struct step *st);
void bind_device(struct step *st);
void make_symlink(struct step *st);
void console(struct step *st);
void stdio_chown(uid_t uid, gid_t gid);

/* hooks.c */
void run_hook(struct step *st);

/* process.c: what execve gets, and the process's privileges */
extern char **exec_argv;
extern char **exec_envp;
extern int exec_envc;
extern char exec_path[4096];
void set_home(uid_t uid);
void find_exec(struct step *st);
int capset3(uint64_t effective, uint64_t permitted, uint64_t inheritable);
void load_seccomp(struct step *st);
void fd_sweep(int preserved);

#endif
