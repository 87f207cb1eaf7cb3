/*
 * The pod's listening TCP ports, for port-forward. The host mirrors each one as a QEMU user-mode forward from
 * loopback in the pod's network namespace to the forward NIC's address, so only sockets bound to a wildcard address
 * count: one bound to loopback or to another address would not take a connection arriving on that NIC. Read from
 * /proc/net/tcp and tcp6 (the guest's network namespace is the pod's), only while the host waits on WatchPorts.
 */
#include "agent.h"
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PORTS_MAX 128           /* more than a pod serves; the host caps what it forwards anyway */
#define SCAN_INTERVAL_MS 300    /* the mirror's delay: how late a new server is seen */
#define TCP_LISTEN 0x0A

static unsigned current[PORTS_MAX];
static int ncurrent;
static uint64_t version = 1;
static uint32_t watcher, watcher_gen;   /* a parked WatchPorts, 0 if none */
static uint64_t watcher_known;
static uint64_t last_scan_ms;

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
    if (n == ncurrent && !memcmp(found, current, (size_t)n * sizeof(*found)))
        return;
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

int ports_poll_timeout(void)
{
    if (!parked())
        return -1;
    uint64_t since = uptime_ms() - last_scan_ms;
    return since >= SCAN_INTERVAL_MS ? 0 : (int)(SCAN_INTERVAL_MS - since);
}

void ports_tick(void)
{
    if (!parked() || uptime_ms() - last_scan_ms < SCAN_INTERVAL_MS)
        return;
    scan();
    if (version != watcher_known) {
        answer(watcher);
        watcher = 0;
    }
}
