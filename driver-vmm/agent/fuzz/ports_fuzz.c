/*
 * libFuzzer target: the guest agent's reading of /proc/net/tcp and tcp6 lines (ports.c), which decides which ports
 * the host opens forwards for. The lines come from the guest's kernel, but a pod controls what it binds.
 *
 * Known lines are checked once at start (a wrong answer aborts, so `bench/fuzz.sh --ci` fails): a wildcard LISTEN
 * counts on both files, a loopback or specific address, another state, the header and port 0 do not. Then for any
 * line: a line taken gives a port in 1..65535.
 */
#define _GNU_SOURCE
#include "../agent.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* what ports.c uses from the rest of the agent: nothing is answered while only lines are read */
uint64_t uptime_ms(void) { return 0; }
uint32_t chan_generation(void) { return 1; }
void reply_ok(uint32_t stream, const pb_buf *payload) { (void)stream; (void)payload; }

#include "../ports.c"

static void expect(const char *line, int taken, unsigned port)
{
    unsigned got = 0;
    int t = ports_listening_line(line, &got);
    if (t != taken || (taken && got != port)) {
        fprintf(stderr, "ports_listening_line(%s) = %d port %u, expected %d port %u\n", line, t, got, taken, port);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    expect("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n", 0, 0);
    expect("   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1 "
           "0000000000000000 100 0 0 10 0\n", 1, 8080);
    expect("   1: 0100007F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4243 1\n", 0, 0);
    expect("   2: 0F02000A:1F90 0202000A:C350 01 00000000:00000000 00:00000000 00000000     0        0 4244 1\n", 0, 0);
    expect("   3: 0F02000A:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4245 1\n", 0, 0);
    expect("   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 "
           "00:00000000 00000000     0        0 4246 1\n", 1, 80);
    expect("   1: 0000000000000000FFFF000000000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 "
           "00:00000000 00000000     0        0 4247 1\n", 1, 443);
    expect("   2: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 "
           "00:00000000 00000000     0        0 4248 1\n", 0, 0);
    expect("   4: 00000000:0000 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4249 1\n", 0, 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    unsigned port = 0;
    memcpy(line, data, size);
    line[size] = 0;
    if (ports_listening_line(line, &port) && (port == 0 || port > 65535))
        abort();
    free(line);
    return 0;
}
