/* What PID 1 sets up before it serves: file systems runc needs, kernel modules, the pod share, the network. */
#include "agent.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SHARE_TAG "kshare"
#define SHARE_DIR "/run/kuasar/share"

void logmsg(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    dprintf(2, "kuasar-agent: %s\n", line);
}

uint64_t uptime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void mnt(const char *src, const char *dst, const char *type, unsigned long flags, const char *data)
{
    mkdir(dst, 0755);
    if (mount(src, dst, type, flags, data) < 0 && errno != EBUSY)
        logmsg("mount %s on %s: %s", type, dst, strerror(errno));
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (write(fd, text, strlen(text)) < 0)
        logmsg("write %s: %s", path, strerror(errno));
    close(fd);
}

/* runc in the guest needs cgroup2, a tmpfs /run, /dev with pts and shm (see FACTS). */
void boot_mounts(void)
{
    const unsigned long nosuid = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    mnt("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    int con = open("/dev/console", O_RDWR | O_CLOEXEC);
    if (con >= 0) { /* the kernel may have started us without a console in the initramfs */
        dup2(con, 0);
        dup2(con, 1);
        dup2(con, 2);
        close(con);
    }
    mnt("proc", "/proc", "proc", nosuid, NULL);
    mnt("sysfs", "/sys", "sysfs", nosuid, NULL);
    mnt("cgroup2", "/sys/fs/cgroup", "cgroup2", nosuid, NULL);
    mnt("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    mnt("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    mnt("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
    mnt("tmpfs", "/dev/shm", "tmpfs", nosuid, "mode=1777");
    mkdir("/run/kuasar", 0700);
    mkdir("/run/kuasar/exec", 0700);
    mkdir("/run/kuasar/pids", 0700);
    mkdir("/run/runc", 0700);
    /* containers get their cgroups under /kuasar, with the controllers Stats reads */
    write_file("/sys/fs/cgroup/cgroup.subtree_control", "+cpu +memory +pids");
    mkdir("/sys/fs/cgroup/kuasar", 0755);
    write_file("/sys/fs/cgroup/kuasar/cgroup.subtree_control", "+cpu +memory +pids");
}

/* The initramfs builder wrote the modules in dependency order, one path per line. */
void boot_modules(const char *list)
{
    FILE *f = fopen(list, "r");
    char path[256];
    if (!f)
        return;
    while (fgets(path, sizeof(path), f)) {
        path[strcspn(path, "\n")] = 0;
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST))
            logmsg("module %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
    }
    fclose(f);
}

/*
 * Mounted at SetupSandbox, not at boot: QEMU refuses to migrate (save a template) while a 9p export is mounted, and
 * a guest restored from a template gets its pod's share only then.
 */
int boot_share(void)
{
    static int mounted;
    if (mounted)
        return 0;
    mkdir(SHARE_DIR, 0700);
    /* cache=none: the host writes config.json and mounts rootfs while the guest runs */
    if (mount(SHARE_TAG, SHARE_DIR, "9p", 0, "trans=virtio,version=9p2000.L,msize=262144,cache=none") < 0) {
        logmsg("mount 9p %s: %s", SHARE_TAG, strerror(errno));
        return -1;
    }
    mounted = 1;
    return 0;
}

static int set_flags_up(int sock, const char *ifname)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
    if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
        return -1;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    return ioctl(sock, SIOCSIFFLAGS, &ifr);
}

void boot_loopback(void)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s >= 0) {
        if (set_flags_up(s, "lo") < 0)
            logmsg("lo up: %s", strerror(errno));
        close(s);
    }
}

/* busybox ip: a handful of calls once per pod, not worth a netlink client */
static int run_ip(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5, const char *a6)
{
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/busybox", "ip", a1, a2, a3, a4, a5, a6, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* The name of the interface whose MAC is mac (as sysfs prints it, lower case), in name; -1 if none has it. */
static int nic_by_mac(const char *mac, char *name, size_t cap)
{
    DIR *d = opendir("/sys/class/net");
    struct dirent *e;
    char path[300], addr[32];
    int found = -1;
    while (d && found < 0 && (e = readdir(d))) {
        snprintf(path, sizeof(path), "/sys/class/net/%s/address", e->d_name);
        FILE *f = e->d_name[0] == '.' ? NULL : fopen(path, "re");
        if (!f)
            continue;
        size_t len = strlen(e->d_name);
        if (len < cap && fgets(addr, sizeof(addr), f) && !strncasecmp(addr, mac, strlen(mac))
            && addr[strlen(mac)] == '\n') {
            memcpy(name, e->d_name, len + 1);
            found = 0;
        }
        fclose(f);
    }
    if (d)
        closedir(d);
    return found;
}

/*
 * The port-forward NIC: an address and nothing else. Its subnet's route is the only one through it, so nothing in
 * the pod can use it to go anywhere but QEMU's restricted user-mode network, which answers only forwarded connections.
 */
static int setup_forward_nic(uint32_t stream, const char *mac, const char *address)
{
    char nic[IFNAMSIZ + 1];
    if (nic_by_mac(mac, nic, sizeof(nic)) < 0) {
        reply_err(stream, ST_INVALID, "no network interface has the port-forward MAC %s", mac);
        return -1;
    }
    if (run_ip("addr", "add", address, "dev", nic, NULL) < 0 || run_ip("link", "set", nic, "up", NULL, NULL) < 0) {
        reply_err(stream, ST_INTERNAL, "cannot give %s the port-forward address %s", nic, address);
        return -1;
    }
    return 0;
}

/* Appends the repeated string field num of msg to out: "prefix a b c\n", or one "prefix a\n" line per item. */
static void append_list(char *out, size_t cap, const char *prefix, pb_reader msg, uint32_t num, int line_each)
{
    pb_field f;
    char item[256];
    int any = 0;
    while (pb_next(&msg, &f) == 1) {
        if (f.num != num || f.wire != 2)
            continue;
        pb_copy_str(&f, item, sizeof(item));
        size_t used = strlen(out);
        if (line_each)
            snprintf(out + used, cap - used, "%s%s\n", prefix, item);
        else
            snprintf(out + used, cap - used, "%s%s", any ? " " : prefix, item);
        any = 1;
    }
    if (any && !line_each && strlen(out) + 1 < cap)
        strcat(out, "\n");
}

/* The pod's /dev/shm, its sysctls (field 9, "name=value" each) and its shared PID namespace; replies the error. */
static int setup_pod_namespaces(uint32_t stream, pb_reader msg, int shared_pid)
{
    pb_field f;
    char pair[512], err[300];
    if (pod_shm(err, sizeof(err)) < 0) {
        reply_err(stream, ST_INTERNAL, "%s", err);
        return -1;
    }
    while (pb_next(&msg, &f) == 1) {
        if (f.num != 9 || f.wire != 2)
            continue;
        pb_copy_str(&f, pair, sizeof(pair));
        if (pod_sysctl(pair, err, sizeof(err)) < 0) {
            reply_err(stream, ST_INVALID, "%s", err);
            return -1;
        }
    }
    if (shared_pid && pod_pid_namespace(err, sizeof(err)) < 0) {
        reply_err(stream, ST_INTERNAL, "%s", err);
        return -1;
    }
    return 0;
}

void setup_sandbox(uint32_t stream, pb_reader *r)
{
    pb_reader all = *r;
    pb_field f;
    char hostname[65] = "", address[64] = "", gateway[64] = "", mac[32] = "", fwd_mac[32] = "", fwd_address[64] = "";
    uint64_t now_ms = 0;
    int shared_pid = 0;
    while (pb_next(r, &f) == 1) {
        if (f.num == 1) pb_copy_str(&f, hostname, sizeof(hostname));
        else if (f.num == 5) pb_copy_str(&f, address, sizeof(address));
        else if (f.num == 6) pb_copy_str(&f, gateway, sizeof(gateway));
        else if (f.num == 7) now_ms = f.v;
        else if (f.num == 8) pb_copy_str(&f, mac, sizeof(mac));
        else if (f.num == 10) shared_pid = f.v != 0;
        else if (f.num == 11) pb_copy_str(&f, fwd_mac, sizeof(fwd_mac));
        else if (f.num == 12) pb_copy_str(&f, fwd_address, sizeof(fwd_address));
    }
    if (now_ms) { /* a guest restored from a template keeps the template's clock otherwise */
        struct timespec ts = { (time_t)(now_ms / 1000), (long)(now_ms % 1000) * 1000000 };
        clock_settime(CLOCK_REALTIME, &ts);
    }
    if (boot_share() < 0) {
        reply_err(stream, ST_INTERNAL, "cannot mount the pod share (9p tag %s)", SHARE_TAG);
        return;
    }
    if (*hostname && sethostname(hostname, strlen(hostname)) < 0) {
        reply_err(stream, ST_INVALID, "hostname %s: %s", hostname, strerror(errno));
        return;
    }
    if (setup_pod_namespaces(stream, all, shared_pid) < 0)
        return;
    char resolv[2048] = "";
    append_list(resolv, sizeof(resolv), "nameserver ", all, 2, 1);
    append_list(resolv, sizeof(resolv), "search ", all, 3, 0);
    append_list(resolv, sizeof(resolv), "options ", all, 4, 0);
    mkdir("/etc", 0755);
    write_file("/etc/resolv.conf", resolv);
    if (*mac && run_ip("link", "set", "eth0", "address", mac, NULL) < 0) {
        reply_err(stream, ST_INTERNAL, "cannot give eth0 the MAC %s", mac);
        return;
    }
    if (*address) {
        if (run_ip("addr", "add", address, "dev", "eth0", NULL) < 0 || run_ip("link", "set", "eth0", "up", NULL, NULL) < 0) {
            reply_err(stream, ST_INTERNAL, "cannot give eth0 the address %s", address);
            return;
        }
        if (*gateway && run_ip("route", "add", "default", "via", gateway, NULL) < 0) {
            reply_err(stream, ST_INTERNAL, "cannot add the default route via %s", gateway);
            return;
        }
    }
    if (*fwd_mac && *fwd_address && setup_forward_nic(stream, fwd_mac, fwd_address) < 0)
        return;
    reply_ok(stream, NULL);
}
