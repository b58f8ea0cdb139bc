/* ipcs [-m]: the System V shared memory segments of the caller's IPC namespace, from
 * /proc/sysvipc/shm, laid out as busybox's ipcs does (the busybox of the test images lacks the
 * applet; critest's HostIpc specs look for a segment id in `ipcs -m`). */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && strcmp(argv[1], "-m") != 0)) {
        fprintf(stderr, "usage: ipcs [-m]\n");
        return 1;
    }
    FILE *shm = fopen("/proc/sysvipc/shm", "r");
    if (shm == NULL) {
        perror("ipcs: /proc/sysvipc/shm");
        return 1;
    }
    printf("\n------ Shared Memory Segments --------\n");
    printf("%-10s %-10s %-10s %-10s %-10s %-10s %-12s\n", "key", "shmid", "owner", "perms",
           "bytes", "nattch", "status");
    char line[512];
    if (fgets(line, sizeof(line), shm) == NULL) {  /* the header line */
        fclose(shm);
        return 0;
    }
    while (fgets(line, sizeof(line), shm) != NULL) {
        long key, id, size, cpid, lpid, attached;
        unsigned perms, uid;
        if (sscanf(line, "%ld %ld %o %ld %ld %ld %ld %u", &key, &id, &perms, &size, &cpid,
                   &lpid, &attached, &uid) != 8)
            continue;
        printf("0x%08lx %-10ld %-10u %-10o %-10ld %-10ld\n", (unsigned long)key & 0xffffffffUL,
               id, uid, perms & 0777, size, attached);
    }
    fclose(shm);
    return 0;
}
