package io.kuasar.driver.runc.task;

import io.kuasar.driver.kit.Cgroups;
import io.kuasar.driver.kit.ContainerRecord;
import io.kuasar.driver.runc.pod.PersistedState;
import io.kuasar.spi.Mount;
import io.kuasar.spi.SandboxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A container of a sandbox: its bundle, rootfs mounts, init and exec processes (see {@link ContainerRecord}); this
 * class adds how the runc driver persists it.
 */
public final class Container extends ContainerRecord<Proc> {
    /** The spec's linux.cgroupsPath, read from the bundle when first needed (not persisted: the bundle is). */
    private String cgroupPath;
    /** The memory cgroup's OOM-kill count last seen, so each kill is reported once (see {@link RuncResources}). */
    private long oomKillsSeen;

    public Container(String id, Path bundle, List<Mount> rootfs, Proc init) {
        super(id, bundle, rootfs, init);
    }

    synchronized String cgroupPath() throws SandboxException {
        if (cgroupPath == null) {
            cgroupPath = Cgroups.cgroupsPath(bundle);
        }
        return cgroupPath;
    }

    /** Records {@code count} as seen; true when it is more than was seen before. */
    synchronized boolean newOomKills(long count) {
        boolean more = count > oomKillsSeen;
        oomKillsSeen = Math.max(oomKillsSeen, count);
        return more;
    }

    public PersistedState.Container persisted() {
        List<PersistedState.Process> ex = new ArrayList<>();
        for (Proc p : execs.values()) {
            ex.add(p.persisted());
        }
        return new PersistedState.Container(id, bundle.toString(), rootfs, rootfsMounted, paused, init.persisted(), ex);
    }

    public static Container restore(PersistedState.Container c) {
        Container k = new Container(c.id(), Path.of(c.bundle()), c.rootfs(), Proc.restore(c.init()));
        k.rootfsMounted = c.rootfsMounted();
        k.paused = c.paused();
        for (PersistedState.Process p : c.execs()) {
            k.execs.put(p.execId(), Proc.restore(p));
        }
        return k;
    }
}
