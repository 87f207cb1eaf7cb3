/* kuasar-keeper: the relay's connections and listeners, shared by the relay (relay.c) and the handover (handover.c). */
#ifndef KUASAR_RELAY_H
#define KUASAR_RELAY_H

#include "keeper.h"

#define HEADER_LEN 10
#define MAX_PAYLOAD (4u << 20) /* ttrpc's limit: larger frames pass through unkept, the JVM rejects them */
#define MAX_KEPT (16u << 20)   /* unanswered requests per connection before we give up on it */
#define HIGH_WATER (1u << 20)  /* a side is not read while the other side's output queue is above this */
#define RETRY_MS 100

enum { T_REQUEST = 1, T_RESPONSE = 2, T_DATA = 3 };

/* A request frame not answered yet, kept to be resent to a restarted backend. */
struct kept {
    struct kept *next;
    uint32_t stream;
    size_t len;
    char frame[];
};

/* One direction of a pair. */
struct dir {
    struct buf in;        /* bytes read that do not form a complete frame yet */
    uint32_t stream_left; /* payload bytes of an oversized frame still to pass through */
    int dropping;         /* ...to nowhere, because its header never reached the peer */
};

struct pair {
    struct ev front, back; /* containerd's connection; the backend's (fd -1 while down) */
    struct listener *lst;
    struct pair *next;
    struct dir up, down;   /* up: containerd -> backend; down: backend -> containerd */
    struct buf to_front, to_back;
    struct kept *kept, *kept_tail;
    size_t kept_bytes, kept_count;
    int64_t retry_at;      /* while the backend is down */
    int id, was_up;
    uint32_t front_mask, back_mask; /* epoll events registered */
};

struct listener {
    struct ev ev;
    char *public_path, *backend_path;
    struct pair *pairs;
    int npairs;
    struct listener *next;
};

extern struct listener *listeners;

struct listener *relay_add_listener(int fd, const char *public_path, const char *backend_path); /* NULL: no memory */
struct pair *relay_add_pair(struct listener *l, int fd);                                        /* NULL: no memory */
void relay_flush(struct pair *p);            /* sends what is queued, re-arms its events */
int relay_keep(struct pair *p, uint32_t stream, const void *frame, size_t len); /* -1: pair killed */

#endif
