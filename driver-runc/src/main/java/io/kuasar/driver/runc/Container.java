package io.kuasar.driver.runc;

import io.kuasar.spi.Mount;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A container of a sandbox: its bundle, rootfs mounts, init and exec processes. {@link #ops} serialises the
 * lifecycle calls on this container (each runs runc); other containers of the pod proceed in parallel, and the
 * exit watcher never takes it.
 */
final class Container {
    final String id;
    final Path bundle;
    final List<Mount> rootfs;
    final Proc init;
    final Map<String, Proc> execs = new ConcurrentHashMap<>();
    final ReentrantLock ops = new ReentrantLock();
    volatile boolean rootfsMounted;
    volatile boolean paused;

    Container(String id, Path bundle, List<Mount> rootfs, Proc init) {
        this.id = id;
        this.bundle = bundle;
        this.rootfs = List.copyOf(rootfs);
        this.init = init;
    }

    Path rootfsDir() {
        return bundle.resolve("rootfs");
    }

    PersistedState.Container persisted() {
        List<PersistedState.Process> ex = new ArrayList<>();
        for (Proc p : execs.values()) {
            ex.add(p.persisted());
        }
        return new PersistedState.Container(id, bundle.toString(), rootfs, rootfsMounted, paused, init.persisted(), ex);
    }

    static Container restore(PersistedState.Container c) {
        Container k = new Container(c.id(), Path.of(c.bundle()), c.rootfs(), Proc.restore(c.init()));
        k.rootfsMounted = c.rootfsMounted();
        k.paused = c.paused();
        for (PersistedState.Process p : c.execs()) {
            k.execs.put(p.execId(), Proc.restore(p));
        }
        return k;
    }
}
