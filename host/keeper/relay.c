/*
 * The frame-aware relay. containerd 2.1 dials a task address once per container and never reconnects, so the
 * keeper holds containerd's connections (on public sockets) and relays them to the JVM's ttrpc server (the
 * backend). When the JVM dies the keeper keeps containerd's side open, keeps every request not yet answered,
 * reconnects once the restarted JVM listens again and resends those requests: containerd never notices.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "relay.h"

/*
 * Connections one public socket holds at once: containerd opens one per container of the sandbox. At the cap the
 * listener is not watched (new peers wait in the kernel's backlog) until one of them closes, so a peer looping
 * connections can neither grow the keeper nor make it open as many connections to the JVM. Accepts are taken a few
 * per wake-up, so a listener never keeps the single loop from the other sandboxes' traffic.
 */
#define MAX_PAIRS 128
#define ACCEPTS_PER_WAKE 16

struct listener *listeners;
static int pair_ids;
static int handing_over; /* containerd's side is no longer read: its connections go to the next keeper */

/* ---- pairs: one containerd connection and its backend connection ---- */

static void close_ev(struct ev *e) {
    if (e->fd >= 0) close(e->fd); /* which also takes it out of the epoll set */
    e->fd = -1;
}

static void drop_kept(struct pair *p) {
    for (struct kept *k = p->kept, *next; k; k = next) {
        next = k->next;
        free(k);
    }
    p->kept = p->kept_tail = NULL;
    p->kept_bytes = p->kept_count = 0;
}

/* Ends a pair; its struct is freed after the current batch of events, which may still name it. */
static void pair_kill(struct pair *p, const char *why) {
    klog("connection %d on %s closed: %s", p->id, p->lst->public_path, why);
    close_ev(&p->front);
    close_ev(&p->back);
    buf_free(&p->up.in);
    buf_free(&p->down.in);
    buf_free(&p->to_front);
    buf_free(&p->to_back);
    drop_kept(p);
    struct pair **pp = &p->lst->pairs;
    while (*pp != p) pp = &(*pp)->next;
    *pp = p->next;
    if (p->lst->npairs-- == MAX_PAIRS && p->lst->ev.fd >= 0 && !handing_over) ev_ctl(EPOLL_CTL_MOD, &p->lst->ev, EPOLLIN);
    defer_free(p);
}

/* The JVM died (or closed the connection): keep containerd's side and what it asked, retry the backend. */
static void backend_lost(struct pair *p, const char *why) {
    close_ev(&p->back);
    p->back_mask = 0;
    buf_free(&p->to_back); /* unanswered requests are all kept; the rest is for a backend that is gone */
    buf_free(&p->down.in);
    if (p->down.stream_left) {
        pair_kill(p, "backend lost in the middle of an oversized frame");
        return;
    }
    if (p->up.stream_left) p->up.dropping = 1;
    p->retry_at = now_ms() + RETRY_MS;
    klog("backend %s lost for connection %d on %s (%s); %zu requests unanswered, reconnecting",
         p->lst->backend_path, p->id, p->lst->public_path, why, p->kept_count);
}

/* Connects to the backend and queues every unanswered request again, in the order they first came. */
static int backend_connect(struct pair *p) {
    struct sockaddr_un sa;
    int fd = unix_addr(p->lst->backend_path, &sa) < 0 ? -1
             : socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    for (struct kept *k = p->kept; ok && k; k = k->next) ok = buf_append(&p->to_back, k->frame, k->len) == 0;
    if (!ok) {
        close(fd);
        buf_free(&p->to_back);
        return -1;
    }
    p->back.fd = fd;
    ev_ctl(EPOLL_CTL_ADD, &p->back, p->back_mask = EPOLLIN);
    if (p->was_up) {
        klog("backend %s restored for connection %d on %s; %zu requests replayed", p->lst->backend_path,
             p->id, p->lst->public_path, p->kept_count);
        stats_replayed(p->kept_count);
    }
    p->was_up = 1;
    return 0;
}

static uint32_t be32(const unsigned char *b) {
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Keeps a copy of a request until its response comes back. */
int relay_keep(struct pair *p, uint32_t stream, const void *frame, size_t len) {
    struct kept *k = p->kept_bytes + len > MAX_KEPT ? NULL : malloc(sizeof *k + len);
    if (!k) {
        pair_kill(p, "more than 16 MiB of unanswered requests, or out of memory");
        return -1;
    }
    k->next = NULL;
    k->stream = stream;
    k->len = len;
    memcpy(k->frame, frame, len);
    if (p->kept_tail) p->kept_tail->next = k;
    else p->kept = k;
    p->kept_tail = k;
    p->kept_bytes += len;
    p->kept_count++;
    return 0;
}

static void answered(struct pair *p, uint32_t stream) {
    for (struct kept *k = p->kept, *prev = NULL; k; prev = k, k = k->next) {
        if (k->stream != stream) continue;
        if (prev) prev->next = k->next;
        else p->kept = k->next;
        if (p->kept_tail == k) p->kept_tail = prev;
        p->kept_bytes -= k->len;
        p->kept_count--;
        free(k);
        return;
    }
}

/*
 * Moves the complete frames read on one side to the other side's output queue. Going up, requests are kept
 * for replay (and only kept while the backend is down); going down, a response releases its request.
 * Returns -1 when the pair was killed.
 */
static int relay_frames(struct pair *p, struct dir *d, int up) {
    struct buf *out = up ? &p->to_back : &p->to_front;
    int deliver = !up || p->back.fd >= 0;
    for (;;) {
        size_t avail = buf_pending(&d->in);
        if (avail == 0) return 0; /* also: an empty queue has no data pointer */
        const unsigned char *h = (const unsigned char *)d->in.data + d->in.off;
        if (d->stream_left) {
            size_t n = avail < d->stream_left ? avail : d->stream_left;
            if (n == 0) return 0;
            if (!d->dropping && buf_append(out, h, n) < 0) break;
            d->stream_left -= (uint32_t)n;
            if (!d->stream_left) d->dropping = 0;
            buf_consume(&d->in, n);
            continue;
        }
        if (avail < HEADER_LEN) return 0;
        uint32_t len = be32(h), stream = be32(h + 4), type = h[8];
        if (type < T_REQUEST || type > T_DATA) {
            pair_kill(p, up ? "garbage frame header from containerd" : "garbage frame header from the backend");
            return -1;
        }
        if (len > MAX_PAYLOAD) { /* passed through as it streams, never held: the JVM skips it and answers */
            d->dropping = !deliver;
            if (deliver && buf_append(out, h, HEADER_LEN) < 0) break;
            d->stream_left = len;
            buf_consume(&d->in, HEADER_LEN);
            continue;
        }
        if (avail < HEADER_LEN + len) return 0;
        if (up && type == T_REQUEST && relay_keep(p, stream, h, HEADER_LEN + len) < 0) return -1;
        if (!up && type == T_RESPONSE) answered(p, stream);
        /* Up while the backend is down, other frames are dropped: a restarted JVM would not know their stream. */
        if (deliver && buf_append(out, h, HEADER_LEN + len) < 0) break;
        buf_consume(&d->in, HEADER_LEN + len);
    }
    pair_kill(p, "out of memory");
    return -1;
}

/* A side is read only while the other side keeps up, which bounds the output queues. */
static void pair_update_events(struct pair *p) {
    uint32_t front = buf_pending(&p->to_front) ? EPOLLOUT : 0, back = 0;
    if (!handing_over && (p->back.fd < 0 || buf_pending(&p->to_back) < HIGH_WATER)) front |= EPOLLIN;
    if (front != p->front_mask) ev_ctl(EPOLL_CTL_MOD, &p->front, p->front_mask = front);
    if (p->back.fd < 0) return;
    if (buf_pending(&p->to_front) < HIGH_WATER) back |= EPOLLIN;
    if (buf_pending(&p->to_back)) back |= EPOLLOUT;
    if (back != p->back_mask) ev_ctl(EPOLL_CTL_MOD, &p->back, p->back_mask = back);
}

/* Sends what is queued at once, rather than after another epoll round; then re-arms the events. */
void relay_flush(struct pair *p) {
    if (p->back.fd >= 0 && buf_flush(&p->to_back, p->back.fd) < 0) backend_lost(p, "write failed");
    if (p->front.fd < 0) return; /* killed */
    if (buf_flush(&p->to_front, p->front.fd) < 0) pair_kill(p, "write to containerd failed");
    else pair_update_events(p);
}

static void pair_event(struct pair *p, int up, uint32_t events) {
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        struct dir *d = up ? &p->up : &p->down;
        long n = buf_read(&d->in, up ? p->front.fd : p->back.fd);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            if (up) pair_kill(p, n == 0 ? "closed by containerd" : "read from containerd failed");
            else backend_lost(p, n == 0 ? "closed" : "read failed");
        } else if (n > 0 && relay_frames(p, d, up) < 0) {
            return;
        }
    }
    if (p->front.fd >= 0) relay_flush(p);
}

/* Takes containerd's connection fd (accepted, or handed over by a previous keeper) and dials the backend for it. */
struct pair *relay_add_pair(struct listener *l, int fd) {
    struct pair *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    *p = (struct pair){.front = {EV_FRONT, fd, p}, .back = {EV_BACK, -1, p}, .lst = l, .next = l->pairs,
                       .id = ++pair_ids, .front_mask = EPOLLIN};
    l->pairs = p;
    l->npairs++;
    ev_ctl(EPOLL_CTL_ADD, &p->front, EPOLLIN);
    if (backend_connect(p) < 0) {
        p->retry_at = now_ms() + RETRY_MS;
        klog("connection %d on %s: backend %s not there yet, retrying", p->id, l->public_path, l->backend_path);
    }
    return p;
}

static void accept_connections(struct listener *l) {
    int fd = 0;
    for (int taken = 0; taken < ACCEPTS_PER_WAKE; taken++) {
        if (l->npairs >= MAX_PAIRS) {
            klog("%s holds %d connections: not accepting more until one closes", l->public_path, MAX_PAIRS);
            ev_ctl(EPOLL_CTL_MOD, &l->ev, 0);
            return;
        }
        if ((fd = accept4(l->ev.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) break;
        if (!relay_add_pair(l, fd)) {
            klog("out of memory: refusing a connection on %s", l->public_path);
            close(fd);
            continue;
        }
    }
    if (fd < 0 && errno != EAGAIN && errno != EINTR) klog("accept on %s: %s", l->public_path, strerror(errno));
}

void relay_event(struct ev *e, uint32_t events) {
    if (e->fd < 0) return; /* closed earlier in this batch */
    if (e->kind == EV_PUBLIC) accept_connections(e->obj);
    else pair_event(e->obj, e->kind == EV_FRONT, events);
}

int relay_tick(int64_t now) {
    int64_t next = -1;
    for (struct listener *l = listeners; l; l = l->next) {
        for (struct pair *p = l->pairs, *nx; p; p = nx) {
            nx = p->next;
            if (p->back.fd >= 0) continue;
            if (now >= p->retry_at) {
                if (backend_connect(p) == 0) {
                    relay_flush(p);
                    continue;
                }
                p->retry_at = now + RETRY_MS;
            }
            if (next < 0 || p->retry_at < next) next = p->retry_at;
        }
    }
    return next < 0 ? -1 : (int)(next - now);
}

/* ---- listeners ---- */

static struct listener *find_listener(const char *public_path) {
    struct listener *l = listeners;
    while (l && strcmp(l->public_path, public_path) != 0) l = l->next;
    return l;
}

int relay_listen(const char *public_path, const char *backend_path, char *err, size_t errlen) {
    struct listener *l = find_listener(public_path);
    struct sockaddr_un sa;
    if (l && strcmp(l->backend_path, backend_path) == 0) return 0;
    if (l) return errf(err, errlen, "%s already relays to %s", public_path, l->backend_path);
    if (unix_addr(backend_path, &sa) < 0) return errf(err, errlen, "socket path too long: %s", backend_path);
    int fd = listen_unix(public_path, err, errlen);
    if (fd < 0) return -1;
    if (!relay_add_listener(fd, public_path, backend_path)) {
        close(fd);
        unlink(public_path);
        return errf(err, errlen, "out of memory");
    }
    klog("listener added: %s -> %s", public_path, backend_path);
    return 0;
}

/* Serves a listening socket: one just bound, or one handed over by a previous keeper. */
struct listener *relay_add_listener(int fd, const char *public_path, const char *backend_path) {
    struct listener *l = calloc(1, sizeof *l);
    char *pub = strdup(public_path), *back = strdup(backend_path);
    if (!l || !pub || !back) {
        free(l);
        free(pub);
        free(back);
        return NULL;
    }
    *l = (struct listener){.ev = {EV_PUBLIC, fd, l}, .public_path = pub, .backend_path = back, .next = listeners};
    listeners = l;
    ev_ctl(EPOLL_CTL_ADD, &l->ev, EPOLLIN);
    return l;
}

void relay_close(const char *public_path) {
    struct listener *l = find_listener(public_path), **pl = &listeners;
    if (!l) return;
    while (l->pairs) pair_kill(l->pairs, "listener closed");
    close_ev(&l->ev);
    if (!handing_over) unlink(l->public_path); /* a handed-over socket stays bound to its path in the next keeper */
    while (*pl != l) pl = &(*pl)->next;
    *pl = l->next;
    klog("listener closed: %s", l->public_path);
    free(l->public_path);
    free(l->backend_path);
    defer_free(l);
}

/* From now on containerd's side is not read and no connection is accepted; answers still flow to containerd. */
void relay_stop_reading(void) {
    handing_over = 1;
    for (struct listener *l = listeners; l; l = l->next) {
        if (l->ev.fd >= 0) ev_ctl(EPOLL_CTL_MOD, &l->ev, 0);
        for (struct pair *p = l->pairs; p; p = p->next) pair_update_events(p);
    }
}

void relay_close_all(void) {
    while (listeners) relay_close(listeners->public_path);
}

void relay_list(struct buf *out) {
    for (struct listener *l = listeners; l; l = l->next) {
        char line[256];
        int n = snprintf(line, sizeof line, "L %s %s\n", l->public_path, l->backend_path);
        buf_append(out, line, (size_t)n);
    }
}
