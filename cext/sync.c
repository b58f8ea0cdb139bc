/* Talking to the runtime: the sync socket (oci_runtime/executor/wire.py), the `start` connection,
 * and failures, reported as (step index, errno, detail) for the runtime to compose. */
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
char *state_blob[2];           /* the hook states ("creating", "created") GO brought */
uint32_t state_len[2];

static void exit_on_signal(int signal_number) { _exit(128 + signal_number); }

/* ---- errors ------------------------------------------------------------------------------ */

void send_all_msg(const void *data, size_t len)
{
    if (sync_fd >= 0)
        (void)send(sync_fd, data, len, MSG_NOSIGNAL);
}

/* Report (step, errno, detail) and exit.  The runtime composes the message. */
void __attribute__((noreturn)) fail_detail(int err, const char *detail)
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

void __attribute__((noreturn)) fail(int err) { fail_detail(err, NULL); }

/* One message from the runtime; exits quietly when it is gone or aborts. */
ssize_t receive(char *buf, size_t size, char expected)
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

void send_u32_msg(char type, uint32_t value)
{
    char frame[5];
    frame[0] = type;
    memcpy(frame + 1, &value, 4);
    send_all_msg(frame, sizeof(frame));
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


void wait_start(int listener)
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
