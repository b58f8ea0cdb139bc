/* The hooks run inside the container's namespaces (createContainer, startContainer): forked and
 * exec'd with the container's state on stdin, their stderr's last line kept for the message.
 *
 * The whole state reaches the hook, however large (annotations): it is written as the hook reads
 * it, and a hook that exits or closes its stdin without reading it is not waited for.  A timeout
 * is any number of seconds the schema allows: the wait is cut in slices poll(2) can take. */
#include "executor.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>

#define TAIL_SIZE 2048
#define LONGEST_POLL_MS (1 << 30)  /* about 12 days a slice; poll takes an int */

/* Milliseconds left until `deadline` (at most LONGEST_POLL_MS), -1 without one. */
static int poll_timeout(const struct timespec *deadline, int has_deadline)
{
    if (!has_deadline)
        return -1;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > deadline->tv_sec ||
        (now.tv_sec == deadline->tv_sec && now.tv_nsec >= deadline->tv_nsec))
        return 0;
    int64_t left_ms = (int64_t)(deadline->tv_sec - now.tv_sec) * 1000 +
                      (deadline->tv_nsec - now.tv_nsec) / 1000000;
    if (left_ms < 1)
        return 1;
    return left_ms > LONGEST_POLL_MS ? LONGEST_POLL_MS : (int)left_ms;
}

/* Keep the last TAIL_SIZE - 1 bytes of what the hook wrote to stderr. */
static void keep_tail(char *tail, size_t *tail_len, const char *buf, size_t got)
{
    if (got >= TAIL_SIZE - 1) {
        memcpy(tail, buf + got - (TAIL_SIZE - 1), TAIL_SIZE - 1);
        *tail_len = TAIL_SIZE - 1;
        return;
    }
    if (*tail_len + got > TAIL_SIZE - 1) {
        size_t drop = *tail_len + got - (TAIL_SIZE - 1);
        memmove(tail, tail + drop, *tail_len - drop);
        *tail_len -= drop;
    }
    memcpy(tail + *tail_len, buf, got);
    *tail_len += got;
}

void op_run_hook(const struct step *st)
{
    const char *path = st->s[S_RUN_HOOK_PATH].p;
    char **argv = split_vector(st->s[S_RUN_HOOK_ARGV], st->i[I_RUN_HOOK_ARGC]);
    int64_t envc = st->i[I_RUN_HOOK_ENVC];
    char **envp = envc >= 0 ? split_vector(st->s[S_RUN_HOOK_ENV], envc) : environ;
    struct str state = hook_state[st->i[I_RUN_HOOK_STATE] ? 1 : 0];
    int64_t timeout = st->i[I_RUN_HOOK_TIMEOUT];
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
    /* SIGPIPE ignored while we write: a hook gone is EPIPE.  Ignored signals survive execve,
     * so it is restored before anything is exec'd from here. */
    struct sigaction ignore = {0}, previous;
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &previous);
    fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
    int in_open = 1;
    size_t written = 0;
    if (state.len == 0) {
        close(in_pipe[1]);
        in_open = 0;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        fail(errno);
    char tail[TAIL_SIZE];
    size_t tail_len = 0;
    /* A timeout past what a timespec holds (hundreds of billions of years) is none. */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    int has_deadline = timeout > 0 && timeout < (int64_t)1 << 40;
    if (has_deadline)
        deadline.tv_sec += (time_t)timeout;
    int timed_out = 0, err_open = 1, exited = 0;
    while (!exited) {
        struct pollfd fds[3] = {{pidfd, POLLIN, 0},
                                {err_open ? err_pipe[0] : -1, POLLIN, 0},
                                {in_open ? in_pipe[1] : -1, POLLOUT, 0}};
        int wait_ms = poll_timeout(&deadline, has_deadline);
        int n = poll(fds, 3, wait_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail(errno);
        if (n == 0) {
            if (poll_timeout(&deadline, has_deadline) > 0)
                continue; /* only a slice of a long timeout ended */
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        if (in_open && (fds[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t put = write(in_pipe[1], state.p + written, state.len - written);
            if (put > 0)
                written += (size_t)put;
            if ((put < 0 && errno != EAGAIN && errno != EINTR) || written == state.len) {
                close(in_pipe[1]); /* all of it, or the hook stopped reading (EPIPE) */
                in_open = 0;
            }
        }
        if (err_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[1024];
            ssize_t got = read(err_pipe[0], buf, sizeof(buf));
            if (got <= 0 && !(got < 0 && errno == EINTR))
                err_open = 0;
            else if (got > 0)
                keep_tail(tail, &tail_len, buf, (size_t)got);
        }
        if (fds[0].revents & POLLIN)
            exited = 1;
    }
    if (in_open)
        close(in_pipe[1]);
    sigaction(SIGPIPE, &previous, NULL);
    /* What the hook wrote just before it exited (a child of it may hold the pipe: no waiting). */
    fcntl(err_pipe[0], F_SETFL, O_NONBLOCK);
    for (char buf[1024]; err_open && !timed_out;) {
        ssize_t got = read(err_pipe[0], buf, sizeof(buf));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        keep_tail(tail, &tail_len, buf, (size_t)got);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(pidfd);
    close(err_pipe[0]);
    free(argv);
    if (envp != environ)
        free(envp);
    if (!timed_out && WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return;
    /* detail: "<kind> <value>\n<last stderr line>"; the runtime phrases it. */
    tail[tail_len] = 0;
    while (tail_len && (tail[tail_len - 1] == '\n' || tail[tail_len - 1] == ' '))
        tail[--tail_len] = 0;
    char *last = strrchr(tail, '\n');
    last = last ? last + 1 : tail;
    char detail[TAIL_SIZE + 64];
    if (timed_out)
        snprintf(detail, sizeof(detail), "timeout %lld\n", (long long)timeout);
    else if (WIFSIGNALED(status))
        snprintf(detail, sizeof(detail), "signal %d\n%s", WTERMSIG(status), last);
    else
        snprintf(detail, sizeof(detail), "status %d\n%s", WEXITSTATUS(status), last);
    fail_detail(0, detail);
}
