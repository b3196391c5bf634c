/* sysmem.c: /proc/meminfo and cgroup v2 limits. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "mem/sysmem.h"

#define MARGIN ((size_t)64 << 20) /* leave this much to everyone else */

static int read_u64(const char *path, unsigned long long *v)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    int ok = fscanf(f, "%llu", v) == 1;
    fclose(f);
    return ok ? 0 : -1; /* "max" does not parse: no limit */
}

static size_t cgroup_left(void)
{
    char line[512], path[700];
    size_t left = (size_t)-1;
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return left;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "0::", 3) != 0)
            continue;
        line[strcspn(line, "\n")] = 0;
        unsigned long long max, cur;
        snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3);
        if (read_u64(path, &max) == 0) {
            snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.current",
                     line + 3);
            if (read_u64(path, &cur) == 0)
                left = max > cur ? (size_t)(max - cur) : 0;
        }
    }
    fclose(f);
    return left;
}

size_t mc__sysmem_available(void)
{
    size_t avail = (size_t)-1;
    char line[256];
    FILE *f = fopen("/proc/meminfo", "re");
    if (f) {
        unsigned long long kb;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                avail = (size_t)kb * 1024;
                break;
            }
        fclose(f);
    }
    size_t cg = cgroup_left();
    if (cg < avail)
        avail = cg;
    return avail > MARGIN ? avail - MARGIN : 0;
}
