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

/* The formats (op numbers, argument slots, frames, the start socket's bytes) are generated from
 * oci_runtime/executor/wire.py into generated/format.h at build time (cext/generate_format.py). */
#include "format.h"

struct str { const char *p; uint32_t len; };
struct step {
    uint32_t op;
    int64_t i[STEP_INTS];
    struct str s[STEP_STRINGS]; /* s[S_WHAT]: what the step does, for messages composed here */
};
struct plan { uint32_t flags, count; struct step *steps; };

/* plan.c: a plan's bytes checked against the op table and decoded (no side effect but memory);
 * -1 with `why` filled when it is malformed. */
int decode_plan(const char *data, size_t size, struct plan *plan, char *why, size_t why_size);

/* frames.c: frames of the sync socket (format.h: frame_fields), encoded and parsed. */
struct field { const char *p; uint32_t len; uint32_t number; };
#define FRAME_MAX_FIELDS 4
size_t frame_size(char type, const struct field *fields);
void frame_pack(char type, const struct field *fields, char *out);
int frame_parse(char type, const char *payload, size_t len, struct field *fields);

/* Every op's handler (format.h: OP_LIST), in the unit of its concern. */
#define DECLARE_HANDLER(op, handler) void handler(const struct step *st);
OP_LIST(DECLARE_HANDLER)
#undef DECLARE_HANDLER

/* ---- the state of the run, and what one unit calls in another ----------------------------- */

/* executor.c: the interpreter */
extern int devnull_fd;         /* the host's /dev/null, opened before entering anything */
extern uint32_t current_step;  /* its index in the plan (PLAN_REFUSED before the first) */
extern const struct step *running; /* the step being run */

/* plan.c: a vector argument as the NULL-terminated array execve takes */
char **split_vector(struct str blob, int64_t count);

/* sync.c: the runtime's sync socket and the `start` connection */
extern int sync_fd;
extern int start_conn;         /* the accepted `start` connection */
extern int in_exec_mode;       /* exec (join) plans report success by EOF and send listeners on sync */
extern int released;           /* `start` has returned: failures go to the container's stderr */
void send_frame(char type, const struct field *fields, int fd);
void send_u32_frame(char type, uint32_t value);
char *receive_frame(char expected, struct field *fields);
void __attribute__((noreturn)) fail_detail(int err, const char *detail);
void __attribute__((noreturn)) fail(int err);
int send_fd(int sock, const void *data, size_t len, int fd);
int write_all(int fd, const void *buf, size_t len);
int read_all(int fd, void *buf, size_t len);
extern struct str hook_state[2]; /* what GO brought: the states "creating" and "created" */

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

/* sanitizer_log.c, in the sanitized build only (tests): a forked process reports to the log too */
void sanitizer_forked(void) __attribute__((weak));

/* mounts.c */
int remount_bind(const char *dst, unsigned long flags, unsigned long cleared);
void open_root(const char *dir);

/* copyup.c: tmpcopyup */
void copy_up(int from, int to, const char *destination);

/* passwd.c: the home directory of `uid` in passwd `text` (NUL-terminated, cut up), or NULL */
const char *home_in_passwd(char *text, uid_t uid);

/* process.c: what execve gets */
extern char **exec_argv;
extern char **exec_envp;
extern size_t exec_envc;
extern char *exec_path;

#endif
