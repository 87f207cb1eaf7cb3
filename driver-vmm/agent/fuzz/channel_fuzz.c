/*
 * libFuzzer target: the guest agent's host channel (channel.c): ttrpc frames read from the virtio-serial port,
 * split into requests, answered with responses. The host (and so this input) is untrusted in the VM model.
 *
 * channel.c is compiled into this file with read(2) and write(2) on the port replaced by an in-memory port, so
 * its static state (the port, the input buffer) is reachable without changing it. dispatch() (agent.c) is a
 * stub that parses the request payload as the real handlers do and answers OK or an error. The input is cut into
 * reads at points the input chooses: byte 0 is the seed of the cuts, the rest is the stream of the port.
 *
 * What must hold, besides what ASan and UBSan check:
 *   - every request frame (type 1) that arrives whole is answered exactly once, on its stream, in order, with a
 *     well-formed response frame (type 2, length = payload, a ttrpc Response); other frame types get no answer;
 *   - the service and method names handed on are NUL-terminated and bounded; the payload lies inside the frame;
 *   - the input buffer never holds more than one frame of at most 4 MiB plus one read, and a frame over 4 MiB
 *     drops the buffered input instead of being buffered.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* ---- the in-memory port ---- */
static const uint8_t *port_in;
static size_t port_in_len;
static uint8_t *port_out;
static size_t port_out_len, port_out_cap;

static ssize_t fuzz_read(int fd, void *buf, size_t n) {
    (void)fd;
    if (!port_in_len) {
        errno = EAGAIN;
        return -1;
    }
    if (n > port_in_len) n = port_in_len;
    memcpy(buf, port_in, n);
    port_in += n;
    port_in_len -= n;
    return (ssize_t)n;
}

static ssize_t fuzz_write(int fd, const void *buf, size_t n) {
    (void)fd;
    if (port_out_len + n > port_out_cap) {
        while (port_out_len + n > port_out_cap) port_out_cap = port_out_cap ? 2 * port_out_cap : 4096;
        port_out = realloc(port_out, port_out_cap);
        assert(port_out);
    }
    memcpy(port_out + port_out_len, buf, n);
    port_out_len += n;
    return (ssize_t)n;
}

#define read fuzz_read
#define write fuzz_write
#include "../channel.c"
#undef read
#undef write

/* ---- the rest of the agent, stubbed ---- */
void logmsg(const char *fmt, ...) { (void)fmt; }
void procs_forget_parked(void) {}

static uint32_t dispatched;

void dispatch(uint32_t stream, const char *method, const uint8_t *payload, size_t len)
{
    assert(strlen(method) < 64);
    assert(payload != NULL);
    dispatched++;
    /* As the handlers do: read the request's fields, answer INVALID_ARGUMENT on a malformed one. */
    pb_reader r = { payload, payload + len };
    pb_field f;
    int rc;
    char id[ID_MAX + 1];
    while ((rc = pb_next(&r, &f)) == 1)
        if (f.wire == 2)
            pb_copy_str(&f, id, sizeof(id));
    if (rc < 0) {
        reply_err(stream, ST_INVALID, "malformed %s request", method);
        return;
    }
    if (strcmp(method, "Ping") == 0) {
        pb_buf b = {0};
        pb_put_str(&b, 1, AGENT_VERSION);
        reply_ok(stream, &b);
        pb_free(&b);
    } else {
        reply_err(stream, ST_UNIMPLEMENTED, "%s", method);
    }
}

/* ---- the oracle: a reference splitter of the same stream ---- */

static uint32_t be32(const uint8_t *h) {
    return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

/* The streams of the requests the reference finds whole, in order, with the bytes read so far. */
static uint32_t *want;
static size_t want_len, want_cap;

static void want_add(uint32_t stream) {
    if (want_len == want_cap) {
        want_cap = want_cap ? 2 * want_cap : 64;
        want = realloc(want, want_cap * sizeof *want);
        assert(want);
    }
    want[want_len++] = stream;
}

/*
 * What channel.c must do with `buffered` bytes after a read: frames split as they come, a frame over 4 MiB drops
 * everything buffered. Returns the bytes left buffered. (Chunks are each fed through chan_on_readable, so the
 * reference runs the same per-read logic: this is the documented protocol, not a copy of the code's loop.)
 */
static size_t ref_split(const uint8_t *buf, size_t len) {
    size_t off = 0;
    while (len - off >= 10) {
        uint32_t flen = be32(buf + off);
        if (flen > FRAME_MAX)
            return 0;
        if (len - off - 10 < flen)
            break;
        if (buf[off + 8] == T_REQUEST)
            want_add(be32(buf + off + 4));
        off += 10 + flen;
    }
    return len - off;
}

static void check_responses(void) {
    size_t off = 0, k = 0;
    while (off < port_out_len) {
        assert(port_out_len - off >= 10);
        const uint8_t *h = port_out + off;
        uint32_t len = be32(h);
        assert(h[8] == T_RESPONSE && h[9] == 0);
        assert(port_out_len - off - 10 >= len);
        if (k >= want_len) {
            fprintf(stderr, "an answer on stream %u to no request\n", be32(h + 4));
            abort();
        }
        assert(be32(h + 4) == want[k]);
        /* A ttrpc Response: status (1, message) and/or payload (2, bytes), nothing malformed. */
        pb_reader r = { h + 10, h + 10 + len };
        pb_field f;
        int rc;
        while ((rc = pb_next(&r, &f)) == 1)
            assert((f.num == 1 || f.num == 2) && f.wire == 2);
        assert(rc == 0);
        off += 10 + len;
        k++;
    }
    if (k != want_len) {
        fprintf(stderr, "%zu requests, %zu answers\n", want_len, k);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t seed = data[0] * 2654435761u + 1;
    data++;
    size--;
    port = 3; /* any descriptor: read and write are the in-memory port's */
    inlen = 0;
    port_out_len = 0;
    want_len = 0;
    dispatched = 0;

    /* The reference sees the same reads: a shadow of the buffer. */
    uint8_t *shadow = malloc(size + 1);
    size_t shadow_len = 0;
    size_t pos = 0;
    while (pos < size) {
        seed = seed * 1103515245u + 12345u;
        size_t n = 1 + (seed >> 16) % 64;
        if ((seed >> 8) % 4 == 0) n = size - pos; /* sometimes all of the rest at once */
        if (n > size - pos) n = size - pos;
        port_in = data + pos;
        port_in_len = n;
        memcpy(shadow + shadow_len, data + pos, n);
        shadow_len += n;
        pos += n;
        chan_on_readable();
        assert(port_in_len == 0);
        size_t left = ref_split(shadow, shadow_len);
        memmove(shadow, shadow + shadow_len - left, left);
        shadow_len = left;
        if (inlen != shadow_len || (inlen && memcmp(inbuf, shadow, inlen) != 0)) {
            fprintf(stderr, "the agent buffered %zu bytes, the protocol leaves %zu\n", inlen, shadow_len);
            abort();
        }
        assert(inlen < 10 + FRAME_MAX);
    }
    check_responses();
    free(shadow);
    chan_on_hangup();
    assert(inlen == 0);
    return 0;
}
