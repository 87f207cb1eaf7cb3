/*
 * Containers and their processes, run with runc inside the guest. runc create/start/exec are run to completion
 * (they take milliseconds); the container and exec processes they leave are re-parented to us, PID 1, and reaped
 * on SIGCHLD. Their stdout/stderr are pipes buffered here until the host's ReadOutput long polls take them.
 */
#include "procs.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CGROUP_DIR "/sys/fs/cgroup/kuasar"

struct proc procs[MAX_PROCS];

/* Ids come from the host, already checked by containerd's rule; refuse anything that could name a path. */
static struct proc *find(const char *cid, const char *eid);

static int valid_id(const char *id, int may_be_empty)
{
    if (!*id)
        return may_be_empty;
    for (const char *p = id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return id[0] != '.';
}

int procs_known(const char *cid)
{
    return valid_id(cid, 0) && find(cid, "") != NULL;
}

static struct proc *find(const char *cid, const char *eid)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].used && !strcmp(procs[i].cid, cid) && !strcmp(procs[i].eid, eid))
            return &procs[i];
    return NULL;
}

static struct proc *add(const char *cid, const char *eid)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (!procs[i].used) {
            struct proc *p = &procs[i];
            memset(p, 0, sizeof(*p));
            p->used = 1;
            snprintf(p->cid, ID_MAX, "%s", cid);
            snprintf(p->eid, ID_MAX, "%s", eid);
            p->out[0].fd = p->out[1].fd = -1;
            p->in_fd = p->in_child = p->pty = p->console = -1;
            return p;
        }
    return NULL;
}

static void drop(struct proc *p)
{
    for (int i = 0; i < 2; i++) {
        if (p->out[i].fd >= 0)
            close(p->out[i].fd);
        free(p->out[i].data);
    }
    stdio_drop(p);
    p->used = 0;
}

int parse_ref(uint32_t stream, pb_reader *r, struct ref *ref)
{
    pb_field f;
    memset(ref, 0, sizeof(*ref));
    while (pb_next(r, &f) == 1) {
        if (f.num == 1) pb_copy_str(&f, ref->cid, ID_MAX);
        else if (f.num == 2) pb_copy_str(&f, ref->eid, ID_MAX);
        else if (f.num == 3 && f.wire == 2) ref->bytes3 = f;
        else if (f.num == 3) ref->n3 = f.v;
        else if (f.num == 4) ref->n4 = f.v, ref->b4 = f.v != 0;
        else if (f.num == 5) ref->b5 = f.v != 0;
        else if (f.num == 6) ref->b6 = f.v != 0;
        else if (f.num == 7) ref->b7 = f.v != 0;
    }
    if (!valid_id(ref->cid, 0) || !valid_id(ref->eid, 1)) {
        reply_err(stream, ST_INVALID, "invalid container or exec id \"%s\"/\"%s\"", ref->cid, ref->eid);
        return -1;
    }
    return 0;
}

struct proc *lookup(uint32_t stream, const struct ref *ref)
{
    struct proc *p = find(ref->cid, ref->eid);
    if (!p)
        reply_err(stream, ST_NOT_FOUND, "process %s%s%s not found", ref->cid, *ref->eid ? "/" : "", ref->eid);
    return p;
}

static void reply_pid(uint32_t stream, pid_t pid)
{
    pb_buf b = {0};
    pb_put_u64(&b, 1, (uint64_t)pid);
    reply_ok(stream, &b);
    pb_free(&b);
}

/*
 * Runs runc with argv; the process it starts inherits out pipes for fds 1 and 2 when want_out says so. On failure
 * runc's complaint (what it wrote to stderr, which is the stderr pipe or a scratch pipe) goes to err.
 */
int run_runc(char *const argv[], struct proc *p, char *err, size_t errcap)
{
    int pipes[2][2] = { { -1, -1 }, { -1, -1 } };
    for (int i = 0; i < 2; i++)
        if (pipe2(pipes[i], O_CLOEXEC) < 0) {
            snprintf(err, errcap, "pipe: %s", strerror(errno));
            return -1;
        }
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);
        dup2(p && p->in_child >= 0 ? p->in_child : devnull, 0);
        dup2(p ? pipes[0][1] : devnull, 1);
        dup2(pipes[1][1], 2);
        execv(RUNC, argv);
        _exit(127);
    }
    close(pipes[0][1]);
    close(pipes[1][1]);
    if (p && p->in_child >= 0) { /* the process has its copy */
        close(p->in_child);
        p->in_child = -1;
    }
    int st = 0;
    while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    int ok = pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (ok && p && !p->started && !p->terminal && p->out[0].fd < 0 && p->out[1].fd < 0) {
        /* both kept even when unwanted: closing one would kill the process with SIGPIPE */
        p->out[0].fd = pipes[0][0];
        p->out[1].fd = pipes[1][0];
        for (int i = 0; i < 2; i++)
            if (p->out[i].fd >= 0)
                fcntl(p->out[i].fd, F_SETFL, O_NONBLOCK);
        return 0;
    }
    if (!ok) { /* everything written so far is runc's message: the container never ran */
        fcntl(pipes[1][0], F_SETFL, O_NONBLOCK);
        ssize_t n = read(pipes[1][0], err, errcap - 1);
        err[n > 0 ? n : 0] = 0;
        err[strcspn(err, "\n")] = 0;
        if (!*err)
            snprintf(err, errcap, "runc %s exited with status %d", argv[3], WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    close(pipes[0][0]);
    close(pipes[1][0]);
    return ok ? 0 : -1;
}

static pid_t read_pid(const char *path)
{
    char buf[32] = "";
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = 0;
    return (pid_t)atoi(buf);
}

void procs_create(uint32_t stream, pb_reader *r)
{
    char cid[ID_MAX] = "", bundle[256] = "", pidfile[160], console[108], err[512];
    int want[4] = { 0, 0, 0, 0 };
    pb_field f;
    while (pb_next(r, &f) == 1) /* CreateContainerRequest: id=1, bundle=2, stdout=3, stderr=4, terminal=5, stdin=6 */
        if (f.num == 1) pb_copy_str(&f, cid, sizeof(cid));
        else if (f.num == 2) pb_copy_str(&f, bundle, sizeof(bundle));
        else if (f.num >= 3 && f.num <= 6) want[f.num - 3] = f.v != 0;
    if (!valid_id(cid, 0) || bundle[0] != '/') {
        reply_err(stream, ST_INVALID, "create needs a valid id and an absolute bundle path (\"%s\", \"%s\")", cid, bundle);
        return;
    }
    if (find(cid, "")) {
        reply_err(stream, ST_EXISTS, "container %s already exists", cid);
        return;
    }
    struct proc *p = add(cid, "");
    if (!p) {
        reply_err(stream, ST_INTERNAL, "too many processes");
        return;
    }
    p->want_out[0] = want[0];
    p->want_out[1] = want[1];
    p->terminal = want[2];
    p->want_in = want[3];
    snprintf(pidfile, sizeof(pidfile), "/run/kuasar/pids/%s.pid", cid);
    char *argv[] = { RUNC, "--root", "/run/runc", "create", "--no-pivot", "--bundle", bundle, "--pid-file", pidfile,
                     p->cid, NULL, NULL, NULL };
    if (stdio_prepare(p, console, sizeof(console), err, sizeof(err)) < 0
        || run_runc(stdio_console_argv(argv, 9, console), p, err, sizeof(err)) < 0) {
        drop(p);
        reply_err(stream, ST_INTERNAL, "runc create %s: %s", cid, err);
        return;
    }
    if (stdio_finish(p, err, sizeof(err)) < 0) {
        char *del[] = { RUNC, "--root", "/run/runc", "delete", "--force", p->cid, NULL };
        run_runc(del, NULL, pidfile, sizeof(pidfile));
        drop(p);
        reply_err(stream, ST_INTERNAL, "runc create %s: %s", cid, err);
        return;
    }
    p->pid = read_pid(pidfile);
    unlink(pidfile);
    reply_pid(stream, p->pid);
}

void procs_start(uint32_t stream, pb_reader *r)
{
    struct ref ref;
    char err[512], pidfile[200], spec[200];
    struct proc *p;
    if (parse_ref(stream, r, &ref) < 0 || !(p = lookup(stream, &ref)))
        return;
    if (p->started) {
        reply_pid(stream, p->pid);
        return;
    }
    if (!*p->eid) {
        char *argv[] = { RUNC, "--root", "/run/runc", "start", p->cid, NULL };
        if (run_runc(argv, NULL, err, sizeof(err)) < 0) {
            reply_err(stream, ST_INTERNAL, "runc start %s: %s", p->cid, err);
            return;
        }
    } else {
        snprintf(pidfile, sizeof(pidfile), "/run/kuasar/exec/%s.%s.pid", p->cid, p->eid);
        snprintf(spec, sizeof(spec), "/run/kuasar/exec/%s.%s.json", p->cid, p->eid);
        char console[108];
        char *argv[] = { RUNC, "--root", "/run/runc", "exec", "--detach", "--pid-file", pidfile, "--process", spec,
                         p->cid, NULL, NULL, NULL };
        if (stdio_prepare(p, console, sizeof(console), err, sizeof(err)) < 0
            || run_runc(stdio_console_argv(argv, 9, console), p, err, sizeof(err)) < 0
            || stdio_finish(p, err, sizeof(err)) < 0) {
            stdio_abort(p);
            reply_err(stream, ST_INTERNAL, "runc exec %s in %s: %s", p->eid, p->cid, err);
            return;
        }
        p->pid = read_pid(pidfile);
        unlink(pidfile);
        unlink(spec);
    }
    p->started = 1;
    reply_pid(stream, p->pid);
}

void procs_exec(uint32_t stream, pb_reader *r)
{
    struct ref ref;
    char spec[200];
    if (parse_ref(stream, r, &ref) < 0)
        return;
    if (!*ref.eid || !find(ref.cid, "")) {
        reply_err(stream, *ref.eid ? ST_NOT_FOUND : ST_INVALID, "exec needs an exec id and an existing container (%s)", ref.cid);
        return;
    }
    if (find(ref.cid, ref.eid)) {
        reply_err(stream, ST_EXISTS, "exec %s already exists in %s", ref.eid, ref.cid);
        return;
    }
    snprintf(spec, sizeof(spec), "/run/kuasar/exec/%s.%s.json", ref.cid, ref.eid);
    int fd = open(spec, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    struct proc *p = fd >= 0 ? add(ref.cid, ref.eid) : NULL;
    if (!p || write(fd, ref.bytes3.data, ref.bytes3.len) != (ssize_t)ref.bytes3.len) {
        if (p)
            drop(p);
        if (fd >= 0)
            close(fd);
        reply_err(stream, ST_INTERNAL, "cannot record exec %s: %s", ref.eid, strerror(errno));
        return;
    }
    close(fd);
    p->want_out[0] = ref.b4;
    p->want_out[1] = ref.b5;
    p->terminal = ref.b6;
    p->want_in = ref.b7;
    reply_ok(stream, NULL);
}

void procs_signal(uint32_t stream, pb_reader *r)
{
    struct ref ref;
    char sig[16], err[512];
    struct proc *p;
    if (parse_ref(stream, r, &ref) < 0 || !(p = lookup(stream, &ref)))
        return;
    if (p->exited) {
        reply_err(stream, ST_NOT_FOUND, "process %s/%s has already exited", p->cid, p->eid);
        return;
    }
    snprintf(sig, sizeof(sig), "%llu", (unsigned long long)ref.n3);
    if (*p->eid || !p->pid) {
        if (p->pid <= 0 || kill(p->pid, (int)ref.n3) < 0) {
            reply_err(stream, ST_NOT_FOUND, "cannot signal %s/%s: %s", p->cid, p->eid, strerror(errno));
            return;
        }
    } else {
        char *all[] = { RUNC, "--root", "/run/runc", "kill", "--all", p->cid, sig, NULL };
        char *one[] = { RUNC, "--root", "/run/runc", "kill", p->cid, sig, NULL };
        if (run_runc(ref.b4 ? all : one, NULL, err, sizeof(err)) < 0 && kill(p->pid, (int)ref.n3) < 0) {
            reply_err(stream, ST_INTERNAL, "runc kill %s: %s", p->cid, err);
            return;
        }
    }
    reply_ok(stream, NULL);
}

static void answer_waiters(struct proc *p)
{
    pb_buf b = {0};
    pb_put_u64(&b, 1, (uint64_t)p->status);
    if (p->oom)
        pb_put_u64(&b, 2, 1);
    if (p->waiters_gen == chan_generation())
        for (int i = 0; i < p->nwaiters; i++)
            reply_ok(p->waiters[i], &b);
    p->nwaiters = 0;
    pb_free(&b);
}

void procs_wait(uint32_t stream, pb_reader *r)
{
    struct ref ref;
    struct proc *p;
    if (parse_ref(stream, r, &ref) < 0 || !(p = lookup(stream, &ref)))
        return;
    if (p->waiters_gen != chan_generation())
        p->nwaiters = 0;
    if (p->nwaiters == MAX_WAITERS) {
        /* The oldest goes unanswered: when the agent misses a quick reconnect (no hangup seen), the calls parked
         * for the previous connection stay in this generation, and a host that reconnects often must not find
         * its new Wait refused because of them. A host holds one or two per process. */
        memmove(p->waiters, p->waiters + 1, (MAX_WAITERS - 1) * sizeof(p->waiters[0]));
        p->nwaiters--;
    }
    p->waiters_gen = chan_generation();
    p->waiters[p->nwaiters++] = stream;
    if (p->exited)
        answer_waiters(p);
}

void procs_delete(uint32_t stream, pb_reader *r)
{
    struct ref ref;
    char err[512];
    struct proc *p;
    if (parse_ref(stream, r, &ref) < 0 || !(p = lookup(stream, &ref)))
        return;
    if (!*p->eid) {
        char *argv[] = { RUNC, "--root", "/run/runc", "delete", "--force", p->cid, NULL };
        if (run_runc(argv, NULL, err, sizeof(err)) < 0 && !strstr(err, "does not exist")) {
            reply_err(stream, ST_INTERNAL, "runc delete %s: %s", p->cid, err);
            return;
        }
        for (int i = 0; i < MAX_PROCS; i++)
            if (procs[i].used && !strcmp(procs[i].cid, ref.cid))
                drop(&procs[i]);
    } else {
        drop(p);
    }
    reply_ok(stream, NULL);
}

void procs_reap(void)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        for (int i = 0; i < MAX_PROCS; i++) {
            struct proc *p = &procs[i];
            if (!p->used || p->pid != pid || p->exited)
                continue;
            p->exited = 1;
            p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            /* read now: runc delete removes the cgroup; the host tells containerd before the exit (OOMKilled) */
            p->oom = !*p->eid && p->status == 128 + SIGKILL && cgroup_oom_killed(p->cid);
            answer_waiters(p);
        }
    }
}

void procs_forget_parked(void)
{
    for (int i = 0; i < MAX_PROCS; i++) {
        procs[i].nwaiters = 0;
        procs[i].out[0].reader = procs[i].out[1].reader = 0;
    }
}
