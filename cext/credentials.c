/* The process's privileges: the bounding set, its ids and groups, capabilities (ambient too),
 * no_new_privs and the seccomp filter.  Packed data from the plan (groups, the BPF program) is
 * copied into aligned arrays before the kernel gets it. */
#include "executor.h"

#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#define CAPABILITIES 64 /* bits of a mask (plan.c keeps a capability number below it) */

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

void op_drop_bounding(const struct step *st)
{
    uint64_t keep = (uint64_t)st->i[I_DROP_BOUNDING_KEEP];
    int last = (int)st->i[I_DROP_BOUNDING_LAST_CAP];
    for (int cap = 0; cap <= last && cap < CAPABILITIES; cap++)
        if (!(keep & (UINT64_C(1) << cap)))
            CHECK(prctl(PR_CAPBSET_DROP, cap, 0, 0, 0));
}

void op_set_ids(const struct step *st)
{
    uid_t uid = (uid_t)st->i[I_SET_IDS_UID];
    gid_t gid = (gid_t)st->i[I_SET_IDS_GID];
    size_t count = (size_t)st->i[I_SET_IDS_NGROUPS];
    struct str packed = st->s[S_SET_IDS_GROUPS];
    /* Capabilities are kept across the uid change; set_caps sets the final ones. */
    CHECK(prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0));
    /* The runtime wrote the user namespace's gid map without CAP_SETGID (rootless), so
     * setgroups is denied there; the plan then has no groups and the call is skipped. */
    if (!st->i[I_SET_IDS_SETGROUPS_DENIED]) {
        if (packed.len != count * sizeof(uint32_t))
            fail_detail(EINVAL, "plan: groups do not match their count");
        gid_t *groups = calloc(count ? count : 1, sizeof(gid_t));
        if (!groups)
            fail(ENOMEM);
        for (size_t k = 0; k < count; k++) {
            uint32_t group;
            memcpy(&group, packed.p + k * sizeof(group), sizeof(group));
            groups[k] = (gid_t)group;
        }
        CHECK(setgroups(count, groups));
        free(groups);
    }
    CHECK(setresgid(gid, gid, gid));
    CHECK(setresuid(uid, uid, uid));
}

void op_set_caps(const struct step *st)
{
    CHECK(capset3((uint64_t)st->i[I_SET_CAPS_EFFECTIVE], (uint64_t)st->i[I_SET_CAPS_PERMITTED],
                  (uint64_t)st->i[I_SET_CAPS_INHERITABLE]));
}

void op_ambient(const struct step *st)
{
    uint64_t mask = (uint64_t)st->i[I_AMBIENT_MASK];
    CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0));
    for (int cap = 0; cap < CAPABILITIES; cap++)
        if (mask & (UINT64_C(1) << cap))
            CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0));
}

void op_no_new_privs(const struct step *st)
{
    (void)st;
    CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
}

void op_seccomp(const struct step *st)
{
    struct str code = st->s[S_SECCOMP_PROGRAM];
    size_t count = code.len / sizeof(struct sock_filter); /* plan.c: 1 to BPF_MAXINSNS */
    struct sock_filter *filter = calloc(count ? count : 1, sizeof(*filter));
    if (!filter)
        fail(ENOMEM);
    memcpy(filter, code.p, count * sizeof(*filter));
    struct sock_fprog program = {(unsigned short)count, filter};
    long listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                            (unsigned long)st->i[I_SECCOMP_FLAGS], &program);
    if (listener < 0)
        fail(errno);
    free(filter);
    if (st->i[I_SECCOMP_LISTENER]) {
        /* The listener goes to `start` (create) or to `exec`, which hands it to the agent. */
        if (in_exec_mode) {
            struct field none[FRAME_MAX_FIELDS] = {{0}};
            send_frame(FRAME_LISTENER, none, (int)listener);
        } else {
            (void)send_fd(start_conn, SECCOMP_LISTENER_MESSAGE, SECCOMP_LISTENER_MESSAGE_SIZE,
                          (int)listener);
        }
        close((int)listener);
    }
}
