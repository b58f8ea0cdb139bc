/* The image's /etc/passwd, read for HOME (process.c): text the image wrote, so parsed with no
 * trust in it (the fuzzer, cext/fuzz/, feeds it arbitrary bytes). */
#include "executor.h"

#include <string.h>

/* Whether `text` is the decimal number `uid`, digits only (no sign, no space, no suffix). */
static int is_number(const char *text, uid_t uid)
{
    if (!*text)
        return 0;
    uint64_t value = 0;
    for (const char *p = text; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        value = value * 10 + (uint64_t)(*p - '0');
        if (value > UINT32_MAX)
            return 0;
    }
    return value == uid;
}

/* The home directory of `uid` in the passwd file `text` (NUL-terminated, changed), or NULL. */
const char *home_in_passwd(char *text, uid_t uid)
{
    char *saved = NULL;
    for (char *line = strtok_r(text, "\n", &saved); line; line = strtok_r(NULL, "\n", &saved)) {
        char *fields[7] = {0};
        int count = 0;
        for (char *p = line; count < 7; count++) {
            fields[count] = p;
            char *colon = strchr(p, ':');
            if (!colon) {
                count++;
                break;
            }
            *colon = 0;
            p = colon + 1;
        }
        if (count >= 6 && is_number(fields[2], uid) && fields[5][0])
            return fields[5];
    }
    return NULL;
}
