/*
 * The handover to the next keeper across a stop or restart of the service. containerd never redials a task
 * connection, so the keeper must not close one when it stops: it gives them to systemd's file descriptor store
 * (sd_notify FDSTORE=1, one FDNAME per fd, the fd by SCM_RIGHTS on $NOTIFY_SOCKET), with its listening sockets,
 * and writes what the fds cannot carry (unanswered requests, half-read frames, answers not yet delivered) to
 * DIR/handover and DIR/handover.d/<name>. The next keeper gets the fds back as LISTEN_FDS/LISTEN_FDNAMES, reads
 * the state and replays the unanswered requests to its JVM as after a JVM crash. Written without libsystemd.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "relay.h"

#define LISTEN_FDS_START 3 /* sd_listen_fds(3): passed fds start here */
#define MAX_TAKEN 65536

static char notify_path[sizeof ((struct sockaddr_un *)0)->sun_path];

/* ---- sd_notify ---- */

static int notify_send(const char *msg, int fd) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    size_t plen = strlen(notify_path);
    if (plen == 0) return -1;
    memcpy(sa.sun_path, notify_path, plen);
    if (sa.sun_path[0] == '@') sa.sun_path[0] = 0; /* an abstract socket */
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    struct iovec iov = {.iov_base = (void *)msg, .iov_len = strlen(msg)};
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr mh = {.msg_name = &sa, .msg_namelen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen),
                        .msg_iov = &iov, .msg_iovlen = 1};
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        mh.msg_control = control.space;
        mh.msg_controllen = sizeof control.space;
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    int rc = sendmsg(s, &mh, MSG_NOSIGNAL) < 0 ? -1 : 0;
    close(s);
    return rc;
}

void notify_systemd(const char *state) {
    if (notify_send(state, -1) < 0 && notify_path[0]) klog("sd_notify %s: %s", state, strerror(errno));
}

int handover_enabled(void) { return notify_path[0] != 0; }

/* ---- taking over at start ---- */

static int take_fd(struct named_fd *t, int n, const char *name) {
    for (int i = 0; i < n; i++) {
        if (t[i].fd >= 0 && strcmp(t[i].name, name) == 0) {
            int fd = t[i].fd;
            t[i].fd = -1;
            return fd;
        }
    }
    return -1;
}

static struct listener *listener_at(const char *public_path) {
    struct listener *l = listeners;
    while (l && strcmp(l->public_path, public_path) != 0) l = l->next;
    return l;
}

/* One connection's saved bytes: its kept requests (whole frames), then a half-read request, then undelivered answers. */
static void restore_pair(struct pair *p, const char *path, size_t kept, size_t in, size_t out, uint32_t stream_left) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char *data = malloc(kept + in + out + 1);
    ssize_t n = fd < 0 || !data ? -1 : read(fd, data, kept + in + out);
    if (fd >= 0) close(fd);
    if (n != (ssize_t)(kept + in + out)) {
        klog("handover: %s unreadable or short; connection %d starts with nothing kept", path, p->id);
        free(data);
        return;
    }
    for (size_t off = 0; off + HEADER_LEN <= kept;) {
        const unsigned char *h = (const unsigned char *)data + off;
        size_t len = HEADER_LEN + ((size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3]);
        uint32_t stream = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
        if (off + len > kept || relay_keep(p, stream, h, len) < 0) break;
        if (p->back.fd >= 0) buf_append(&p->to_back, h, len); /* already connected: queue it as a replay would */
        off += len;
    }
    if (in) buf_append(&p->up.in, data + kept, in);
    p->up.stream_left = stream_left;
    p->up.dropping = stream_left > 0; /* the header went to a backend that is gone */
    if (out) buf_append(&p->to_front, data + kept + in, out);
    p->was_up = 1; /* its first backend connection is a replay */
    if (p->back.fd >= 0 && p->kept_count) { /* the backend was there at once: that replay happened above */
        klog("handover: backend %s for connection %d on %s; %zu requests replayed", p->lst->backend_path, p->id,
             p->lst->public_path, p->kept_count);
        stats_replayed(p->kept_count);
    }
    free(data);
}

static void restore(const char *dir, struct named_fd *t, int n) {
    char path[PATH_MAX], line[PATH_MAX * 2 + 128], name[256], pub[PATH_MAX], back[PATH_MAX];
    snprintf(path, sizeof path, "%s/handover", dir);
    FILE *f = fopen(path, "re");
    if (!f) {
        if (n > 0) klog("handover: %d fds passed but no %s: closing them", n, path);
        return;
    }
    int listeners_taken = 0, pairs_taken = 0;
    while (fgets(line, sizeof line, f)) {
        size_t kept, in, out;
        unsigned stream_left;
        int fd;
        if (sscanf(line, "L %255s %4095s %4095s", name, pub, back) == 3) {
            if ((fd = take_fd(t, n, name)) < 0) klog("handover: no fd named %s for listener %s", name, pub);
            else if (!relay_add_listener(fd, pub, back)) close(fd);
            else listeners_taken++;
        } else if (sscanf(line, "C %255s %4095s %zu %zu %zu %u", name, pub, &kept, &in, &out, &stream_left) == 6) {
            struct listener *l = listener_at(pub);
            struct pair *p = NULL;
            if ((fd = take_fd(t, n, name)) < 0) klog("handover: no fd named %s for a connection on %s", name, pub);
            else if (!l || !(p = relay_add_pair(l, fd))) close(fd);
            if (!p) continue;
            snprintf(path, sizeof path, "%s/handover.d/%s", dir, name);
            restore_pair(p, path, kept, in, out, stream_left);
            relay_flush(p);
            pairs_taken++;
        }
    }
    fclose(f);
    klog("handover: took %d listeners and %d connections from the previous keeper", listeners_taken, pairs_taken);
}

/* Empties DIR/handover.d (and creates it 0700). */
static int clear_state_dir(const char *dir, char *sub, size_t sublen) {
    snprintf(sub, sublen, "%s/handover.d", dir);
    if ((mkdir(sub, 0700) < 0 && errno != EEXIST) || chmod(sub, 0700) < 0) return -1;
    DIR *d = opendir(sub);
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] != '.') unlinkat(dirfd(d), e->d_name, 0);
    }
    closedir(d);
    return 0;
}

void handover_take(const char *dir) {
    const char *notify = getenv("NOTIFY_SOCKET"), *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    const char *names = getenv("LISTEN_FDNAMES");
    if (notify && strlen(notify) < sizeof notify_path) strcpy(notify_path, notify);
    int n = pid && fds && atol(pid) == (long)getpid() ? atoi(fds) : 0;
    if (n < 0 || n > MAX_TAKEN) n = 0;
    struct named_fd *t = n ? calloc((size_t)n, sizeof *t) : NULL;
    if (!t) n = 0;
    char *list = strdup(names ? names : ""), *save = NULL, *tok = list ? strtok_r(list, ":", &save) : NULL;
    for (int i = 0; i < n; i++, tok = tok ? strtok_r(NULL, ":", &save) : NULL) {
        t[i].fd = LISTEN_FDS_START + i;
        snprintf(t[i].name, sizeof t[i].name, "%s", tok ? tok : "unknown");
        fcntl(t[i].fd, F_SETFD, FD_CLOEXEC); /* never to the JVM */
    }
    free(list);
    int held = holder_take(dir, &t, &n); /* after a stop systemd has nothing left: the holder has */
    for (int i = 0; i < n; i++) fcntl(t[i].fd, F_SETFL, fcntl(t[i].fd, F_GETFL) | O_NONBLOCK);
    if (n > 0) klog("handover: %d fds passed by systemd, %d more by the holder", n - held, held);
    restore(dir, t, n);
    char sub[PATH_MAX], msg[300];
    for (int i = 0; i < n; i++) {
        if (t[i].fd >= 0) close(t[i].fd); /* named in no state: nobody to relay it for */
        /* Out of the store: the next handover stores what is then alive, under names of its own. */
        snprintf(msg, sizeof msg, "FDSTOREREMOVE=1\nFDNAME=%s", t[i].name);
        notify_send(msg, -1);
    }
    snprintf(sub, sizeof sub, "%s/handover", dir);
    unlink(sub);
    clear_state_dir(dir, sub, sizeof sub);
    free(t);
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    unsetenv("NOTIFY_SOCKET"); /* the JVM must not speak for the service */
}

/* ---- handing over at stop ---- */

/* The method of a ttrpc Request (protobuf: service = 1, method = 2, ...); "" when it cannot be read. */
static void request_method(const unsigned char *p, size_t len, char *method, size_t cap) {
    method[0] = 0;
    for (size_t i = 0; i < len;) {
        uint64_t key = 0, v = 0;
        for (int shift = 0; i < len && shift < 64; shift += 7) {
            key |= (uint64_t)(p[i] & 0x7f) << shift;
            if (!(p[i++] & 0x80)) break;
        }
        if ((key & 7) == 0) { /* varint */
            while (i < len && (p[i++] & 0x80)) {}
        } else if ((key & 7) == 1 || (key & 7) == 5) {
            i += (key & 7) == 1 ? 8 : 4;
        } else if ((key & 7) == 2) {
            for (int shift = 0; i < len && shift < 64; shift += 7) {
                v |= (uint64_t)(p[i] & 0x7f) << shift;
                if (!(p[i++] & 0x80)) break;
            }
            if (v > len - i) return;
            if (key >> 3 == 2 && v < cap) {
                memcpy(method, p + i, v);
                method[v] = 0;
                return;
            }
            i += v;
        } else {
            return;
        }
    }
}

/*
 * Settled: every answer read has reached containerd, and every request still unanswered is a Wait, which the
 * JVM answers only when a process exits, so waiting for it would hold the stop for nothing.
 */
int handover_settled(void) {
    char method[64];
    for (struct listener *l = listeners; l; l = l->next) {
        for (struct pair *p = l->pairs; p; p = p->next) {
            if (buf_pending(&p->to_front) || buf_pending(&p->down.in) || p->down.stream_left) return 0;
            for (struct kept *k = p->kept; k; k = k->next) {
                request_method((const unsigned char *)k->frame + HEADER_LEN, k->len - HEADER_LEN, method, sizeof method);
                if (strcmp(method, "Wait") != 0) return 0;
            }
        }
    }
    return 1;
}

static int save_pair(const char *sub, const char *name, struct pair *p, struct buf *all) {
    for (struct kept *k = p->kept; k; k = k->next) buf_append(all, k->frame, k->len);
    if (buf_pending(&p->up.in)) buf_append(all, p->up.in.data + p->up.in.off, buf_pending(&p->up.in));
    if (buf_pending(&p->to_front)) buf_append(all, p->to_front.data + p->to_front.off, buf_pending(&p->to_front));
    int rc = atomic_write(sub, name, buf_pending(all) ? all->data + all->off : "", buf_pending(all));
    buf_free(all);
    return rc;
}

/* Stores fd under name with systemd and adds it to what the holder will keep; -1 when systemd refused it. */
static int hand(struct named_fd **handed, int *n, int fd, const char *name) {
    char msg[64];
    struct named_fd *grown = realloc(*handed, (size_t)(*n + 1) * sizeof **handed);
    if (grown) {
        *handed = grown;
        grown[*n].fd = fd;
        snprintf(grown[*n].name, sizeof grown[*n].name, "%s", name);
        (*n)++;
    }
    snprintf(msg, sizeof msg, "FDSTORE=1\nFDNAME=%s", name);
    return notify_send(msg, fd);
}

int handover_give(const char *dir) {
    char sub[PATH_MAX], name[32], line[PATH_MAX * 2 + 128];
    struct buf state = {0}, bytes = {0};
    struct named_fd *handed = NULL;
    if (!handover_enabled() || clear_state_dir(dir, sub, sizeof sub) < 0) return -1;
    int nl = 0, nc = 0, refused = 0, n = 0;
    for (struct listener *l = listeners; l; l = l->next) {
        snprintf(name, sizeof name, "l%d", ++nl);
        snprintf(line, sizeof line, "L %s %s %s\n", name, l->public_path, l->backend_path);
        buf_append(&state, line, strlen(line));
        refused += hand(&handed, &n, l->ev.fd, name) < 0;
        for (struct pair *p = l->pairs; p; p = p->next) {
            if (p->down.stream_left) { /* containerd has half an answer that can never be completed */
                klog("handover: connection %d on %s is in the middle of an oversized answer: closed", p->id, l->public_path);
                continue;
            }
            snprintf(name, sizeof name, "c%d", ++nc);
            if (save_pair(sub, name, p, &bytes) < 0) {
                klog("handover: cannot save connection %d on %s: %s", p->id, l->public_path, strerror(errno));
                continue;
            }
            snprintf(line, sizeof line, "C %s %s %zu %zu %zu %u\n", name, l->public_path, p->kept_bytes,
                     buf_pending(&p->up.in), buf_pending(&p->to_front), p->up.stream_left);
            buf_append(&state, line, strlen(line));
            refused += hand(&handed, &n, p->front.fd, name) < 0;
        }
    }
    int rc = atomic_write(dir, "handover", buf_pending(&state) ? state.data + state.off : "", buf_pending(&state));
    buf_free(&state);
    klog("handover: %d listeners, %d connections; %d fds refused by systemd%s", nl, nc, refused,
         rc < 0 ? "; but the state could not be written" : "");
    if (rc == 0) holder_start(dir, handed, n);
    free(handed);
    return rc;
}
