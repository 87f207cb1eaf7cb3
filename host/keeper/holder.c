/*
 * The holder: what keeps containerd's connections across `systemctl stop`, which on systemd before 254 (no
 * FileDescriptorStorePreserve=) closes a stopped service's file descriptor store. At a handover the keeper forks
 * it with the fds it stored. It stays in the service's cgroup, as the containers do (KillMode=process), gives the
 * fds once to the next keeper on DIR/holder.sock (SOCK_SEQPACKET: one message per fd, its name as the payload,
 * then an empty message), and exits. A restart finds the same fds in both places; the duplicates are closed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>

#include "keeper.h"

#define TAKE_TIMEOUT_S 5

static int holder_socket(const char *dir, struct sockaddr_un *sa) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/holder.sock", dir);
    if (unix_addr(path, sa) < 0) return -1;
    return socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
}

/* In the holder: every fd but stdio, the log and what it holds is the keeper's (its lock above all). */
static void close_all_but(const struct named_fd *fds, int n, int listen_fd) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        int fd = atoi(e->d_name), keep = e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d) || fd == listen_fd
                                         || fd == klog_fd();
        for (int i = 0; !keep && i < n; i++) keep = fds[i].fd == fd;
        if (!keep) close(fd);
    }
    closedir(d);
}

static int give(int conn, const struct named_fd *fds, int n) {
    for (int i = 0; i <= n; i++) {
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = {.iov_base = i < n ? (void *)fds[i].name : "", .iov_len = i < n ? strlen(fds[i].name) : 0};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (i < n) {
            memset(&control, 0, sizeof control);
            mh.msg_control = control.space;
            mh.msg_controllen = sizeof control.space;
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            *c = (struct cmsghdr){.cmsg_len = CMSG_LEN(sizeof(int)), .cmsg_level = SOL_SOCKET, .cmsg_type = SCM_RIGHTS};
            memcpy(CMSG_DATA(c), &fds[i].fd, sizeof(int));
        }
        if (sendmsg(conn, &mh, MSG_NOSIGNAL) < 0) return -1;
    }
    return 0;
}

void holder_start(const char *dir, const struct named_fd *fds, int n) {
    struct sockaddr_un sa;
    int s = n > 0 ? holder_socket(dir, &sa) : -1;
    if (s < 0) return;
    unlink(sa.sun_path);
    mode_t old = umask(0177);
    int ok = bind(s, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(s, 4) == 0;
    umask(old);
    pid_t pid = ok ? fork() : -1;
    if (pid != 0) { /* the keeper */
        if (pid < 0) klog("handover: no holder (%s): a stop may close containerd's connections", strerror(errno));
        else klog("handover: holder pid %d keeps %d fds for the next keeper", (int)pid, n);
        char text[32]; /* for the package's prerm, which ends a holder once the service is removed */
        int len = snprintf(text, sizeof text, "%d\n", (int)pid);
        if (pid > 0 && atomic_write(dir, "holder.pid", text, (size_t)len) < 0) klog("cannot write %s/holder.pid", dir);
        close(s);
        return;
    }
    sigset_t none; /* the keeper's signals are blocked for its signalfd: SIGTERM must end a holder */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGTERM, SIG_DFL);
    prctl(PR_SET_NAME, "kuasar-holder"); /* told apart from a keeper in ps, and by the prerm */
    close_all_but(fds, n, s);
    char pid_path[PATH_MAX];
    snprintf(pid_path, sizeof pid_path, "%s/holder.pid", dir);
    for (;;) {
        int conn = accept4(s, NULL, NULL, SOCK_CLOEXEC);
        if (conn < 0 && errno == EINTR) continue;
        if (conn < 0) _exit(1);
        int given = give(conn, fds, n) == 0;
        close(conn);
        if (given) { /* the next keeper has them */
            unlink(sa.sun_path);
            unlink(pid_path);
            _exit(0);
        }
    }
}

/* Appends to *fds what a holder keeps, but for names already there (their duplicate is closed). */
int holder_take(const char *dir, struct named_fd **fds, int *n) {
    struct sockaddr_un sa;
    int s = holder_socket(dir, &sa), taken = 0;
    struct timeval tv = {.tv_sec = TAKE_TIMEOUT_S};
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0
        || setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
        if (s >= 0) close(s);
        unlink(sa.sun_path); /* none, or a dead holder's */
        return 0;
    }
    for (;;) {
        char name[FDNAME_MAX + 1];
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(int))];
        } control;
        struct iovec iov = {.iov_base = name, .iov_len = sizeof name - 1};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
                            .msg_controllen = sizeof control.space};
        ssize_t len = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
        struct cmsghdr *c = len > 0 ? CMSG_FIRSTHDR(&mh) : NULL;
        if (len <= 0 || !c || c->cmsg_type != SCM_RIGHTS) break; /* the end, or a holder gone mid-way */
        int fd;
        memcpy(&fd, CMSG_DATA(c), sizeof fd);
        name[len] = 0;
        int known = 0;
        for (int i = 0; i < *n && !known; i++) known = strcmp((*fds)[i].name, name) == 0;
        struct named_fd *grown = known ? NULL : realloc(*fds, (size_t)(*n + 1) * sizeof **fds);
        if (!grown) {
            close(fd);
            continue;
        }
        *fds = grown;
        grown[*n].fd = fd;
        snprintf(grown[*n].name, sizeof grown[*n].name, "%s", name);
        (*n)++;
        taken++;
    }
    close(s);
    return taken;
}
