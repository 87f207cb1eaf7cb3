/*
 * kuasar-agent: the init of a Kuasar micro-VM. As PID 1 it mounts what runc needs, loads the virtio and 9p modules,
 * mounts the pod's share, then serves kuasar.agent.v1.Agent (agent.proto in driver-vmm) over the virtio-serial port
 * "kuasar.agent" until the VM is switched off. One thread, one poll loop: requests from the host, SIGCHLD, and the
 * output pipes of the containers. Calls that wait (Wait, ReadOutput) are parked and answered from the loop.
 */
#include "agent.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define MODULE_LIST "/etc/kuasar/modules"
#define HANGUP_RETRY_MS 20

static void ping(uint32_t stream)
{
    pb_buf b = {0};
    pb_put_str(&b, 1, AGENT_VERSION);
    pb_put_u64(&b, 2, uptime_ms());
    reply_ok(stream, &b);
    pb_free(&b);
}

void dispatch(uint32_t stream, const char *method, const uint8_t *payload, size_t len)
{
    pb_reader r = { payload, payload + len };
    if (!strcmp(method, "Ping")) ping(stream);
    else if (!strcmp(method, "SetupSandbox")) setup_sandbox(stream, &r);
    else if (!strcmp(method, "CreateContainer")) procs_create(stream, &r);
    else if (!strcmp(method, "Start")) { procs_start(stream, &r); ports_hurry(); }
    else if (!strcmp(method, "Exec")) { procs_exec(stream, &r); ports_hurry(); }
    else if (!strcmp(method, "Signal")) procs_signal(stream, &r);
    else if (!strcmp(method, "Wait")) procs_wait(stream, &r);
    else if (!strcmp(method, "ReadOutput")) procs_read_output(stream, &r);
    else if (!strcmp(method, "CloseStdin")) procs_close_stdin(stream, &r);
    else if (!strcmp(method, "Delete")) procs_delete(stream, &r);
    else if (!strcmp(method, "Update")) procs_update(stream, &r);
    else if (!strcmp(method, "WriteStdin")) procs_write_stdin(stream, &r);
    else if (!strcmp(method, "ResizePty")) procs_resize_pty(stream, &r);
    else if (!strcmp(method, "Pause")) procs_pause(stream, &r, 1);
    else if (!strcmp(method, "Resume")) procs_pause(stream, &r, 0);
    else if (!strcmp(method, "Stats")) cgroup_stats(stream, &r);
    else if (!strcmp(method, "Pids")) cgroup_pids(stream, &r);
    else if (!strcmp(method, "WatchPorts")) ports_watch(stream, &r);
    else reply_err(stream, ST_UNIMPLEMENTED, "method %s is not served by the kuasar agent", method);
}

static int open_port_retrying(void)
{
    /* the port's device appears once virtio_console has probed; it is normally there at once */
    for (int i = 0; i < 500; i++) {
        if (chan_open() >= 0)
            return 0;
        usleep(10000);
    }
    return -1;
}

static void serve(int sigfd)
{
    struct pollfd fds[2 + 2 * MAX_PROCS];
    int connected = 1;
    for (;;) {
        int n = 0;
        fds[n++] = (struct pollfd){ .fd = sigfd, .events = POLLIN };
        fds[n++] = (struct pollfd){ .fd = chan_fd(), .events = POLLIN };
        int first_out = n;
        n += procs_poll_fds(fds + n, (int)(sizeof(fds) / sizeof(fds[0])) - n);
        if (poll(fds, (nfds_t)n, ports_poll_timeout()) < 0) {
            if (errno != EINTR)
                usleep(10000);
            continue;
        }
        ports_tick();
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            while (read(sigfd, &si, sizeof(si)) == sizeof(si))
                ;
            procs_reap();
        }
        /*
         * The port is always read when it has data, so the guest's buffers never fill and QEMU keeps reading its
         * socket (it notices a host's close only by reading). Without a host the port reports a level-triggered
         * hangup: note it once, then nap between polls instead of spinning.
         */
        if (fds[1].revents & (POLLHUP | POLLERR)) {
            chan_discard(); /* whatever is left was sent by the host that went away */
            if (connected)
                chan_on_hangup();
            connected = 0;
        } else if (fds[1].revents & POLLIN) {
            connected = 1;
            chan_on_readable();
        }
        for (int i = first_out; i < n; i++)
            if (fds[i].revents)
                procs_on_output(fds[i].fd, fds[i].revents);
        if (!connected)
            usleep(HANGUP_RETRY_MS * 1000);
    }
}

int main(void)
{
    int init = getpid() == 1;
    if (init) {
        boot_mounts();
        boot_modules(MODULE_LIST);
    }
    signal(SIGPIPE, SIG_IGN);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    int sigfd = signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
    boot_loopback();
    if (open_port_retrying() < 0) {
        logmsg("no virtio-serial port named kuasar.agent");
    } else {
        logmsg("ready in %llu ms", (unsigned long long)uptime_ms());
        serve(sigfd);
    }
    for (;;) /* PID 1 must not exit: the kernel would panic and the host would see a crash, not a message */
        pause();
}
