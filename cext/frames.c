/* Frames of the sync socket, as oci_runtime/executor/wire.py defines them: a type byte, a u32
 * payload length, the payload.  The fields of each type come from format.h (frame_fields): 'u'
 * a u32; 'b' bytes, after a u32 length unless it is the last field (then it is the rest).  Pure
 * functions: sync.c does the I/O, the fuzzer (cext/fuzz/) feeds frame_parse arbitrary bytes. */
#include "executor.h"

#include <string.h>

static void put_u32(char *out, uint32_t value) { memcpy(out, &value, sizeof(value)); }

/* The whole frame's size (header and payload), for frame_pack's buffer. */
size_t frame_size(char type, const struct field *fields)
{
    const char *layout = frame_fields(type);
    size_t size = FRAME_HEADER_SIZE;
    for (size_t n = 0; layout && layout[n]; n++) {
        if (layout[n] == 'u' || layout[n + 1])
            size += 4;
        if (layout[n] == 'b')
            size += fields[n].len;
    }
    return size;
}

void frame_pack(char type, const struct field *fields, char *out)
{
    const char *layout = frame_fields(type);
    uint32_t payload = (uint32_t)(frame_size(type, fields) - FRAME_HEADER_SIZE);
    out[0] = type;
    put_u32(out + 1, payload);
    char *at = out + FRAME_HEADER_SIZE;
    for (size_t n = 0; layout && layout[n]; n++) {
        if (layout[n] == 'u') {
            put_u32(at, fields[n].number);
            at += 4;
            continue;
        }
        if (layout[n + 1]) {
            put_u32(at, fields[n].len);
            at += 4;
        }
        if (fields[n].len)
            memcpy(at, fields[n].p, fields[n].len);
        at += fields[n].len;
    }
}

/* The fields of a payload of `type`; -1 when it does not hold them exactly (or the type is
 * unknown).  Bytes fields point into `payload`. */
int frame_parse(char type, const char *payload, size_t len, struct field *fields)
{
    const char *layout = frame_fields(type);
    if (!layout)
        return -1;
    size_t at = 0;
    for (size_t n = 0; layout[n]; n++) {
        if (n >= FRAME_MAX_FIELDS)
            return -1;
        fields[n].p = NULL;
        fields[n].len = 0;
        fields[n].number = 0;
        if (layout[n] == 'b' && !layout[n + 1]) {
            if (len - at > UINT32_MAX)
                return -1;
            fields[n].p = payload + at;
            fields[n].len = (uint32_t)(len - at);
            at = len;
            continue;
        }
        if (len - at < 4)
            return -1;
        uint32_t number;
        memcpy(&number, payload + at, sizeof(number));
        at += 4;
        if (layout[n] == 'u') {
            fields[n].number = number;
            continue;
        }
        if (number > len - at)
            return -1;
        fields[n].p = payload + at;
        fields[n].len = number;
        at += number;
    }
    return at == len ? 0 : -1;
}
