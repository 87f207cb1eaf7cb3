package io.kuasar.host.admin;

import java.lang.reflect.InvocationTargetException;

/**
 * The {@code Main-Class} of the node jar ({@code host/kuasar.bndrun} sets it; bnd's export copies this package into
 * the jar's root). With an admin command ({@link AdminClient#handles}) it runs the {@link AdminClient} against a
 * running node and exits 0 or 1, without starting a framework; otherwise (no arguments, or arguments for the
 * launcher) it hands over to bnd's embedded launcher, which starts the node as before.
 */
public final class KuasarMain {
    /** bnd's embedded launcher (not a literal: bnd would read a Class.forName constant as a package import). */
    static final String LAUNCHER = String.join(".", "aQute", "launcher", "pre", "EmbeddedLauncher");

    private KuasarMain() {
    }

    public static void main(String[] args) throws Throwable {
        if (AdminClient.handles(args)) {
            System.exit(AdminClient.run(args, System.out, System.err, System.getenv()));
        }
        try {
            Class.forName(LAUNCHER).getMethod("main", String[].class).invoke(null, (Object) args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
