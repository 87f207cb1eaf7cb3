/* Stats and Pids from the container's cgroup, /sys/fs/cgroup/kuasar/ID (the host sets cgroupsPath so). */
#include "agent.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int container_of(uint32_t stream, pb_reader *r, char *cid)
{
    pb_field f;
    *cid = 0;
    while (pb_next(r, &f) == 1)
        if (f.num == 1)
            pb_copy_str(&f, cid, ID_MAX);
    if (!procs_known(cid)) {
        reply_err(stream, ST_NOT_FOUND, "container %s not found", cid);
        return -1;
    }
    return 0;
}

static uint64_t read_u64(const char *cid, const char *file, const char *key)
{
    char path[200], line[256];
    uint64_t v = 0;
    snprintf(path, sizeof(path), "/sys/fs/cgroup/kuasar/%s/%s", cid, file);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        size_t k = key ? strlen(key) : 0;
        if (!key || (strncmp(line, key, k) == 0 && line[k] == ' ')) {
            v = strtoull(line + (key ? k + 1 : 0), NULL, 10); /* "max" reads as 0: no limit */
            break;
        }
    }
    fclose(f);
    return v;
}

int cgroup_oom_killed(const char *cid)
{
    return read_u64(cid, "memory.events", "oom_kill") > 0;
}

void cgroup_stats(uint32_t stream, pb_reader *r)
{
    char cid[ID_MAX];
    if (container_of(stream, r, cid) < 0)
        return;
    pb_buf b = {0};
    pb_put_u64(&b, 1, read_u64(cid, "cpu.stat", "usage_usec") * 1000);
    pb_put_u64(&b, 2, read_u64(cid, "memory.current", NULL));
    pb_put_u64(&b, 3, read_u64(cid, "memory.max", NULL));
    pb_put_u64(&b, 4, read_u64(cid, "pids.current", NULL));
    reply_ok(stream, &b);
    pb_free(&b);
}

void cgroup_pids(uint32_t stream, pb_reader *r)
{
    char cid[ID_MAX], path[200], line[32];
    if (container_of(stream, r, cid) < 0)
        return;
    snprintf(path, sizeof(path), "/sys/fs/cgroup/kuasar/%s/cgroup.procs", cid);
    pb_buf list = {0}, b = {0};
    FILE *f = fopen(path, "re");
    while (f && fgets(line, sizeof(line), f))
        pb_put_varint(&list, strtoull(line, NULL, 10));
    if (f)
        fclose(f);
    if (list.len)
        pb_put_bytes(&b, 1, list.buf, list.len); /* packed repeated uint64 */
    reply_ok(stream, &b);
    pb_free(&list);
    pb_free(&b);
}
