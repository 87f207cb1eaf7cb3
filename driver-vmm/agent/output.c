/* Container output: pipes read into per-stream buffers, handed to the host by ReadOutput long polls. */
#include "procs.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * Output is kept until the host acknowledges it: each ReadOutput carries the offset up to which the host has what
 * it was sent, and the answer carries the offset of its first byte. An answer lost with a dying host connection
 * (the host JVM killed while the reply was on its way) is sent again to the next host, which starts from offset 0:
 * at a restart a chunk may be delivered twice, never lost.
 */
static void ack(struct output *o, uint64_t offset)
{
    if (offset <= o->base)
        return;
    size_t drop = offset - o->base < o->len ? (size_t)(offset - o->base) : o->len;
    memmove(o->data, o->data + drop, o->len - drop);
    o->len -= drop;
    o->base += drop;
}

/* Answers the parked reader of o with the unacknowledged output, if any, or EOF. */
static void serve_output(struct output *o, int force)
{
    if (!o->reader || o->reader_gen != chan_generation() || (!o->len && o->fd >= 0 && !force))
        return;
    size_t n = o->len < OUT_CHUNK ? o->len : OUT_CHUNK;
    pb_buf b = {0};
    if (n)
        pb_put_bytes(&b, 1, o->data, n);
    pb_put_u64(&b, 2, o->fd < 0 && n == o->len);
    pb_put_u64(&b, 3, o->base);
    reply_ok(o->reader, &b);
    pb_free(&b);
    o->reader = 0;
}

void procs_read_output(uint32_t stream, pb_reader *r)
{
    struct ref ref;
    struct proc *p;
    if (parse_ref(stream, r, &ref) < 0 || !(p = lookup(stream, &ref)))
        return;
    if (ref.n3 != 1 && ref.n3 != 2) {
        reply_err(stream, ST_INVALID, "stream must be 1 (stdout) or 2 (stderr), not %llu", (unsigned long long)ref.n3);
        return;
    }
    struct output *o = &p->out[ref.n3 - 1];
    if (o->reader && o->reader_gen == chan_generation())
        serve_output(o, 1); /* one reader per stream: the older one gets what there is */
    ack(o, ref.n4);
    o->reader = stream;
    o->reader_gen = chan_generation();
    serve_output(o, !p->want_out[ref.n3 - 1]);
}

int procs_poll_fds(struct pollfd *fds, int max)
{
    int n = 0;
    for (int i = 0; i < MAX_PROCS && n < max; i++)
        for (int s = 0; s < 2 && n < max; s++)
            if (procs[i].used && procs[i].out[s].fd >= 0 && procs[i].out[s].len < OUT_MAX)
                fds[n++] = (struct pollfd){ .fd = procs[i].out[s].fd, .events = POLLIN };
    return n;
}

void procs_on_output(int fd, short revents)
{
    for (int i = 0; i < MAX_PROCS; i++)
        for (int s = 0; s < 2; s++) {
            struct output *o = &procs[i].out[s];
            if (!procs[i].used || o->fd != fd)
                continue;
            if (!o->data && !(o->data = malloc(OUT_MAX)))
                return;
            ssize_t n = read(fd, o->data + o->len, OUT_MAX - o->len);
            if (n > 0) {
                if (procs[i].want_out[s])
                    o->len += (size_t)n; /* else read only to keep the pipe from filling */
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(fd);
                o->fd = -1;
            }
            serve_output(o, 0);
            return;
        }
}

