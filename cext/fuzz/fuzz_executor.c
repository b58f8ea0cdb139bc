/* libFuzzer harness over what the executor reads before it acts: the plan decoder and validator
 * (cext/plan.c) and the sync socket's frame codec (cext/frames.c), built with AddressSanitizer
 * and UndefinedBehaviorSanitizer (tests/fuzz/test_executor_fuzz.py builds and runs it):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *         -I cext/generated -I cext cext/fuzz/fuzz_executor.c cext/plan.c cext/frames.c \
 *         cext/passwd.c
 *
 * An input starting with "F" is a frame: "F", its type byte, its payload.  One starting with "P"
 * is an image's /etc/passwd for HOME (cext/passwd.c): "P", a u32 uid, the file.  Any other
 * input is a plan; its format field is set to this build's first, so the seeds (cext/fuzz/corpus/, plans
 * the compiler made) stay useful when the op table changes and the mutations reach past that
 * check.  Beyond "no crash, no sanitizer report", each input is held to what the executor
 * relies on:
 *   - a plan the decoder accepts gives every vector argument exactly its count of strings
 *     inside the plan, u32 arrays of their count, BPF programs of whole instructions;
 *   - a refused plan says why, in the space it was given;
 *   - a frame the codec accepts packs again to the very bytes it came from;
 *   - a home directory found in a passwd file is a string inside it. */
#define FORMAT_TABLES /* op_layouts, as plan.c has it */
#include "executor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What plan.c calls of the executor: in a decoded plan these must never be reached. */
uint32_t current_step;
void fail_detail(int err, const char *detail)
{
    fprintf(stderr, "fail_detail(%d, %s) on a plan the decoder accepted\n", err,
            detail ? detail : "-");
    abort();
}
void fail(int err) { fail_detail(err, NULL); }

static void require(int condition, const char *what)
{
    if (!condition) {
        fprintf(stderr, "broken: %s\n", what);
        abort();
    }
}

static void check_frame(const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    char type = (char)data[1];
    const char *payload = (const char *)data + 2;
    size_t len = size - 2;
    struct field fields[FRAME_MAX_FIELDS];
    if (frame_parse(type, payload, len, fields) < 0)
        return;
    size_t packed_size = frame_size(type, fields);
    require(packed_size == FRAME_HEADER_SIZE + len, "a parsed frame packs to its own size");
    char *packed = malloc(packed_size);
    require(packed != NULL, "memory");
    frame_pack(type, fields, packed);
    uint32_t length;
    memcpy(&length, packed + 1, sizeof(length));
    require(packed[0] == type && length == len, "a packed frame's header");
    require(memcmp(packed + FRAME_HEADER_SIZE, payload, len) == 0,
            "a parsed frame packs to the bytes it came from");
    free(packed);
}

static void check_passwd(const uint8_t *data, size_t size)
{
    if (size < 5)
        return;
    uint32_t uid;
    memcpy(&uid, data + 1, sizeof(uid));
    char *text = malloc(size - 5 + 1);
    require(text != NULL, "memory");
    memcpy(text, data + 5, size - 5);
    text[size - 5] = 0;
    const char *home = home_in_passwd(text, (uid_t)uid);
    if (home)
        require(home >= text && home < text + size - 5 && *home && memchr(home, 0, size - 4),
                "a home directory inside the file");
    free(text);
}

static void check_vector(struct str s, int64_t count)
{
    char **vector = split_vector(s, count);
    for (int64_t k = 0; k < count; k++) {
        const char *item = vector[k];
        require(item >= s.p && item < s.p + s.len, "a vector item inside its string");
        require(memchr(item, 0, (size_t)(s.p + s.len - item)) != NULL, "a vector item ends");
    }
    require(vector[count] == NULL, "a vector ends with NULL");
    free(vector);
}

static void check_plan(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1);
    require(copy != NULL, "memory");
    memcpy(copy, data, size);
    if (size >= PLAN_FORMAT_AT + 4) {
        uint32_t format = PLAN_FORMAT;
        memcpy(copy + PLAN_FORMAT_AT, &format, sizeof(format));
    }
    struct plan plan;
    char why[512];
    memset(why, 0x7f, sizeof(why));
    if (decode_plan(copy, size, &plan, why, sizeof(why)) < 0) {
        require(memchr(why, 0, sizeof(why)) != NULL && why[0], "a refusal says why");
        /* Checking the seeds (tests/fuzz): each one is a plan the executor accepts. */
        if (getenv("OCI_FUZZ_SEEDS_DECODE")) {
            fprintf(stderr, "a seed is refused: %s\n", why);
            abort();
        }
        free(copy);
        return;
    }
    for (uint32_t k = 0; k < plan.count; k++) {
        const struct step *st = &plan.steps[k];
        require(st->op > 0 && st->op < OP_COUNT, "a known op");
        const struct op_layout *layout = &op_layouts[st->op];
        for (int n = 0; n < STEP_STRINGS; n++) {
            struct str s = st->s[n];
            require(s.p >= copy && s.p + s.len < copy + size && s.p[s.len] == 0,
                    "a string inside the plan, NUL-terminated");
            if (n == S_WHAT)
                continue;
            int64_t count = layout->strings[n].count >= 0 ? st->i[layout->strings[n].count] : 0;
            switch (layout->strings[n].kind) {
            case ARG_VECTOR_OPTIONAL:
                if (count == -1) {
                    require(s.len == 0, "no vector: empty");
                    break;
                }
                /* fall through */
            case ARG_VECTOR:
                check_vector(s, count);
                break;
            case ARG_U32S:
                require((uint64_t)s.len == (uint64_t)count * 4, "u32s of their count");
                break;
            case ARG_BPF:
                require(s.len % 8 == 0 && s.len / 8 >= 1 && s.len / 8 <= 4096, "whole BPF");
                break;
            case ARG_NONE:
                require(s.len == 0, "an unused string is empty");
                break;
            default:
                break;
            }
        }
        for (int n = 0; n < STEP_INTS; n++)
            require(st->i[n] >= layout->ints[n].lo && st->i[n] <= layout->ints[n].hi,
                    "an integer in its range");
    }
    free(plan.steps);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 1 && data[0] == 'F')
        check_frame(data, size);
    else if (size >= 1 && data[0] == 'P')
        check_passwd(data, size);
    else
        check_plan(data, size);
    return 0;
}
