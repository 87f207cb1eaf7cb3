/* What the pod's containers share through the guest beyond its root namespaces: one /dev/shm, the pod's sysctls,
 * written in the guest's own network and IPC namespaces (the pod's), and, for a pod that shares its process
 * namespace, one PID namespace held by a small init of its own, so no container is that namespace's pid 1 and
 * orphans are reaped. */
#include "agent.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The pod's /dev/shm: one tmpfs every container binds (CRI's default size), as a pause container's would be. */
int pod_shm(char *err, size_t cap)
{
    struct stat dir, parent;
    mkdir(POD_SHM, 01777);
    if (stat(POD_SHM, &dir) == 0 && stat("/run/kuasar", &parent) == 0 && dir.st_dev != parent.st_dev)
        return 0; /* mounted by an earlier SetupSandbox: a tmpfs is a device of its own */
    if (mount("shm", POD_SHM, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") < 0) {
        snprintf(err, cap, "cannot mount the pod's /dev/shm: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes one "name=value" sysctl under /proc/sys; the host checked that it is namespaced. */
int pod_sysctl(const char *pair, char *err, size_t cap)
{
    const char *eq = strchr(pair, '=');
    char path[256];
    size_t n = eq ? (size_t)(eq - pair) : 0;
    if (!n || n > 200 || strstr(pair, "..") || memchr(pair, '/', n)) {
        snprintf(err, cap, "sysctl '%s' is not name=value", pair);
        return -1;
    }
    memcpy(path, "/proc/sys/", 10);
    for (size_t i = 0; i < n; i++)
        path[10 + i] = pair[i] == '.' ? '/' : pair[i];
    path[10 + n] = 0;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    const char *value = eq + 1;
    if (fd < 0 || write(fd, value, strlen(value)) < 0) {
        snprintf(err, cap, "sysctl %.*s=%s: %s", (int)n, pair, value, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

static void on_child(int sig)
{
    (void)sig; /* only wakes sigsuspend */
}

/* Pid 1 of the pod's PID namespace: reaps whatever ends up as its child, forever. */
static void __attribute__((noreturn)) hold_pid_namespace(void)
{
    for (int fd = 0; fd < 1024; fd++)
        close(fd); /* nothing of the agent's: its port, signalfd, output pipes */
    prctl(PR_SET_NAME, "kuasar-pod-pid");
    struct sigaction sa = { .sa_handler = on_child };
    sigaction(SIGCHLD, &sa, NULL);
    sigset_t chld, none;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &chld, NULL); /* no SIGCHLD lost between the reaping and the wait */
    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ;
        sigsuspend(&none);
    }
}

/* Makes the pod's PID namespace and binds it at POD_PIDNS, where the guest's container specs join it. */
int pod_pid_namespace(char *err, size_t cap)
{
    if (access(POD_PIDNS, F_OK) == 0)
        return 0; /* a repeated SetupSandbox: the namespace is there */
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        snprintf(err, cap, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t child = fork();
    if (child == 0) {
        /* unshare(CLONE_NEWPID) puts the next child into the new namespace, as its pid 1 */
        pid_t init = unshare(CLONE_NEWPID) < 0 ? -1 : fork();
        if (init == 0)
            hold_pid_namespace();
        if (write(pipefd[1], &init, sizeof(init)) < 0)
            _exit(1);
        _exit(init < 0); /* the init is left to the agent, which reaps it if it ever ends */
    }
    close(pipefd[1]);
    pid_t init = -1;
    if (child < 0 || read(pipefd[0], &init, sizeof(init)) != sizeof(init))
        init = -1;
    close(pipefd[0]);
    if (child > 0)
        waitpid(child, NULL, 0);
    char ns[64];
    snprintf(ns, sizeof(ns), "/proc/%d/ns/pid", (int)init);
    int fd = init > 0 ? open(POD_PIDNS, O_WRONLY | O_CREAT | O_CLOEXEC, 0400) : -1;
    if (fd >= 0)
        close(fd);
    if (init <= 0 || fd < 0 || mount(ns, POD_PIDNS, NULL, MS_BIND, NULL) < 0) {
        snprintf(err, cap, "cannot hold the pod's PID namespace: %s", strerror(errno));
        if (init > 0)
            kill(init, SIGKILL);
        return -1;
    }
    return 0;
}
