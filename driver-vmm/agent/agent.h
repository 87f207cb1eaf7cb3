/* kuasar-agent: PID 1 of a Kuasar VM. Serves kuasar.agent.v1.Agent with ttrpc over a virtio-serial port. */
#ifndef KUASAR_AGENT_H
#define KUASAR_AGENT_H
#include "pb.h"
#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#define AGENT_VERSION "0.1.0"
#define ID_MAX 80
#define OUT_MAX (1u << 20)     /* output kept per stream until the host reads it */
#define OUT_CHUNK (64u << 10)  /* most bytes per ReadOutput answer */
#define MAX_WAITERS 16
#define MAX_PROCS 256

/* ttrpc status codes (gRPC's). */
enum { ST_OK = 0, ST_INVALID = 3, ST_NOT_FOUND = 5, ST_EXISTS = 6, ST_PRECONDITION = 9, ST_UNIMPLEMENTED = 12,
       ST_INTERNAL = 13 };

/* channel.c: the host connection */
int chan_open(void);                       /* finds and opens the port, -1 if absent */
int chan_fd(void);
uint32_t chan_generation(void);            /* bumps when the host (re)connects: parked calls are void */
void chan_on_readable(void);               /* reads frames and dispatches requests */
void chan_on_hangup(void);
void chan_discard(void);                   /* drops unread input (of a host that went away) */
void reply_ok(uint32_t stream, const pb_buf *payload);
void reply_err(uint32_t stream, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void dispatch(uint32_t stream, const char *method, const uint8_t *payload, size_t len); /* agent.c */

/* boot.c: what PID 1 sets up */
void boot_mounts(void);
void boot_modules(const char *list);
int boot_share(void);
void boot_loopback(void);
void setup_sandbox(uint32_t stream, pb_reader *r);
uint64_t uptime_ms(void);
void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* podns.c: what the pod's containers share in the guest */
#define POD_PIDNS "/run/kuasar/pidns"   /* the pod's PID namespace, for a pod that shares one */
#define POD_SHM "/run/kuasar/shm"       /* the pod's /dev/shm */
int pod_shm(char *err, size_t cap);
int pod_sysctl(const char *pair, char *err, size_t cap);
int pod_pid_namespace(char *err, size_t cap);

/* procs.c: containers and processes run with runc */
void procs_create(uint32_t stream, pb_reader *r);
void procs_start(uint32_t stream, pb_reader *r);
void procs_exec(uint32_t stream, pb_reader *r);
void procs_signal(uint32_t stream, pb_reader *r);
void procs_wait(uint32_t stream, pb_reader *r);
void procs_read_output(uint32_t stream, pb_reader *r);
void procs_close_stdin(uint32_t stream, pb_reader *r);
void procs_delete(uint32_t stream, pb_reader *r);
void procs_pause(uint32_t stream, pb_reader *r, int pause);
void procs_update(uint32_t stream, pb_reader *r);
void procs_write_stdin(uint32_t stream, pb_reader *r);
void procs_resize_pty(uint32_t stream, pb_reader *r);
int procs_known(const char *cid);
void procs_reap(void);                                  /* after SIGCHLD */
int procs_poll_fds(struct pollfd *fds, int max);        /* output pipes worth polling */
void procs_on_output(int fd, short revents);
void procs_forget_parked(void);                         /* the host went away */

/* ports.c: the pod's listening TCP ports (WatchPorts), scanned while the host waits for a change */
int ports_listening_line(const char *line, unsigned *port); /* 1: a /proc/net/tcp{,6} line of a wildcard LISTEN */
void ports_watch(uint32_t stream, pb_reader *r);
void ports_hurry(void);                                     /* a process started: scan often again */
int ports_poll_timeout(void);                               /* ms until the next scan, -1: none due */
void ports_tick(void);                                      /* scans when due, answers the watcher on a change */

/* cgroups.c: figures of a container's cgroup */
void cgroup_stats(uint32_t stream, pb_reader *r);
void cgroup_pids(uint32_t stream, pb_reader *r);
/* Whether the OOM killer of container cid's cgroup has ended a process of it (memory.events oom_kill). */
int cgroup_oom_killed(const char *cid);
#endif
