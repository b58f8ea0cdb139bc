/* Talking to the runtime: frames on the sync socket (oci_runtime/executor/wire.py), the `start`
 * connection, and failures, reported as (step index, errno, detail) for the runtime to compose.
 * The steps that are only a message: sync_setup, wait_go, hooks_sync, report_created,
 * wait_start, release. */
#include "executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>

int sync_fd = -1;
int start_conn = -1;
int in_exec_mode;
int released;
struct str hook_state[2];
static char *go_frame; /* GO's payload, kept for the rest of the run: hook_state points in it */

static void exit_on_signal(int signal_number) { _exit(128 + signal_number); }

/* ---- frames ------------------------------------------------------------------------------ */

/* All of `buf` out to `fd`: with write(2) (the only system call allowed after some seccomp
 * filters: no send, no allocation on the way to it), or to a socket with send(MSG_NOSIGNAL),
 * where a runtime gone is EPIPE, not SIGPIPE. */
static int put_all(int fd, const void *buf, size_t len, int socket)
{
    size_t done = 0;
    while (done < len) {
        const char *from = (const char *)buf + done;
        ssize_t n = socket ? send(fd, from, len - done, MSG_NOSIGNAL) : write(fd, from, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        done += (size_t)n;
    }
    return 0;
}

int write_all(int fd, const void *buf, size_t len) { return put_all(fd, buf, len, 0); }

static int send_all(int fd, const void *buf, size_t len) { return put_all(fd, buf, len, 1); }

/* Exactly `len` bytes from `fd`; -1 at an error or EOF before them. */
int read_all(int fd, void *buf, size_t len)
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

/* One frame to the runtime; `fd` >= 0 goes with it (SCM_RIGHTS).  A runtime that is gone is not
 * an error here: the next receive exits. */
void send_frame(char type, const struct field *fields, int fd)
{
    if (sync_fd < 0)
        return;
    /* On the stack when it fits: a failure under a seccomp filter may not allocate. */
    size_t size = frame_size(type, fields);
    char small[4096];
    char *frame = size <= sizeof(small) ? small : malloc(size);
    if (!frame)
        return;
    frame_pack(type, fields, frame);
    if (fd >= 0) {
        /* The fd rides on the first byte; the rest follows. */
        if (send_fd(sync_fd, frame, 1, fd) == 0)
            (void)send_all(sync_fd, frame + 1, size - 1);
    } else {
        (void)send_all(sync_fd, frame, size);
    }
    if (frame != small)
        free(frame);
}

void send_u32_frame(char type, uint32_t value)
{
    struct field fields[1] = {{NULL, 0, value}};
    send_frame(type, fields, -1);
}

/* The next frame from the runtime, which must be of type `expected`: its payload (kept by the
 * caller: `fields` point into it).  Exits quietly when the runtime is gone or aborts. */
char *receive_frame(char expected, struct field *fields)
{
    char header[FRAME_HEADER_SIZE];
    if (read_all(sync_fd, header, sizeof(header)) < 0 || header[0] == FRAME_ABORT)
        _exit(1);
    uint32_t len;
    memcpy(&len, header + 1, sizeof(len));
    if (header[0] != expected)
        fail_detail(EPROTO, "unexpected frame from the runtime");
    char *payload = malloc(len ? len : 1);
    if (!payload)
        fail(ENOMEM);
    if (read_all(sync_fd, payload, len) < 0)
        _exit(1);
    if (frame_parse(header[0], payload, len, fields) < 0)
        fail_detail(EPROTO, "malformed frame from the runtime");
    return payload;
}

int send_fd(int sock, const void *data, size_t len, int fd)
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

/* ---- errors ------------------------------------------------------------------------------ */

static void put(int fd, const char *text) { (void)write_all(fd, text, strlen(text)); }

/* After `start` connected, the reason goes to `start` (or, once released, to the container's
 * stderr) as one line, composed here: the runtime that compiled the plan is gone.  Written in
 * pieces, with write(2) alone and nothing allocated: it may run under the seccomp filter. */
static void report_to_start(int err, const char *detail)
{
    const char *what = running ? running->s[S_WHAT].p : "oci-runtime";
    /* `start` stopped reading at the release byte: the container's stderr is where a failure of
     * the last steps (execve, the privilege drop under the filter) shows. */
    int fd = released ? 2 : start_conn;
    if (released)
        put(fd, "oci-runtime: ");
    put(fd, what);
    if (running && running->op == OP_RUN_HOOK && detail) {
        /* detail: "status N\nlast stderr line", "signal N\n...", "timeout N\n" */
        const char *number = strchr(detail, ' ');
        const char *rest = strchr(detail, '\n');
        size_t digits = number && rest && rest > number ? (size_t)(rest - number - 1) : 0;
        if (strncmp(detail, "timeout", 7) == 0)
            put(fd, " timed out after ");
        else if (strncmp(detail, "signal", 6) == 0)
            put(fd, " failed: killed by signal ");
        else
            put(fd, " failed: exit status ");
        (void)write_all(fd, number ? number + 1 : "?", number ? digits : 1);
        if (strncmp(detail, "timeout", 7) == 0)
            put(fd, " s");
        else if (rest && rest[1]) {
            put(fd, ": ");
            put(fd, rest + 1);
        }
    } else {
        put(fd, ": ");
        put(fd, strerror(err));
        if (detail && *detail) {
            put(fd, ": ");
            put(fd, detail);
        }
    }
    if (released)
        put(fd, "\n");
}

/* Report (step, errno, detail) and exit.  The runtime composes the message. */
void __attribute__((noreturn)) fail_detail(int err, const char *detail)
{
    size_t dlen = detail ? strlen(detail) : 0;
    struct field fields[3] = {{NULL, 0, current_step}, {NULL, 0, (uint32_t)err},
                              {detail, (uint32_t)dlen, 0}};
    send_frame(FRAME_ERROR, fields, -1);
    if (start_conn >= 0)
        report_to_start(err, detail);
    /* As a shell, and as podman maps runc's: 127 for a program that cannot be found, 126 for
     * one that cannot be executed. */
    if (running && running->op == OP_EXEC)
        _exit(err == ENOENT ? 127 : 126);
    _exit(1);
}

void __attribute__((noreturn)) fail(int err) { fail_detail(err, NULL); }

/* ---- the steps that are messages ---------------------------------------------------------- */

void op_sync_setup(const struct step *st)
{
    (void)st;
    struct field fields[FRAME_MAX_FIELDS] = {{0}};
    send_u32_frame(FRAME_SETUP, (uint32_t)getpid());
    free(receive_frame(FRAME_OK, fields));
}

void op_wait_go(const struct step *st)
{
    (void)st;
    struct field fields[FRAME_MAX_FIELDS] = {{0}};
    go_frame = receive_frame(FRAME_GO, fields);
    hook_state[0] = (struct str){fields[F_GO_CREATING].p, fields[F_GO_CREATING].len};
    hook_state[1] = (struct str){fields[F_GO_CREATED].p, fields[F_GO_CREATED].len};
}

void op_hooks_sync(const struct step *st)
{
    (void)st;
    struct field fields[FRAME_MAX_FIELDS] = {{0}};
    send_frame(FRAME_HOOKS, fields, -1);
    free(receive_frame(FRAME_OK, fields));
}

void op_report_created(const struct step *st)
{
    (void)st;
    struct field fields[FRAME_MAX_FIELDS] = {{0}};
    send_frame(FRAME_CREATED, fields, -1);
    close(sync_fd);
    sync_fd = -1;
}

void op_wait_start(const struct step *st)
{
    int listener = (int)st->i[I_WAIT_START_LISTENER];
    /* As pid 1 of its pid namespace the init only receives signals it handles: until the user's
     * program runs, `kill` of a created container must end it, as with runc. */
    int terminating[] = {SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGTERM};
    struct sigaction action = {0};
    action.sa_handler = exit_on_signal; /* SIG_DFL is ignored for pid 1; a handler that exits is not */
    for (size_t k = 0; k < sizeof(terminating) / sizeof(*terminating); k++)
        sigaction(terminating[k], &action, NULL);
    for (;;) {
        int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0) {
            if (errno == EINTR)
                continue;
            fail(errno);
        }
        char request[START_REQUEST_SIZE + 1];
        ssize_t n = recv(conn, request, sizeof(request), 0);
        if (n == START_REQUEST_SIZE && memcmp(request, START_REQUEST, START_REQUEST_SIZE) == 0) {
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

void op_release(const struct step *st)
{
    (void)st;
    /* `start` returns on this byte, before execve, as runc's does; what fails after it is
     * reported on the container's stderr. */
    if (start_conn >= 0)
        (void)send_all(start_conn, START_RELEASED, START_RELEASED_SIZE);
    released = 1;
}
