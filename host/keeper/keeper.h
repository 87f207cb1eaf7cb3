/* kuasar-keeper: what the supervisor (kuasar-keeper.c), the relay (relay.c) and the control socket (control.c) share. */
#ifndef KUASAR_KEEPER_H
#define KUASAR_KEEPER_H

#include <stddef.h>
#include <stdint.h>

/* What an epoll registration stands for: data.ptr of every registration points to a struct ev. */
enum ev_kind { EV_SIGNAL, EV_CONTROL, EV_CONTROL_CLIENT, EV_PUBLIC, EV_FRONT, EV_BACK };

struct ev {
    enum ev_kind kind;
    int fd;    /* -1 once closed: later events of the same epoll batch must ignore it */
    void *obj; /* the listener, pair or control client that owns fd */
};

/* A byte queue: data[off, len) is pending. */
struct buf {
    char *data;
    size_t off, len, cap;
};

void klog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int klog_fd(void);
int64_t now_ms(void);
int atomic_write(const char *dirpath, const char *name, const char *data, size_t len); /* tmp, fsync, rename */
void ev_ctl(int op, struct ev *e, uint32_t events);
void defer_free(void *p);

size_t buf_pending(const struct buf *b);
int buf_append(struct buf *b, const void *data, size_t n);
void buf_consume(struct buf *b, size_t n);
void buf_free(struct buf *b);
int buf_flush(struct buf *b, int fd);          /* -1 when the socket is dead */
long buf_read(struct buf *b, int fd);          /* like recv(2) */
int listen_unix(const char *path, char *err, size_t errlen);
struct sockaddr_un;
int unix_addr(const char *path, struct sockaddr_un *sa);  /* -1 when the path does not fit sun_path */
int errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4))); /* always -1 */

int relay_listen(const char *public_path, const char *backend_path, char *err, size_t errlen);
void relay_close(const char *public_path);
void relay_close_all(void);                    /* after relay_stop_reading, public socket files stay */
void relay_stop_reading(void);                 /* a handover begins: containerd's side is no longer read */
void relay_list(struct buf *out);              /* "L <public> <backend>\n" per listener */
void relay_event(struct ev *e, uint32_t events);
int relay_tick(int64_t now);                   /* retries due backends; ms until the next retry, or -1 */

struct control_client;
void control_accept(int listen_fd);           /* takes every pending connection of the control socket */
int control_client_event(struct control_client *c, uint32_t events);
void control_close_all(void);

/* The handover to the next keeper through systemd's file descriptor store (handover.c). */
void handover_take(const char *dir);          /* at start: adopts what a previous keeper handed over */
int handover_settled(void);                   /* 1 once nothing is left to wait for before handing over */
int handover_give(const char *dir);           /* saves the state, stores the fds; -1 when there is no store */
int handover_enabled(void);                   /* systemd gave a notify socket: a stop hands over */
void notify_systemd(const char *state);       /* sd_notify(3) without libsystemd; nothing without NOTIFY_SOCKET */

#define FDNAME_MAX 255
struct named_fd { /* an fd handed over, and its FDNAME */
    int fd;
    char name[FDNAME_MAX + 1];
};
void holder_start(const char *dir, const struct named_fd *fds, int n); /* forks the holder (holder.c) */
int holder_take(const char *dir, struct named_fd **fds, int *n);       /* adds a holder's fds; how many */

void stats_replayed(size_t requests);         /* counts requests resent to a restarted JVM, in DIR/stats */

int exit_records_prune(const char *exits_dir, long ttl_hours); /* records removed; rate-limited to hourly */

#endif
