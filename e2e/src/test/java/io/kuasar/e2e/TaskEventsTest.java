package io.kuasar.e2e;

import static io.kuasar.e2e.CriClient.containerConfig;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.kuasar.api.cri.v1.ContainerState;
import io.kuasar.api.cri.v1.PodSandboxConfig;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The node forwards its task events to containerd: `ctr events` (containerd's own event stream, as any subscriber
 * sees it) shows /tasks/create, /tasks/start and /tasks/exit, with the exit status, for a Kuasar container.
 */
class TaskEventsTest extends CriTestBase {
    /** A `ctr events` line: date, time, zone offset, zone name, namespace, topic, the event as JSON. */
    private static final Pattern EVENT = Pattern.compile("^\\S+ \\S+ \\S+ \\S+ (\\S+) (/\\S+) (\\{.*})$");

    private record Event(String namespace, String topic, String json) {
        boolean about(String containerId) {
            return json.contains("\"container_id\":\"" + containerId + "\"");
        }
    }

    @Test
    void createStartAndExitWithItsStatusOfAKuasarContainerReachContainerdsEventStream()
            throws IOException, InterruptedException {
        Path out = logRoot.resolve("ctr-events.out");
        Process events = new ProcessBuilder(env.ctr().toString(), "--address", env.containerdSock().toString(), "events")
                .redirectErrorStream(true).redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        String probeNs = "e2e-probe-" + runTag;
        try {
            awaitSubscribed(events, out, probeNs);

            PodSandboxConfig pod = podConfig("events");
            String podId = runPod(pod, NodeEnv.KUASAR_HANDLER);
            String id = cri.runContainer(podId, pod, containerConfig("three", busybox(), "sh", "-c", "exit 3"));
            assertEquals(3, cri.waitForState(id, ContainerState.CONTAINER_EXITED, WAIT).getExitCode());

            List<Event> mine = await(out, l -> l.stream().anyMatch(e -> e.about(id) && e.topic().equals("/tasks/exit")))
                    .stream().filter(e -> e.about(id)).toList();
            List<String> topics = mine.stream().map(Event::topic).toList();
            int create = topics.indexOf("/tasks/create");
            int start = topics.indexOf("/tasks/start");
            int exit = topics.indexOf("/tasks/exit");
            assertTrue(create >= 0 && start > create && exit > start,
                    () -> "create, start, exit in this order among the container's events: " + topics);
            assertTrue(mine.stream().allMatch(e -> e.namespace().equals("k8s.io")), () -> "CRI's namespace: " + mine);
            Event exited = mine.get(exit);
            assertTrue(exited.json().contains("\"id\":\"" + id + "\""), () -> "the init process exited: " + exited);
            assertTrue(exited.json().contains("\"exit_status\":3,") || exited.json().contains("\"exit_status\":3}"),
                    () -> "exit_status 3 in " + exited);
            assertTrue(mine.get(start).json().matches(".*\"pid\":[1-9][0-9]*.*"), () -> "a pid in " + mine.get(start));
        } finally {
            events.destroy();
            if (!events.waitFor(5, TimeUnit.SECONDS)) {
                events.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
            ctr("namespaces", "remove", probeNs); // absent already is fine
        }
        assertFalse(events.isAlive(), "ctr events is still running");
    }

    /**
     * `ctr events` says nothing when it is subscribed, so make an event of our own (a namespace created in
     * containerd) until it shows up: only then can nothing of the container be missed.
     */
    private void awaitSubscribed(Process events, Path out, String probeNs) throws IOException, InterruptedException {
        for (int attempt = 0; attempt < 20; attempt++) {
            if (!events.isAlive()) {
                fail("ctr events exited with " + events.exitValue() + ": " + Files.readString(out));
            }
            ctr("namespaces", "create", probeNs);
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
            while (System.nanoTime() < end) {
                if (parse(out).stream().anyMatch(e -> e.topic().equals("/namespaces/create") && e.json().contains(probeNs))) {
                    return;
                }
                Thread.sleep(50);
            }
            ctr("namespaces", "remove", probeNs);
        }
        fail("ctr events never showed our probe event; it printed: " + Files.readString(out));
    }

    private List<Event> await(Path out, Predicate<List<Event>> done) throws IOException, InterruptedException {
        long end = System.nanoTime() + WAIT.toNanos();
        List<Event> seen = parse(out);
        while (!done.test(seen)) {
            if (System.nanoTime() > end) {
                fail("ctr events did not show what was awaited in " + WAIT + "; it printed:\n" + Files.readString(out));
            }
            Thread.sleep(100);
            seen = parse(out);
        }
        return seen;
    }

    private static List<Event> parse(Path out) throws IOException {
        return Files.readAllLines(out, StandardCharsets.UTF_8).stream().map(EVENT::matcher).filter(Matcher::matches)
                .map(m -> new Event(m.group(1), m.group(2), m.group(3))).toList();
    }

    /** Runs ctr against our containerd; returns its exit code. */
    private int ctr(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(env.ctr().toString(), "--address",
                env.containerdSock().toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("ctr " + String.join(" ", args) + " hangs");
        }
        return p.exitValue();
    }
}
