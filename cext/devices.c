/* Device nodes, bound devices and symlinks in the root; the console (a pty of the container's
 * devpts) and the ownership of stdio. */
#include "executor.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>

/* ---- devices ------------------------------------------------------------------------------ */

void op_mknod(const struct step *st)
{
    const char *path = st->s[S_MKNOD_PATH].p;
    mode_t mode = (mode_t)st->i[I_MKNOD_MODE];
    dev_t number = makedev((unsigned)st->i[I_MKNOD_MAJOR], (unsigned)st->i[I_MKNOD_MINOR]);
    char *parent = strdup(path);
    if (!parent)
        fail(ENOMEM);
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
        free(parent);
        return;
    }
    umask(old);
    /* Ours: made just now.  fchmodat/fchownat without following (a node, never a link). */
    CHECK(fchmodat(dirfd, name, mode & 07777, 0));
    CHECK(fchownat(dirfd, name, (uid_t)st->i[I_MKNOD_UID], (gid_t)st->i[I_MKNOD_GID],
                   AT_SYMLINK_NOFOLLOW));
    close(dirfd);
    free(parent);
}

void op_bind_device(const struct step *st)
{
    int target = mkfile_in_root(st->s[S_BIND_DEVICE_PATH].p, 0600);
    if (target < 0)
        fail(errno);
    char path[64];
    fdpath(target, path, sizeof(path));
    CHECK(mount(st->s[S_BIND_DEVICE_HOST_PATH].p, path, NULL, MS_BIND, NULL));
    close(target);
}

void op_symlink(const struct step *st)
{
    const char *link = st->s[S_SYMLINK_PATH].p;
    char *parent = strdup(link);
    if (!parent)
        fail(ENOMEM);
    char *slash = strrchr(parent, '/');
    if (!slash)
        fail_detail(EINVAL, "symlink path");
    *slash = 0;
    const char *name = slash + 1;
    int dirfd = mkdirs_in_root(parent[0] ? parent : "/", 0755, 0);
    if (dirfd < 0)
        fail(errno);
    if (st->i[I_SYMLINK_REPLACE] && unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
        fail(errno);
    if (symlinkat(st->s[S_SYMLINK_TARGET].p, dirfd, name) < 0 && errno != EEXIST)
        fail(errno);
    close(dirfd);
    free(parent);
}

/* ---- the terminal ------------------------------------------------------------------------- */

void op_console(const struct step *st)
{
    int sock = (int)st->i[I_CONSOLE_SOCKET];
    int master = open_in_root("/dev/ptmx", O_RDWR | O_NOCTTY);
    if (master < 0)
        fail(errno);
    int unlock = 0;
    CHECK(ioctl(master, TIOCSPTLCK, &unlock));
    unsigned short rows = (unsigned short)st->i[I_CONSOLE_ROWS];
    unsigned short cols = (unsigned short)st->i[I_CONSOLE_COLS];
    if (rows || cols) {
        struct winsize size = {rows, cols, 0, 0};
        CHECK(ioctl(master, TIOCSWINSZ, &size));
    }
    /* As runc: no "\r" added before each "\n" of output, so what a caller captures of the
     * terminal (docker logs, kubectl logs of a -t container) has plain newlines. */
    struct termios modes;
    CHECK(tcgetattr(master, &modes));
    modes.c_oflag &= ~(tcflag_t)ONLCR;
    CHECK(tcsetattr(master, TCSANOW, &modes));
    int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0)
        fail(errno);
    unsigned int number = 0;
    CHECK(ioctl(master, TIOCGPTN, &number));
    int64_t uid = st->i[I_CONSOLE_UID], gid = st->i[I_CONSOLE_GID];
    if (uid >= 0)
        CHECK(fchown(slave, (uid_t)uid, gid >= 0 ? (gid_t)gid : (gid_t)-1));
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

void op_stdio_chown(const struct step *st)
{
    uid_t uid = (uid_t)st->i[I_STDIO_CHOWN_UID];
    gid_t gid = (gid_t)st->i[I_STDIO_CHOWN_GID];
    for (int fd = 0; fd < 3; fd++) {
        struct stat sb;
        if (fstat(fd, &sb) < 0)
            continue;
        if (S_ISCHR(sb.st_mode) && sb.st_rdev == makedev(1, 3))
            continue; /* /dev/null: shared with everything, never ours to give away */
        if (sb.st_uid == uid)
            continue;
        if (fchown(fd, uid, gid) < 0 && errno != EINVAL && errno != EPERM)
            fail(errno);
    }
}
