package io.kuasar.host.internal;

import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.hooks.resolver.ResolverHook;
import org.osgi.framework.hooks.resolver.ResolverHookFactory;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleRequirement;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The last gate for code that reaches the node past its own commands: the Felix shell's {@code felix:install} and
 * {@code felix:update}, or any bundle calling {@code installBundle}. Felix itself verifies no signature, so such a
 * bundle is installed whatever it holds; this resolver hook, the framework's own veto point, keeps it from resolving
 * unless its content passes {@link TrustedBundles#refusal}. A bundle that does not resolve loads no class: none of
 * its code runs, and it stays INSTALLED for the operator to see and uninstall.
 *
 * <p>Judged: every bundle installed or updated after the node started (its id or its last modification is newer).
 * The node's own bundles were there before; the commands' installs pass here too, having passed the same checks.
 */
@Component(service = ResolverHookFactory.class, immediate = true) // at node start: what came before is the node's
public class ResolveGate implements ResolverHookFactory {
    private static final Logger LOG = System.getLogger(ResolveGate.class.getName());

    private record Revision(long bundleId, long lastModified) {
    }

    private final TrustedBundles trusted;
    private final long firstNewId;
    private final long startedAt = System.currentTimeMillis();
    /** Verdict per bundle revision: "" when it may resolve, else why not. */
    private final Map<Revision, String> verdicts = new ConcurrentHashMap<>();

    @Activate
    public ResolveGate(@Reference TrustedBundles trusted, BundleContext context) {
        this.trusted = trusted;
        long max = 0;
        for (Bundle b : context.getBundles()) {
            max = Math.max(max, b.getBundleId());
        }
        this.firstNewId = max + 1;
    }

    @Override
    public ResolverHook begin(Collection<BundleRevision> triggers) {
        return new ResolverHook() {
            @Override
            public void filterResolvable(Collection<BundleRevision> candidates) {
                candidates.removeIf(r -> !mayResolve(r.getBundle()));
            }

            @Override
            public void filterSingletonCollisions(BundleCapability singleton, Collection<BundleCapability> others) {
            }

            @Override
            public void filterMatches(BundleRequirement requirement, Collection<BundleCapability> candidates) {
            }

            @Override
            public void end() {
            }
        };
    }

    boolean mayResolve(Bundle b) {
        if (b.getBundleId() < firstNewId && b.getLastModified() < startedAt) {
            return true; // the node's own, or installed through its checks before this start
        }
        String verdict = verdicts.computeIfAbsent(new Revision(b.getBundleId(), b.getLastModified()), k -> {
            String why;
            try {
                why = trusted.refusal(b);
            } catch (IOException | RuntimeException e) {
                why = "its content cannot be read to check it (" + e + ")";
            }
            if (why != null) {
                LOG.log(Level.WARNING, "bundle {0} {1} (id {2}, from {3}) is not resolved: {4}; none of its code runs."
                        + " Install drivers with the node''s install command or drop-in folder, which check them",
                        b.getSymbolicName(), b.getVersion(), b.getBundleId(), b.getLocation(), why);
            }
            return why == null ? "" : why;
        });
        return verdict.isEmpty();
    }
}
