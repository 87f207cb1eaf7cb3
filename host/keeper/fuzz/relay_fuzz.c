/*
 * libFuzzer target: the keeper's frame relay (relay.c), fed hostile bytes from both sides.
 *
 * relay.c is compiled into this file (#include), so its static functions are reachable without changing it; the
 * supervisor's glue (klog, now_ms, ev_ctl, defer_free, from kuasar-keeper.c) is stubbed below. One input is a
 * script: each step is one op byte, then its operands:
 *
 *   op % 4 == 0  containerd sends N bytes (N = next byte + 1) that follow in the input
 *   op % 4 == 1  the backend sends N bytes
 *   op % 4 == 2  the backend goes away (as when the JVM dies)
 *   op % 4 == 3  the backend comes back: a real connect(2) to a listening socket, which replays the kept requests
 *
 * What must hold, besides what ASan and UBSan check:
 *   - the backend only ever receives whole, well-formed frames, starting at a frame boundary on each connection
 *     (a replay never starts in the middle of a frame), and only frames containerd sent, byte for byte;
 *   - containerd only ever receives whole, well-formed frames;
 *   - the pair is closed exactly when a side sends a frame header of an unknown type, or the backend dies in the
 *     middle of an oversized response (the only way to keep containerd's stream aligned), and never otherwise;
 *   - the kept-request list is consistent with its counters and below its limit, and input queues stay below
 *     one frame plus a read.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "../relay.c"

/* ---- the supervisor's glue, stubbed ---- */

static int quiet = 1;
static int64_t fake_now;
static void **graves;
static size_t graves_len, graves_cap;

void klog(const char *fmt, ...) {
    if (quiet) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int64_t now_ms(void) { return fake_now; }

void stats_replayed(size_t requests) { (void)requests; } /* the keeper's stats file: not the relay's concern here */

void ev_ctl(int op, struct ev *e, uint32_t events) {
    (void)op;
    (void)events;
    assert(e->fd >= 0); /* never (re)registers a closed descriptor */
}

void defer_free(void *p) {
    if (graves_len == graves_cap) {
        graves_cap = graves_cap ? 2 * graves_cap : 16;
        graves = realloc(graves, graves_cap * sizeof *graves);
        assert(graves);
    }
    graves[graves_len++] = p;
}

static void bury(void) {
    for (size_t i = 0; i < graves_len; i++) free(graves[i]);
    graves_len = 0;
}

/* ---- a checker of one byte stream as its receiver sees it: ttrpc frames back to back ---- */

struct checker {
    unsigned char head[HEADER_LEN];
    size_t head_have;     /* header bytes seen of the current frame */
    uint64_t body_left;   /* payload bytes still to come */
    unsigned char *body;  /* the payload of a frame up to MAX_PAYLOAD, to compare requests */
    size_t body_have, body_len;
    int want_requests;    /* check every request frame against what containerd sent */
};

/* The request frames containerd sent (whole frames, header included), any order: a small multiset. */
struct sent {
    unsigned char *frame;
    size_t len;
};
static struct sent *sent_reqs;
static size_t sent_len, sent_cap;

static int sent_contains(const unsigned char *frame, size_t len) {
    for (size_t i = 0; i < sent_len; i++)
        if (sent_reqs[i].len == len && memcmp(sent_reqs[i].frame, frame, len) == 0) return 1;
    return 0;
}

static void sent_add(const unsigned char *frame, size_t len) {
    if (sent_contains(frame, len)) return;
    if (sent_len == sent_cap) {
        sent_cap = sent_cap ? 2 * sent_cap : 16;
        sent_reqs = realloc(sent_reqs, sent_cap * sizeof *sent_reqs);
        assert(sent_reqs);
    }
    sent_reqs[sent_len].frame = malloc(len);
    assert(sent_reqs[sent_len].frame);
    memcpy(sent_reqs[sent_len].frame, frame, len);
    sent_reqs[sent_len++].len = len;
}

static void sent_clear(void) {
    for (size_t i = 0; i < sent_len; i++) free(sent_reqs[i].frame);
    sent_len = 0;
}

static void checker_reset(struct checker *c) {
    free(c->body);
    int want = c->want_requests;
    memset(c, 0, sizeof *c);
    c->want_requests = want;
}

static void checker_frame_done(struct checker *c) {
    if (c->want_requests && c->head[8] == T_REQUEST && c->body_len <= MAX_PAYLOAD) {
        size_t len = HEADER_LEN + c->body_len;
        unsigned char *frame = malloc(len ? len : 1);
        assert(frame);
        memcpy(frame, c->head, HEADER_LEN);
        if (c->body_len) memcpy(frame + HEADER_LEN, c->body, c->body_len);
        if (!sent_contains(frame, len)) {
            fprintf(stderr, "backend received a request frame containerd never sent (%zu bytes)\n", len);
            abort();
        }
        free(frame);
    }
    free(c->body);
    c->body = NULL;
    c->head_have = 0;
    c->body_have = c->body_len = 0;
}

/* Feeds what the receiver got; aborts on a frame the receiver could not parse. */
static void checker_feed(struct checker *c, const unsigned char *p, size_t n) {
    while (n) {
        if (c->head_have < HEADER_LEN) {
            size_t k = HEADER_LEN - c->head_have < n ? HEADER_LEN - c->head_have : n;
            memcpy(c->head + c->head_have, p, k);
            c->head_have += k;
            p += k;
            n -= k;
            if (c->head_have < HEADER_LEN) return;
            unsigned type = c->head[8];
            if (type < T_REQUEST || type > T_DATA) {
                fprintf(stderr, "receiver got a misaligned or garbage frame header (type %u)\n", type);
                abort();
            }
            c->body_left = be32(c->head);
            c->body_len = (size_t)c->body_left;
            if (c->body_len <= MAX_PAYLOAD && c->body_len) {
                c->body = malloc(c->body_len);
                assert(c->body);
            }
            if (!c->body_left) checker_frame_done(c);
            continue;
        }
        size_t k = c->body_left < n ? (size_t)c->body_left : n;
        if (c->body) memcpy(c->body + c->body_have, p, k);
        c->body_have += k;
        c->body_left -= k;
        p += k;
        n -= k;
        if (!c->body_left) checker_frame_done(c);
    }
}

/* ---- a reference parser of what a side sends: tells when it sends a garbage header ---- */

struct refparse {
    unsigned char head[HEADER_LEN];
    size_t head_have;
    uint64_t body_left;
    unsigned char *frame; /* whole frame, for requests up to MAX_PAYLOAD */
    size_t frame_have, frame_len;
    int garbage;
    int collect;          /* record request frames in sent_reqs */
};

static void ref_reset(struct refparse *r) {
    free(r->frame);
    int collect = r->collect;
    memset(r, 0, sizeof *r);
    r->collect = collect;
}

static void ref_feed(struct refparse *r, const unsigned char *p, size_t n) {
    while (n && !r->garbage) {
        if (r->head_have < HEADER_LEN) {
            size_t k = HEADER_LEN - r->head_have < n ? HEADER_LEN - r->head_have : n;
            memcpy(r->head + r->head_have, p, k);
            r->head_have += k;
            p += k;
            n -= k;
            if (r->head_have < HEADER_LEN) return;
            if (r->head[8] < T_REQUEST || r->head[8] > T_DATA) {
                r->garbage = 1;
                return;
            }
            r->body_left = be32(r->head);
            if (r->collect && r->head[8] == T_REQUEST && r->body_left <= MAX_PAYLOAD) {
                r->frame_len = HEADER_LEN + (size_t)r->body_left;
                r->frame = malloc(r->frame_len);
                assert(r->frame);
                memcpy(r->frame, r->head, HEADER_LEN);
                r->frame_have = HEADER_LEN;
            }
        } else {
            size_t k = r->body_left < n ? (size_t)r->body_left : n;
            if (r->frame) memcpy(r->frame + r->frame_have, p, k);
            r->frame_have += k;
            r->body_left -= k;
            p += k;
            n -= k;
        }
        if (r->head_have == HEADER_LEN && !r->body_left) {
            if (r->frame) sent_add(r->frame, r->frame_len);
            free(r->frame);
            r->frame = NULL;
            r->head_have = 0;
        }
    }
}

/* ---- the world: one listener, one backend socket, one pair ---- */

static char backend_path[108];
static int backend_listen_fd = -1, devnull = -1;
static struct listener lst;

static void setup_once(void) {
    if (backend_listen_fd >= 0) return;
    quiet = getenv("RELAY_FUZZ_VERBOSE") == NULL;
    devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    assert(devnull >= 0);
    snprintf(backend_path, sizeof backend_path, "/tmp/kuasar-relay-fuzz-%d.sock", (int)getpid());
    char err[256];
    backend_listen_fd = listen_unix(backend_path, err, sizeof err);
    if (backend_listen_fd < 0) {
        fprintf(stderr, "relay_fuzz: %s\n", err);
        abort();
    }
    lst.public_path = "fuzz-public";
    lst.backend_path = backend_path;
    lst.ev = (struct ev){EV_PUBLIC, devnull, &lst};
}

/* Accepts and closes what backend_connect opened, so the listen backlog never fills. */
static void drain_backlog(void) {
    int fd;
    while ((fd = accept4(backend_listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) close(fd);
}

static void check_kept(const struct pair *p) {
    size_t bytes = 0, count = 0;
    const struct kept *last = NULL;
    for (const struct kept *k = p->kept; k; k = k->next) {
        assert(k->len >= HEADER_LEN && k->len <= HEADER_LEN + MAX_PAYLOAD);
        assert(((const unsigned char *)k->frame)[8] == T_REQUEST);
        assert(be32((const unsigned char *)k->frame + 4) == k->stream);
        bytes += k->len;
        count++;
        last = k;
    }
    assert(bytes == p->kept_bytes && count == p->kept_count && last == p->kept_tail);
    assert(p->kept_bytes <= MAX_KEPT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    setup_once();
    struct pair *p = calloc(1, sizeof *p);
    assert(p);
    *p = (struct pair){.front = {EV_FRONT, dup(devnull), p}, .back = {EV_BACK, -1, p}, .lst = &lst, .id = 1,
                       .front_mask = EPOLLIN};
    lst.pairs = p;
    struct checker to_backend = {.want_requests = 1}, to_containerd = {0};
    struct refparse from_containerd = {.collect = 1}, from_backend = {0};
    int killed = 0, expect_kill = 0;
    /* Connected from the start, as accept_connections leaves a pair whose backend listens (a real connect(2) per
     * input would be most of the cost; reconnections below use backend_connect itself). */
    p->back.fd = dup(devnull);
    p->back_mask = EPOLLIN;
    p->was_up = 1;

    size_t i = 0;
    while (i < size && !killed) {
        uint8_t op = data[i++];
        fake_now += 1 + op % 7;
        switch (op % 4) {
        case 0:
        case 1: {
            int up = op % 4 == 0;
            if (!up && p->back.fd < 0) break; /* nobody to send it */
            size_t n = i < size ? (size_t)data[i++] + 1 : 0;
            if (n > size - i) n = size - i;
            if (!n) break;
            struct refparse *r = up ? &from_containerd : &from_backend;
            ref_feed(r, data + i, n);
            /* as pair_event does after buf_read */
            struct dir *d = up ? &p->up : &p->down;
            assert(buf_append(&d->in, data + i, n) == 0);
            i += n;
            if (relay_frames(p, d, up) < 0) killed = 1;
            if (r->garbage) expect_kill = 1;
            break;
        }
        case 2:
            if (p->back.fd < 0) break;
            if (p->down.stream_left) expect_kill = 1; /* mid oversized response: containerd's stream is lost */
            backend_lost(p, "fuzz");
            if (p->front.fd < 0) killed = 1;
            ref_reset(&from_backend);
            break;
        case 3:
            if (p->back.fd >= 0) break;
            checker_reset(&to_backend); /* a new connection: the backend's reader starts afresh */
            assert(backend_connect(p) == 0);
            drain_backlog();
            break;
        }
        if (killed) break;
        if (expect_kill) {
            fprintf(stderr, "a garbage header (or loss mid oversized response) did not close the pair\n");
            abort();
        }
        /* What was queued goes out, as pair_flush would send it. */
        if (p->back.fd >= 0) {
            if (buf_pending(&p->to_back))
                checker_feed(&to_backend, (unsigned char *)p->to_back.data + p->to_back.off, buf_pending(&p->to_back));
            buf_free(&p->to_back);
        } else {
            assert(buf_pending(&p->to_back) == 0); /* nothing queued for a backend that is gone */
        }
        if (buf_pending(&p->to_front))
            checker_feed(&to_containerd, (unsigned char *)p->to_front.data + p->to_front.off, buf_pending(&p->to_front));
        buf_free(&p->to_front);
        pair_update_events(p);
        check_kept(p);
        /* Input queues hold at most one incomplete frame (an oversized one streams through). */
        assert(buf_pending(&p->up.in) < HEADER_LEN + MAX_PAYLOAD);
        assert(buf_pending(&p->down.in) < HEADER_LEN + MAX_PAYLOAD);
        if (p->up.stream_left) assert(buf_pending(&p->up.in) == 0);
        if (p->down.stream_left) assert(buf_pending(&p->down.in) == 0);
    }
    if (killed && !expect_kill) {
        fprintf(stderr, "the pair was closed without a garbage header\n");
        abort();
    }
    if (!killed) pair_kill(p, "end of input");
    assert(lst.pairs == NULL);
    bury();
    checker_reset(&to_backend);
    checker_reset(&to_containerd);
    ref_reset(&from_containerd);
    ref_reset(&from_backend);
    sent_clear();
    return 0;
}
