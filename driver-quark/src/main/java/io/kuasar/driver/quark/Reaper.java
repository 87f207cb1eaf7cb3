package io.kuasar.driver.quark;

import io.kuasar.driver.kit.DaemonThreads;
import io.kuasar.driver.kit.ProcStat;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.Out;

/**
 * Reaps what runsc leaves behind. runsc forks the sandbox and one gofer per container and exits; the sandbox forks
 * its platform's stub processes. When they end, the kernel re-parents them to the nearest child subreaper, which is
 * this JVM whenever the runc driver is active (it makes the whole process a subreaper). Java reaps only what it
 * spawned, so they would stay zombies, and runsc delete, which waits for a container's gofer to be gone, would
 * time out on the zombie.
 *
 * <p>A zombie has no command line left, so processes are recognised by their session: the sandbox and each gofer
 * lead a session of their own (runsc calls setsid), and their descendants stay in it. The reaper learns a pod's
 * sessions while its processes are alive (their command line names the pod's private runsc root), and reaps only
 * zombie children of this JVM in those sessions whose name is runsc's ({@code exe}). A session id cannot be reused
 * while any process still carries it, and a session is forgotten once none does.
 */
final class Reaper implements AutoCloseable {
    /** waitpid(2), bound by jnr-ffi. */
    public interface LibC {
        int waitpid(int pid, @Out int[] status, int options);
    }

    private static final int WNOHANG = 1;
    /** How soon after a re-adoption its sweep runs. */
    private static final Duration SOON = Duration.ofMillis(300);
    /** runsc re-executes /proc/self/exe, so all its processes are named so. */
    private static final String RUNSC_COMM = "exe";

    private final LibC libc = LibraryLoader.create(LibC.class).failImmediately().load("c");
    private final Set<Long> sessions = ConcurrentHashMap.newKeySet();
    private final Set<String> markers = ConcurrentHashMap.newKeySet();
    private final long self = ProcessHandle.current().pid();
    /** This JVM's session, never tracked: runsc helpers the JVM spawns itself (wait, exec) share it. */
    private final long ownSession = ProcStat.of(self).session();
    private final AtomicBoolean sweepQueued = new AtomicBoolean();
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            DaemonThreads.named("kuasar-runsc-reaper"));

    Reaper() {
        timer.scheduleWithFixedDelay(this::sweep, 1, 1, TimeUnit.SECONDS);
    }

    /**
     * Learns the sessions of the live processes whose command line contains {@code marker} and of all their
     * descendants (the sandbox's platform stubs have no command line of their own, but are its children); keeps
     * the marker to learn new descendants at every sweep, until {@link #forget}. Returns the sessions found.
     */
    List<Long> adopt(String marker) {
        markers.add(marker);
        return learn(ProcStat.all(), Set.of(marker));
    }

    /** Stops learning sessions for {@code marker} (its pod is gone); sessions already learnt are still reaped. */
    void forget(String marker) {
        markers.remove(marker);
    }

    /**
     * Lets a successor's reaper take over a pod: stops learning sessions for {@code marker} and tracking the pod's
     * {@code sessions} (the pod's record holds every session its processes lead); their zombies are the successor's
     * to reap. Not synchronized with {@link #sweep}: a sweep reads all of /proc, hundreds of ms on a loaded machine,
     * which the pod's calls would wait for. A sweep under way may learn the sessions once more and reap a zombie of
     * them before this instance goes, which is what the successor's reaper does with it; no exit is read from it.
     */
    void release(String marker, Collection<Long> sessions) {
        markers.remove(marker);
        this.sessions.removeAll(sessions);
    }

    private List<Long> learn(List<ProcStat> all, Set<String> wanted) {
        Set<Long> family = new HashSet<>();
        for (ProcStat s : all) {
            String cmd = String.join(" ", ProcStat.cmdline(s.pid())); // a marker may span arguments
            if (wanted.stream().anyMatch(cmd::contains)) {
                family.add(s.pid());
            }
        }
        boolean grew = !family.isEmpty();
        while (grew) {
            grew = false;
            for (ProcStat s : all) {
                if (!family.contains(s.pid()) && family.contains(s.ppid())) {
                    family.add(s.pid());
                    grew = true;
                }
            }
        }
        List<Long> found = new ArrayList<>();
        for (ProcStat s : all) {
            if (family.contains(s.pid()) && s.session() != ownSession && !found.contains(s.session())) {
                found.add(s.session());
            }
        }
        sessions.addAll(found);
        return found;
    }

    /** Runs {@code action} while sweeping often: runsc delete waits for the zombies it made to be reaped. */
    <T, E extends Exception> T sweepingWhile(Action<T, E> action) throws E {
        java.util.concurrent.ScheduledFuture<?> often = timer.scheduleWithFixedDelay(this::sweep, 20, 50,
                TimeUnit.MILLISECONDS);
        try {
            return action.run();
        } finally {
            often.cancel(false);
        }
    }

    /** A call that may fail with a checked exception. */
    interface Action<T, E extends Exception> {
        T run() throws E;
    }

    /** Tracks the session led by {@code leader} (a gofer or sandbox runsc reported), if it still exists. */
    List<Long> adoptLeader(long leader) {
        ProcStat s = leader > 0 ? ProcStat.of(leader) : null;
        if (s == null || s.session() != leader || s.session() == ownSession) {
            return List.of();
        }
        sessions.add(leader);
        return List.of(leader);
    }

    /**
     * Tracks sessions recorded before a driver restart; the next sweep, soon, forgets those no process carries any
     * more. No pass over /proc here: a recovery calls this for every pod (it was one pass per pod, most of a
     * recovery's time with ten pods).
     */
    void readopt(Collection<Long> recorded) {
        recorded.stream().filter(sid -> sid != ownSession).forEach(sessions::add);
        sweepSoon();
    }

    /** {@link #adopt} without its pass over /proc: the sweep that follows soon learns the sessions, for all pods at once. */
    void adoptSoon(String marker) {
        markers.add(marker);
        sweepSoon();
    }

    /**
     * One sweep shortly after, for every pod re-adopted meanwhile: a recovery re-adopts all pods at once, a handover
     * one at a time some ms apart, and each sweep reads all of /proc (tens of ms, on the CPUs the handover needs).
     */
    private void sweepSoon() {
        if (sweepQueued.compareAndSet(false, true)) {
            try {
                timer.schedule(() -> {
                    sweepQueued.set(false);
                    sweep();
                }, SOON.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                sweepQueued.set(false); // closed: this instance is going, the next one adopts again
            }
        }
    }

    /** Reaps the zombies of tracked sessions; forgets sessions no process carries any more. */
    synchronized void sweep() {
        if (sessions.isEmpty() && markers.isEmpty()) {
            return;
        }
        List<ProcStat> all = ProcStat.all();
        if (!markers.isEmpty()) {
            learn(all, Set.copyOf(markers));
        }
        int[] status = new int[1];
        Set<Long> live = new HashSet<>();
        for (ProcStat s : all) {
            if (!sessions.contains(s.session())) {
                continue;
            }
            if (s.state() == 'Z' && s.ppid() == self && s.comm().equals(RUNSC_COMM)
                    && libc.waitpid((int) s.pid(), status, WNOHANG) == s.pid()) {
                continue; // reaped
            }
            live.add(s.session());
        }
        sessions.retainAll(live);
    }

    /**
     * SIGKILLs every live process of {@code sessionIds} (never this JVM's own session): what runsc delete left, when
     * it no longer knew the sandbox because a crashed JVM was cut off half-way through deleting it.
     */
    void kill(Collection<Long> sessionIds) {
        for (ProcStat s : ProcStat.all()) {
            if (sessionIds.contains(s.session()) && s.session() != ownSession && !s.zombie()) {
                ProcessHandle.of(s.pid()).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    /** Sweeps until no process of {@code sessionIds} is left; false when some remain after {@code timeout}. */
    boolean awaitGone(Collection<Long> sessionIds, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            sweep();
            boolean any = false;
            for (ProcStat s : ProcStat.all()) {
                any |= sessionIds.contains(s.session());
            }
            if (!any) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
