/* A plan's bytes checked and decoded.  Nothing here acts: it allocates the steps and fills them
 * with pointers into the plan's bytes, after checking the whole plan against the op table that
 * oci_runtime/executor/wire.py defines (format.h: op_layouts):
 *   - the magic, the format number (an executor built from other tables refuses), the flags;
 *   - the step count against the size, every op known, the ops it needs present before it;
 *   - every integer inside its kind's range (unused slots zero): a capability number below 64,
 *     an fd not below -1, a uid that is not (uid_t)-1, ...;
 *   - every string inside the blob and NUL-terminated, of its kind's shape: no NUL inside a path
 *     or text, a vector holding exactly its count of strings, a u32 array exactly 4 x its count
 *     bytes, a BPF program of whole instructions (1 to 4096).
 * So the steps can trust what they are given.  The fuzzer (cext/fuzz/) runs this on arbitrary
 * bytes. */
#define FORMAT_TABLES
#include "executor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BPF_MAX_INSTRUCTIONS 4096 /* BPF_MAXINSNS */
#define BPF_INSTRUCTION_SIZE 8

static int refuse(char *why, size_t size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(why, size, format, args);
    va_end(args);
    return -1;
}

static uint32_t u32_at(const char *p)
{
    uint32_t value;
    memcpy(&value, p, sizeof(value));
    return value;
}

/* How many NUL-terminated strings `s` holds, or -1 when its last byte is not a NUL. */
static int64_t vector_length(struct str s)
{
    if (s.len == 0)
        return 0;
    if (s.p[s.len - 1] != 0)
        return -1;
    int64_t count = 0;
    for (const char *p = s.p, *end = s.p + s.len; p < end; p = (const char *)memchr(p, 0, (size_t)(end - p)) + 1)
        count++;
    return count;
}

/* Whether string `s` of a step fits its slot's kind; `count` is the integer it refers to. */
static const char *string_problem(enum string_kind kind, struct str s, int64_t count)
{
    switch (kind) {
    case ARG_NONE:
        return s.len ? "must be empty" : NULL;
    case ARG_PATH:
    case ARG_TEXT:
        return memchr(s.p, 0, s.len) ? "holds a NUL" : NULL;
    case ARG_BYTES:
        return NULL;
    case ARG_VECTOR_OPTIONAL:
        if (count == -1)
            return s.len ? "must be empty (no vector)" : NULL;
        /* fall through */
    case ARG_VECTOR:
        return vector_length(s) == count ? NULL : "does not hold its count of strings";
    case ARG_U32S:
        return (uint64_t)s.len == (uint64_t)count * 4 ? NULL : "is not 4 bytes a count";
    case ARG_NODEMASK:
        /* set_mempolicy reads BITS_TO_LONGS(maxnode - 1) longs: whole longs, enough of them. */
        if (s.len % sizeof(unsigned long) || (uint64_t)(count ? count - 1 : 0) > (uint64_t)s.len * 8)
            return "is not a nodemask of whole longs holding maxnode - 1 bits";
        return NULL;
    case ARG_BPF:
        if (s.len == 0 || s.len % BPF_INSTRUCTION_SIZE ||
            s.len / BPF_INSTRUCTION_SIZE > BPF_MAX_INSTRUCTIONS)
            return "is not 1 to 4096 BPF instructions";
        return NULL;
    }
    return "has an unknown kind";
}

/* Step `k` (bytes at `p`) decoded into `st` and checked; -1 with `why` filled. */
static int decode_step(const char *p, uint32_t k, struct step *st, const char *blob,
                       size_t blob_size, const unsigned char *seen, char *why, size_t why_size)
{
    st->op = u32_at(p + STEP_OP_AT);
    if (st->op == 0 || st->op >= OP_COUNT)
        return refuse(why, why_size, "step %u: unknown op %u", k, st->op);
    const struct op_layout *layout = &op_layouts[st->op];
    for (size_t n = 0; n < sizeof(layout->needs) && layout->needs[n]; n++)
        if (!seen[layout->needs[n]])
            return refuse(why, why_size, "step %u (%s): no %s before it", k, layout->name,
                          op_layouts[layout->needs[n]].name);
    for (int n = 0; n < STEP_INTS; n++) {
        memcpy(&st->i[n], p + STEP_INTS_AT + n * 8, 8);
        if (st->i[n] < layout->ints[n].lo || st->i[n] > layout->ints[n].hi)
            return refuse(why, why_size, "step %u (%s): integer %d is %lld, outside [%lld, %lld]",
                          k, layout->name, n, (long long)st->i[n],
                          (long long)layout->ints[n].lo, (long long)layout->ints[n].hi);
    }
    for (int n = 0; n < STEP_STRINGS; n++) {
        uint32_t offset = u32_at(p + STEP_STRINGS_AT + n * 8);
        uint32_t len = u32_at(p + STEP_STRINGS_AT + n * 8 + 4);
        /* The string and its NUL inside the blob: offset + len < blob_size. */
        if (offset >= blob_size || len >= blob_size - offset || blob[offset + len] != 0)
            return refuse(why, why_size, "step %u (%s): string %d is not a NUL-terminated string "
                          "of the plan", k, layout->name, n);
        st->s[n].p = blob + offset;
        st->s[n].len = len;
        enum string_kind kind = n == S_WHAT ? ARG_TEXT : layout->strings[n].kind;
        int64_t referred = 0;
        if (n != S_WHAT && layout->strings[n].count >= 0)
            referred = st->i[layout->strings[n].count];
        const char *problem = string_problem(kind, st->s[n], referred);
        if (problem)
            return refuse(why, why_size, "step %u (%s): string %d %s", k, layout->name, n,
                          problem);
    }
    return 0;
}

int decode_plan(const char *data, size_t size, struct plan *plan, char *why, size_t why_size)
{
    plan->count = 0;
    plan->flags = 0;
    plan->steps = NULL;
    if (size < PLAN_HEADER_SIZE || memcmp(data, PLAN_MAGIC, PLAN_MAGIC_SIZE) != 0)
        return refuse(why, why_size, "not a plan (no %s header)", PLAN_MAGIC);
    uint32_t format = u32_at(data + PLAN_FORMAT_AT);
    uint32_t count = u32_at(data + PLAN_COUNT_AT);
    uint32_t flags = u32_at(data + PLAN_FLAGS_AT);
    if (format != PLAN_FORMAT)
        return refuse(why, why_size, "format %#x, but this executor reads %#x: it was built "
                      "from another oci_runtime/executor/wire.py (reinstall oci-runtime)",
                      format, PLAN_FORMAT);
    if (flags & ~(uint32_t)PLAN_FLAGS)
        return refuse(why, why_size, "unknown flags %#x", flags);
    if (count > (size - PLAN_HEADER_SIZE) / STEP_SIZE)
        return refuse(why, why_size, "%u steps do not fit in %zu bytes", count, size);
    const char *blob = data + PLAN_HEADER_SIZE + (size_t)count * STEP_SIZE;
    size_t blob_size = size - PLAN_HEADER_SIZE - (size_t)count * STEP_SIZE;
    struct step *steps = calloc(count ? count : 1, sizeof(*steps));
    if (!steps)
        return refuse(why, why_size, "no memory for %u steps", count);
    unsigned char seen[OP_COUNT] = {0};
    for (uint32_t k = 0; k < count; k++) {
        const char *p = data + PLAN_HEADER_SIZE + (size_t)k * STEP_SIZE;
        if (decode_step(p, k, &steps[k], blob, blob_size, seen, why, why_size) < 0) {
            free(steps);
            return -1;
        }
        seen[steps[k].op] = 1;
    }
    plan->count = count;
    plan->flags = flags;
    plan->steps = steps;
    return 0;
}

/* The NUL-separated strings of a vector argument as a NULL-terminated array (decode_plan
 * checked that `blob` holds `count` of them: a failure here is a bug, the fuzzer's to find). */
char **split_vector(struct str blob, int64_t count)
{
    if (count < 0 || (uint64_t)count > blob.len)
        fail_detail(EINVAL, "plan: vector shorter than its count");
    char **vector = calloc((size_t)count + 1, sizeof(char *));
    if (!vector)
        fail(ENOMEM);
    const char *p = blob.p, *end = blob.p + blob.len;
    for (int64_t k = 0; k < count; k++) {
        if (p >= end)
            fail_detail(EINVAL, "plan: vector shorter than its count");
        vector[k] = (char *)p;
        p += strnlen(p, (size_t)(end - p)) + 1;
    }
    return vector;
}
