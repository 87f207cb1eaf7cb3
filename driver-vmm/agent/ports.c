/*
 * The pod's listening TCP ports, for port-forward. The host mirrors each one as a QEMU user-mode forward from
 * loopback in the pod's network namespace to the forward NIC's address, so only sockets bound to a wildcard address
 * count: one bound to loopback or to another address would not take a connection arriving on that NIC. Read from
 * /proc/net/tcp and tcp6 (the guest's network namespace is the pod's), only while the host waits on WatchPorts. No
 * event tells of a new listener, so the files are scanned: every 300 ms for 5 s after a container or exec starts
 * (when servers bind), then backing off to 2.4 s while nothing changes, since each scan costs a TCG guest about 3 ms.
 */
#include "agent.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PORTS_MAX 128           /* more than a pod serves; the host caps what it forwards anyway */
#define SCAN_MIN_MS 300         /* the mirror's delay for a server that binds as its container starts */
#define SCAN_MAX_MS 2400        /* ... and for one that binds later */
#define HURRY_MS 5000           /* how long after a start the scans stay SCAN_MIN_MS apart */
#define TCP_LISTEN 0x0A

static unsigned current[PORTS_MAX];
static int ncurrent;
static uint64_t version = 1;
static uint32_t watcher, watcher_gen;   /* a parked WatchPorts, 0 if none */
static uint64_t watcher_known;
static uint64_t last_scan_ms;
static uint64_t interval_ms = SCAN_MIN_MS;
static uint64_t hurry_until_ms;

int ports_listening_line(const char *line, unsigned *port)
{
    char addr[40];
    unsigned p, st;
    if (sscanf(line, " %*u: %39[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", addr, &p, &st) != 3)
        return 0; /* the header, or not a socket line */
    if (st != TCP_LISTEN || p == 0 || p > 65535)
        return 0;
    /* 0.0.0.0 and :: read as all zeros; ::ffff:0.0.0.0 (a v4-mapped wildcard) has the mapping's FFFF in it */
    if (strspn(addr, "0") != strlen(addr) && strcmp(addr, "0000000000000000FFFF000000000000") != 0)
        return 0;
    *port = p;
    return 1;
}

/* Adds the ports of one /proc file to set (ascending, each once); returns the new count. */
static int read_ports(const char *path, unsigned *set, int n)
{
    char line[512];
    unsigned port;
    FILE *f = fopen(path, "re");
    if (!f)
        return n; /* tcp6 is absent in a guest kernel without IPv6 */
    while (fgets(line, sizeof(line), f)) {
        if (!ports_listening_line(line, &port))
            continue;
        int i = 0;
        while (i < n && set[i] < port)
            i++;
        if ((i < n && set[i] == port) || n == PORTS_MAX)
            continue;
        memmove(set + i + 1, set + i, (size_t)(n - i) * sizeof(*set));
        set[i] = port;
        n++;
    }
    fclose(f);
    return n;
}

static void scan(void)
{
    unsigned found[PORTS_MAX];
    int n = read_ports("/proc/net/tcp", found, 0);
    n = read_ports("/proc/net/tcp6", found, n);
    last_scan_ms = uptime_ms();
    if (n == ncurrent && !memcmp(found, current, (size_t)n * sizeof(*found))) {
        if (interval_ms < SCAN_MAX_MS && last_scan_ms >= hurry_until_ms)
            interval_ms *= 2;
        return;
    }
    interval_ms = SCAN_MIN_MS;
    memcpy(current, found, (size_t)n * sizeof(*found));
    ncurrent = n;
    version++;
}

static void answer(uint32_t stream)
{
    pb_buf list = {0}, b = {0};
    for (int i = 0; i < ncurrent; i++)
        pb_put_varint(&list, current[i]);
    pb_put_u64(&b, 1, version);
    if (list.len)
        pb_put_bytes(&b, 2, list.buf, list.len); /* packed repeated uint64 */
    reply_ok(stream, &b);
    pb_free(&list);
    pb_free(&b);
}

static int parked(void)
{
    return watcher && watcher_gen == chan_generation();
}

void ports_watch(uint32_t stream, pb_reader *r)
{
    pb_field f;
    uint64_t known = 0;
    while (pb_next(r, &f) == 1)
        if (f.num == 1 && f.wire == 0)
            known = f.v;
    scan();
    if (parked())
        answer(watcher); /* one watcher at a time: the older one gets the set as it is */
    watcher = 0;
    if (known != version) {
        answer(stream);
        return;
    }
    watcher = stream;
    watcher_gen = chan_generation();
    watcher_known = known;
}

void ports_hurry(void)
{
    interval_ms = SCAN_MIN_MS;
    hurry_until_ms = uptime_ms() + HURRY_MS;
}

int ports_poll_timeout(void)
{
    if (!parked())
        return -1;
    uint64_t since = uptime_ms() - last_scan_ms;
    return since >= interval_ms ? 0 : (int)(interval_ms - since);
}

void ports_tick(void)
{
    if (!parked() || uptime_ms() - last_scan_ms < interval_ms)
        return;
    scan();
    if (version != watcher_known) {
        answer(watcher);
        watcher = 0;
    }
}
