package com.acme.kuasar;

import io.kuasar.spi.ExitStatus;
import io.kuasar.spi.SandboxDriver;
import io.kuasar.spi.SandboxException;
import io.kuasar.spi.SandboxSpec;
import io.kuasar.spi.SandboxStarted;
import io.kuasar.spi.SandboxStatus;
import io.kuasar.spi.TaskService;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.service.component.annotations.Component;

/**
 * A vendor's driver for sandboxer {@code acme}, built against the published SPI only. It runs nothing: it records
 * sandboxes in memory and tags every started one with the label {@code vendor=acme}, which the host hands back to
 * containerd in the Controller's Start response. Enough to prove the bundle plugs into a running node.
 */
@Component(service = SandboxDriver.class, property = SandboxDriver.SANDBOXER + "=acme")
public class AcmeDriver implements SandboxDriver {
    static final Map<String, String> LABELS = Map.of("vendor", "acme");

    private final Map<String, SandboxStatus> sandboxes = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<ExitStatus>> exits = new ConcurrentHashMap<>();

    @Override
    public SandboxStatus create(SandboxSpec spec) throws SandboxException {
        SandboxStatus created = new SandboxStatus(spec.id(), "acme", spec.namespace(), SandboxStatus.State.CREATED,
                0, Instant.now(), null, "", Map.of());
        SandboxStatus known = sandboxes.putIfAbsent(spec.id(), created);
        exits.putIfAbsent(spec.id(), new CompletableFuture<>());
        return known != null ? known : created;
    }

    @Override
    public SandboxStarted start(String sandboxId) throws SandboxException {
        SandboxStatus s = known(sandboxId);
        sandboxes.put(sandboxId, new SandboxStatus(s.id(), s.sandboxer(), s.namespace(), SandboxStatus.State.READY,
                0, s.createdAt(), null, "", LABELS));
        return new SandboxStarted(0, s.createdAt(), "", 3, LABELS);
    }

    @Override
    public void stop(String sandboxId, Duration timeout) throws SandboxException {
        SandboxStatus s = known(sandboxId);
        Instant now = Instant.now();
        sandboxes.put(sandboxId, new SandboxStatus(s.id(), s.sandboxer(), s.namespace(), SandboxStatus.State.NOTREADY,
                0, s.createdAt(), now, "", s.info()));
        exits.get(sandboxId).complete(new ExitStatus(0, 0, now));
    }

    @Override
    public CompletionStage<ExitStatus> exit(String sandboxId) throws SandboxException {
        known(sandboxId);
        return exits.get(sandboxId);
    }

    @Override
    public SandboxStatus status(String sandboxId, boolean verbose) throws SandboxException {
        return known(sandboxId);
    }

    @Override
    public void shutdown(String sandboxId) throws SandboxException {
        known(sandboxId);
        sandboxes.remove(sandboxId);
        CompletableFuture<ExitStatus> exit = exits.remove(sandboxId);
        exit.complete(new ExitStatus(0, 0, Instant.now()));
    }

    @Override
    public TaskService tasks(String sandboxId) throws SandboxException {
        known(sandboxId);
        throw SandboxException.unimplemented("acme sandboxes run no containers");
    }

    @Override
    public Collection<SandboxStatus> recover() {
        return List.copyOf(sandboxes.values());
    }

    private SandboxStatus known(String sandboxId) throws SandboxException {
        SandboxStatus s = sandboxes.get(sandboxId);
        if (s == null) {
            throw SandboxException.notFound("acme sandbox", sandboxId);
        }
        return s;
    }
}
