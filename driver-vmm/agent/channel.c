/*
 * The host channel: a virtio-serial port QEMU backs with a Unix socket. ttrpc frames on it: a 10-byte header
 * (length u32 BE, stream u32 BE, type u8, flags u8) and a protobuf Request or Response. The port stays open across
 * host reconnects; a hangup drops any half-read frame and the calls parked for the old connection.
 */
#include "agent.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PORT_NAME "kuasar.agent"
#define FRAME_MAX (4u << 20)
#define T_REQUEST 1
#define T_RESPONSE 2

static int port = -1;
static uint32_t generation = 1;
static uint8_t *inbuf;
static size_t inlen, incap;

int chan_fd(void) { return port; }
uint32_t chan_generation(void) { return generation; }

/* /sys/class/virtio-ports/vportNpM/name holds the name QEMU gave the port; there is no udev for symlinks. */
int chan_open(void)
{
    DIR *d = opendir("/sys/class/virtio-ports");
    struct dirent *e;
    char path[300], name[64];
    if (!d)
        return -1;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/sys/class/virtio-ports/%s/name", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        int ok = fgets(name, sizeof(name), f) && strncmp(name, PORT_NAME, strlen(PORT_NAME)) == 0;
        fclose(f);
        if (ok) {
            snprintf(path, sizeof(path), "/dev/%s", e->d_name);
            port = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
            break;
        }
    }
    closedir(d);
    return port;
}

static void write_all(const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(port, p, n);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno == EAGAIN) {
            struct pollfd pfd = { .fd = port, .events = POLLOUT };
            if (poll(&pfd, 1, 1000) <= 0 || (pfd.revents & (POLLHUP | POLLERR)))
                return; /* host gone: the answer is lost with its connection */
        } else if (!(w < 0 && errno == EINTR)) {
            return;
        }
    }
}

static void send_frame(uint32_t stream, const pb_buf *msg)
{
    uint8_t h[10];
    uint32_t len = (uint32_t)msg->len;
    h[0] = len >> 24; h[1] = len >> 16; h[2] = len >> 8; h[3] = len;
    h[4] = stream >> 24; h[5] = stream >> 16; h[6] = stream >> 8; h[7] = stream;
    h[8] = T_RESPONSE;
    h[9] = 0;
    write_all(h, sizeof(h));
    write_all(msg->buf, msg->len);
}

void reply_ok(uint32_t stream, const pb_buf *payload)
{
    pb_buf resp = {0};
    /* Response{payload=2}; an absent status means OK. */
    pb_put_bytes(&resp, 2, payload ? payload->buf : NULL, payload ? payload->len : 0);
    send_frame(stream, &resp);
    pb_free(&resp);
}

void reply_err(uint32_t stream, int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pb_buf status = {0}, resp = {0};
    pb_put_u64(&status, 1, (uint64_t)code);
    pb_put_str(&status, 2, msg);
    pb_put_bytes(&resp, 1, status.buf, status.len);
    send_frame(stream, &resp);
    pb_free(&status);
    pb_free(&resp);
}

static void handle_request(uint32_t stream, const uint8_t *p, size_t n)
{
    pb_reader r = { p, p + n };
    pb_field f;
    char service[128] = "", method[64] = "";
    const uint8_t *payload = NULL;
    size_t plen = 0;
    int rc;
    while ((rc = pb_next(&r, &f)) == 1) {
        if (f.num == 1 && f.wire == 2)
            pb_copy_str(&f, service, sizeof(service));
        else if (f.num == 2 && f.wire == 2)
            pb_copy_str(&f, method, sizeof(method));
        else if (f.num == 3 && f.wire == 2) {
            payload = f.data;
            plen = f.len;
        }
    }
    if (rc < 0) {
        reply_err(stream, ST_INVALID, "malformed ttrpc request");
        return;
    }
    if (strcmp(service, "kuasar.agent.v1.Agent") != 0) {
        reply_err(stream, ST_UNIMPLEMENTED, "service %s is not served by the kuasar agent", service);
        return;
    }
    dispatch(stream, method, payload ? payload : (const uint8_t *)"", plen);
}

void chan_on_readable(void)
{
    for (;;) {
        if (incap - inlen < 65536) {
            incap = incap ? incap * 2 : 131072;
            inbuf = realloc(inbuf, incap);
            if (!inbuf)
                abort();
        }
        ssize_t got = read(port, inbuf + inlen, incap - inlen);
        if (got <= 0)
            break; /* EOF without a host: the poll loop notes the hangup */
        inlen += (size_t)got;
        size_t off = 0;
        while (inlen - off >= 10) {
            const uint8_t *h = inbuf + off;
            uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
            uint32_t stream = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
            if (len > FRAME_MAX) { /* not ttrpc: resynchronising is impossible, drop everything */
                logmsg("frame of %u bytes refused; dropping input", len);
                off = inlen;
                break;
            }
            if (inlen - off - 10 < len)
                break;
            if (h[8] == T_REQUEST)
                handle_request(stream, h + 10, len);
            off += 10 + len;
        }
        memmove(inbuf, inbuf + off, inlen - off);
        inlen -= off;
    }
}

void chan_discard(void)
{
    uint8_t scratch[4096];
    while (read(port, scratch, sizeof(scratch)) > 0)
        ;
    inlen = 0;
}

void chan_on_hangup(void)
{
    inlen = 0;
    generation++;
    procs_forget_parked();
}
