/*
 * kuasar-keeper: byte queues (struct buf) and Unix sockets, shared by the relay (relay.c) and the supervisor's
 * control socket (kuasar-keeper.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "keeper.h"

#define READ_CHUNK 65536


size_t buf_pending(const struct buf *b) { return b->len - b->off; }

/* Room for n more bytes at the end; pending bytes move to the front first. */
static char *buf_reserve(struct buf *b, size_t n) {
    if (b->off > 0 && b->cap - b->len < n) {
        memmove(b->data, b->data + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return NULL;
        b->data = d;
        b->cap = cap;
    }
    return b->data + b->len;
}

int buf_append(struct buf *b, const void *data, size_t n) {
    char *p = buf_reserve(b, n);
    if (!p) return -1;
    memcpy(p, data, n);
    b->len += n;
    return 0;
}

/* An empty queue gives its memory back: an idle connection costs little more than its struct. */
void buf_consume(struct buf *b, size_t n) {
    b->off += n;
    if (b->off == b->len) buf_free(b);
}

void buf_free(struct buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

int buf_flush(struct buf *b, int fd) {
    while (buf_pending(b)) {
        ssize_t n = send(fd, b->data + b->off, buf_pending(b), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
        buf_consume(b, (size_t)n);
    }
    return 0;
}

long buf_read(struct buf *b, int fd) {
    char *p = buf_reserve(b, READ_CHUNK);
    ssize_t n = p ? recv(fd, p, READ_CHUNK, MSG_DONTWAIT) : -1; /* realloc sets ENOMEM */
    if (n > 0) b->len += (size_t)n;
    return n;
}

/* Fills err for a control reply; returns -1. */
int errf(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

int unix_addr(const char *path, struct sockaddr_un *sa) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path) return -1;
    strcpy(sa->sun_path, path);
    return 0;
}

/* Listens on a Unix socket created 0600, replacing a stale socket file (never another kind of file). */
int listen_unix(const char *path, char *err, size_t errlen) {
    struct sockaddr_un sa;
    struct stat st;
    if (unix_addr(path, &sa) < 0) return errf(err, errlen, "socket path too long: %s", path);
    if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) return errf(err, errlen, "%s is not a socket", path);
    unlink(path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    mode_t old = umask(0177); /* never reachable by others, not even between bind and chmod */
    int bound = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    umask(old);
    if (bound && listen(fd, SOMAXCONN) == 0) return fd;
    int saved = errno;
    if (fd >= 0) close(fd);
    if (bound) unlink(path);
    return errf(err, errlen, "cannot listen on %s: %s", path, strerror(saved));
}
