package io.kuasar.host.admin;

import java.lang.reflect.InvocationTargetException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code Main-Class} of the node jar ({@code host/kuasar.bndrun} sets it; bnd's export copies this package into
 * the jar's root). With an admin command ({@link AdminClient#handles}) it runs the {@link AdminClient} against a
 * running node and exits 0 or 1, without starting a framework; otherwise (no arguments, or arguments for the
 * launcher) it first checks the node's directories and sockets ({@link NodeDirectories}: it refuses to start,
 * naming the path, exit code 78) and then hands over to bnd's embedded launcher, which starts the node.
 */
public final class KuasarMain {
    /** bnd's embedded launcher (not a literal: bnd would read a Class.forName constant as a package import). */
    static final String LAUNCHER = String.join(".", "aQute", "launcher", "pre", "EmbeddedLauncher");
    /** sysexits.h: a configuration error, here a node directory others could change or a socket another node serves. */
    static final int EX_CONFIG = 78;

    private KuasarMain() {
    }

    private static Map<String, String> settings() {
        Map<String, String> settings = new HashMap<>();
        System.getProperties().forEach((k, v) -> settings.put(String.valueOf(k), String.valueOf(v)));
        return settings;
    }

    public static void main(String[] args) throws Throwable {
        if (AdminClient.handles(args)) {
            System.exit(AdminClient.run(args, System.out, System.err, System.getenv()));
        }
        List<String> problems = NodeDirectories.problems(settings(), NodeDirectories.selfUid());
        if (!problems.isEmpty()) {
            problems.forEach(p -> System.err.println("kuasar: refusing to start: " + p));
            System.exit(EX_CONFIG);
        }
        try {
            Class.forName(LAUNCHER).getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
