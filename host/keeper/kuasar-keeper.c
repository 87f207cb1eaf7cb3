/*
 * kuasar-keeper --dir DIR [--restart-delay-ms N] [--log FILE] -- CMD ARGS...
 *
 * A tiny per-node process that outlives crashes of the node's JVM (CMD). It restarts CMD whenever it exits; as
 * child subreaper it inherits the container processes a dead JVM leaves behind and records their exits in
 * DIR/exits; and it relays containerd's ttrpc connections (relay.c), which containerd never re-establishes, so
 * they survive the JVM. One thread, one epoll loop; the JVM tells it what to relay over DIR/control.sock
 * (control.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "keeper.h"

#define STOP_GRACE_MS 10000

static int epfd = -1, log_fd = STDERR_FILENO;
static const char *dir;
static char **cmd;
static int restart_delay_ms = 500, jvm_starts, stopping;
static int handover_drain_ms = 3000; /* at a stop under systemd: how long answers in flight may take */
static int64_t handover_at = -1;     /* while stopping: when the handover happens at the latest; -1: none due */
static unsigned long long replayed_requests; /* requests resent to a restarted JVM (relay.c), for DIR/stats */
static long record_ttl_hours = 168; /* exit records older than this are pruned (exit_records.c) */
static pid_t jvm_pid;           /* 0 while the JVM is not running */
static int64_t restart_at = -1; /* when to start the JVM again; -1: not scheduled */
static int64_t kill_at = -1;    /* while stopping: when to SIGKILL a JVM that ignores SIGTERM */
static struct ev signal_ev = {EV_SIGNAL, -1, NULL}, control_ev = {EV_CONTROL, -1, NULL};
static char control_path[PATH_MAX], pid_path[PATH_MAX], exits_dir[PATH_MAX];
static void **graveyard;
static size_t graveyard_len, graveyard_cap;


/* One write(2) per line, so lines of processes sharing the log never interleave. */
/*
 * Log lines are rate-limited (a burst of LOG_BURST, then LOG_PER_SECOND): a peer looping garbage connections
 * made the keeper write a line per connection, gigabytes within minutes, and spend its single thread on it. What
 * is held back is counted and said once lines may flow again.
 */
#define LOG_BURST 200
#define LOG_PER_SECOND 20

static int log_allowed(long *suppressed) {
    static double tokens = LOG_BURST;
    static int64_t last;
    static long held;
    int64_t now = now_ms();
    tokens += (double)(now - last) * LOG_PER_SECOND / 1000.0;
    if (tokens > LOG_BURST) tokens = LOG_BURST;
    last = now;
    if (tokens < 1) {
        held++;
        return 0;
    }
    tokens -= 1;
    *suppressed = held;
    held = 0;
    return 1;
}

void klog(const char *fmt, ...) {
    long suppressed = 0;
    if (!log_allowed(&suppressed)) return;
    if (suppressed > 0) klog("(%ld log lines held back by the rate limit)", suppressed);
    char line[1200];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(line + n, 64, ".%03ldZ kuasar-keeper[%d]: ", ts.tv_nsec / 1000000, (int)getpid());
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    n = m < 0 ? n : (n + (size_t)m > sizeof line - 2 ? sizeof line - 2 : n + (size_t)m);
    line[n++] = '\n';
    if (write(log_fd, line, n) < 0) { /* nowhere left to complain */ }
}

int klog_fd(void) { return log_fd; }

int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ev_ctl(int op, struct ev *e, uint32_t events) {
    struct epoll_event ee = {.events = events, .data.ptr = e};
    if (epoll_ctl(epfd, op, e->fd, &ee) < 0) klog("epoll_ctl(%d) on fd %d: %s", op, e->fd, strerror(errno));
}

/* Objects closed while handling a batch of events may still be named by later events of that batch. */
void defer_free(void *p) {
    if (graveyard_len == graveyard_cap) {
        size_t cap = graveyard_cap ? 2 * graveyard_cap : 64;
        void **g = realloc(graveyard, cap * sizeof *g);
        if (!g) return; /* leak it rather than risk a use after free */
        graveyard = g;
        graveyard_cap = cap;
    }
    graveyard[graveyard_len++] = p;
}

/* Writes dirpath/name through a temporary file, fsync and rename: readers see all of it or nothing. */
int atomic_write(const char *dirpath, const char *name, const char *data, size_t len) {
    char tmp[PATH_MAX], final[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/.tmp-%s", dirpath, name);
    snprintf(final, sizeof final, "%s/%s", dirpath, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    int ok = write(fd, data, len) == (ssize_t)len && fsync(fd) == 0;
    if (close(fd) < 0 || !ok || rename(tmp, final) < 0) {
        unlink(tmp);
        return -1;
    }
    int dfd = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC); /* makes the rename itself durable */
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

/* ---- supervising the JVM and reaping ---- */

/* DIR/stats, what the node reports (its metrics, `kuasar status`): rewritten whole whenever a count changes. */
static void write_stats(void) {
    char text[128];
    int n = snprintf(text, sizeof text, "jvm_starts %d\nreplayed_requests %llu\n", jvm_starts, replayed_requests);
    if (atomic_write(dir, "stats", text, (size_t)n) < 0) klog("cannot write %s/stats: %s", dir, strerror(errno));
}

void stats_replayed(size_t requests) {
    if (requests == 0) return;
    replayed_requests += requests;
    write_stats();
}

static void start_jvm(void) {
    pid_t pid = fork();
    if (pid == 0) { /* undo what only the keeper wants: blocked signals, ignored SIGPIPE */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        int null = open("/dev/null", O_RDONLY);
        if (null > 0) {
            dup2(null, STDIN_FILENO);
            close(null);
        }
        execvp(cmd[0], cmd);
        klog("cannot run %s: %s", cmd[0], strerror(errno));
        _exit(127);
    }
    if (pid < 0) {
        klog("cannot fork the JVM: %s; retrying in %d ms", strerror(errno), restart_delay_ms);
        restart_at = now_ms() + restart_delay_ms;
        return;
    }
    jvm_pid = pid;
    restart_at = -1;
    klog("JVM %s: pid %d (%s)", jvm_starts++ ? "restarted" : "started", (int)pid, cmd[0]);
    write_stats();
}

static void jvm_exited(const siginfo_t *si) {
    char how[96];
    if (si->si_code == CLD_EXITED) snprintf(how, sizeof how, "exit status %d", si->si_status);
    else snprintf(how, sizeof how, "killed by signal %d, %s", si->si_status, strsignal(si->si_status));
    jvm_pid = 0;
    if (stopping) {
        klog("JVM exited (%s)", how);
        return;
    }
    klog("JVM exited (%s); restarting it in %d ms", how, restart_delay_ms);
    restart_at = now_ms() + restart_delay_ms;
}

/* Field 22 of /proc/PID/stat: with the pid it names one process for good, although pids are reused. */
static int read_starttime(pid_t pid, unsigned long long *start) {
    char path[64], stat[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, stat, sizeof stat - 1);
    if (fd >= 0) close(fd);
    if (n <= 0) return -1;
    stat[n] = 0;
    char *p = strrchr(stat, ')'); /* the command name (field 2) may hold spaces and parentheses */
    for (int field = 3; p && field <= 22; field++) p = strchr(p + 1, ' '); /* to the space before field 22 */
    return p && sscanf(p + 1, "%llu", start) == 1 ? 0 : -1;
}

static void record_exit(pid_t pid, unsigned long long start, const siginfo_t *si) {
    int code = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char name[64], line[96];
    snprintf(name, sizeof name, "%d-%llu", (int)pid, start);
    int n = snprintf(line, sizeof line, "%d %d %lld\n", (int)pid, code, ts.tv_sec * 1000000000LL + ts.tv_nsec);
    if (atomic_write(exits_dir, name, line, (size_t)n) == 0) klog("exit recorded: pid %d code %d (%s)", (int)pid, code, name);
    else klog("cannot record the exit of pid %d (code %d): %s", (int)pid, code, strerror(errno));
    exit_records_prune(exits_dir, record_ttl_hours); /* at most hourly */
}

/* Reaps every exited child: the JVM, or a process it left behind, whose exit is recorded. */
static void reap_children(void) {
    siginfo_t si;
    for (;;) {
        memset(&si, 0, sizeof si);
        /* WNOWAIT first: the zombie's /proc entry, and so its start time, exists only until it is reaped. */
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0) return;
        pid_t pid = si.si_pid;
        unsigned long long start = 0;
        if (pid != jvm_pid && read_starttime(pid, &start) < 0) klog("no start time for pid %d: recorded as %d-0", pid, pid);
        if (waitid(P_PID, pid, &si, WEXITED) < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (pid == jvm_pid) jvm_exited(&si);
        else record_exit(pid, start, &si);
    }
}

static void stop_jvm(void) {
    if (jvm_pid > 0) {
        kill(jvm_pid, SIGTERM);
        kill_at = now_ms() + STOP_GRACE_MS;
    }
}

/* Once the answers in flight are through (or their time is up), the connections go to systemd's store. */
static void hand_over(int settled) {
    klog("handing over %s", settled ? "once every answer in flight went out" : "at the end of the drain time");
    if (handover_give(dir) < 0) klog("handover incomplete: containerd may see some task connections close");
    relay_close_all();
    handover_at = -1;
    stop_jvm();
}

static void on_signals(void) {
    struct signalfd_siginfo ssi;
    while (read(signal_ev.fd, &ssi, sizeof ssi) == (ssize_t)sizeof ssi) {
        if (ssi.ssi_signo == SIGCHLD || stopping) continue;
        klog("got signal %d: stopping", (int)ssi.ssi_signo); /* SIGTERM or SIGINT */
        stopping = 1;
        restart_at = -1;
        notify_systemd("STOPPING=1");
        if (handover_enabled()) { /* containerd's connections go to the next keeper: no new request from now on */
            relay_stop_reading();
            handover_at = now_ms() + handover_drain_ms;
        } else {
            stop_jvm();
        }
    }
    reap_children(); /* SIGCHLDs coalesce: always look for every exited child */
}

/* ---- start-up, the loop, the end ---- */

static void fail(const char *what) {
    klog("%s: %s", what, strerror(errno));
    exit(1);
}

static void parse_args(int argc, char **argv) {
    const char *log = NULL;
    int i = 1;
    for (; i + 1 < argc && strcmp(argv[i], "--") != 0; i += 2) {
        if (strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
        else if (strcmp(argv[i], "--log") == 0) log = argv[i + 1];
        else if (strcmp(argv[i], "--restart-delay-ms") == 0) restart_delay_ms = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--exit-record-ttl-hours") == 0) record_ttl_hours = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--handover-drain-ms") == 0) handover_drain_ms = atoi(argv[i + 1]);
        else break;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        puts("kuasar-keeper 1"); /* lets build.sh check that a static binary runs */
        exit(0);
    }
    if (!dir || i + 1 >= argc || strcmp(argv[i], "--") != 0 || restart_delay_ms < 0 || record_ttl_hours < 1
        || handover_drain_ms < 0) {
        fprintf(stderr, "usage: kuasar-keeper --dir DIR [--restart-delay-ms N] [--exit-record-ttl-hours N (168)]"
                        " [--handover-drain-ms N (3000)] [--log FILE] -- CMD ARGS...\n");
        exit(2);
    }
    cmd = argv + i + 1;
    if (log && (log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0) {
        log_fd = STDERR_FILENO;
        fail(log);
    }
}

static void setup(void) {
    char lock_path[PATH_MAX], pid[32], err[PATH_MAX + 128];
    snprintf(exits_dir, sizeof exits_dir, "%s/exits", dir);
    snprintf(control_path, sizeof control_path, "%s/control.sock", dir);
    snprintf(pid_path, sizeof pid_path, "%s/keeper.pid", dir);
    snprintf(lock_path, sizeof lock_path, "%s/keeper.lock", dir);
    if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || chmod(dir, 0700) < 0) fail(dir);
    if ((mkdir(exits_dir, 0700) < 0 && errno != EEXIST) || chmod(exits_dir, 0700) < 0) fail(exits_dir);
    int lock = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600); /* two keepers would steal each other's sockets */
    if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) fail("another keeper holds the directory");
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) fail("PR_SET_CHILD_SUBREAPER");
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) fail("epoll_create1");
    if ((signal_ev.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) fail("signalfd");
    ev_ctl(EPOLL_CTL_ADD, &signal_ev, EPOLLIN);
    handover_take(dir); /* before the JVM asks for its listeners again: those handed over are served already */
    if ((control_ev.fd = listen_unix(control_path, err, sizeof err)) < 0) {
        klog("%s", err);
        exit(1);
    }
    ev_ctl(EPOLL_CTL_ADD, &control_ev, EPOLLIN);
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (atomic_write(dir, "keeper.pid", pid, (size_t)n) < 0) fail(pid_path);
    if (setenv("KUASAR_KEEPER_DIR", dir, 1) < 0) fail("setenv");
}

/* Runs what is due; returns the epoll timeout until the next thing due (-1: none). */
static int run_timers(void) {
    if (handover_at >= 0 && handover_settled()) hand_over(1);
    else if (handover_at >= 0 && now_ms() >= handover_at) hand_over(0);
    int64_t now = now_ms(), next = relay_tick(now);
    if (restart_at >= 0 && now >= restart_at) start_jvm();
    if (kill_at >= 0 && now >= kill_at && jvm_pid > 0) {
        klog("JVM pid %d still running %d ms after SIGTERM: SIGKILL", (int)jvm_pid, STOP_GRACE_MS);
        kill(jvm_pid, SIGKILL);
        kill_at = -1;
    }
    if (restart_at >= 0 && (next < 0 || restart_at - now < next)) next = restart_at - now;
    if (kill_at >= 0 && (next < 0 || kill_at - now < next)) next = kill_at - now;
    if (handover_at >= 0 && (next < 0 || handover_at - now < next)) next = handover_at - now;
    return next < 0 ? -1 : (int)(next > 0 ? next : 0);
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    setup();
    klog("keeper running on %s", dir);
    exit_records_prune(exits_dir, record_ttl_hours);
    start_jvm();
    notify_systemd("READY=1");
    while (!stopping || jvm_pid > 0 || handover_at >= 0) {
        struct epoll_event events[64];
        int timeout = run_timers();
        if (stopping && jvm_pid == 0 && handover_at < 0) break; /* a handover just done with no JVM to wait for */
        int n = epoll_wait(epfd, events, 64, timeout);
        if (n < 0 && errno != EINTR) fail("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct ev *e = events[i].data.ptr;
            if (e->kind == EV_SIGNAL) on_signals();
            else if (e->kind == EV_CONTROL) control_accept(control_ev.fd);
            else if (e->kind == EV_CONTROL_CLIENT && e->fd >= 0) control_client_event(e->obj, events[i].events);
            else if (e->kind != EV_CONTROL_CLIENT) relay_event(e, events[i].events);
        }
        while (graveyard_len) free(graveyard[--graveyard_len]);
    }
    relay_close_all();
    control_close_all();
    while (graveyard_len) free(graveyard[--graveyard_len]);
    unlink(control_path);
    unlink(pid_path);
    klog("keeper stopped");
    return 0;
}
