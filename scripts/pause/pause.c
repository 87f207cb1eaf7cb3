/*
 * Minimal pod "pause" process for the kuasar test images.
 * Holds the pod's namespaces, reaps orphans re-parented to it (it is PID 1 when the pod shares
 * a PID namespace), and exits 0 on SIGINT/SIGTERM so a pod stop is quick and clean.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_term(int sig) { (void)sig; _exit(0); }

static void on_child(int sig)
{
	(void)sig;
	/* Collect every exited child: signals coalesce, so one SIGCHLD may stand for several. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void handle(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) < 0) {
		perror("pause: sigaction");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		puts("kuasar-pause 1.0");
		return 0;
	}
	if (getpid() != 1)
		fputs("pause: warning: not PID 1\n", stderr);
	handle(SIGINT, on_term, 0);
	handle(SIGTERM, on_term, 0);
	handle(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART);
	for (;;)
		pause();
}
