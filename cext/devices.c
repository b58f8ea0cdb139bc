/* Device nodes, bound devices and symlinks in the root; the console (a pty of the container's
 * devpts) and the ownership of stdio. */
#include "executor.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>

/* ---- devices ------------------------------------------------------------------------------ */

void make_node(struct step *st)
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

void bind_device(struct step *st)
{
    int target = mkfile_in_root(st->s[1].p, 0600);
    if (target < 0)
        fail(errno);
    char path[64];
    fdpath(target, path, sizeof(path));
    CHECK(mount(st->s[0].p, path, NULL, MS_BIND, NULL));
    close(target);
}

void make_symlink(struct step *st)
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

void console(struct step *st)
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

void stdio_chown(uid_t uid, gid_t gid)
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
