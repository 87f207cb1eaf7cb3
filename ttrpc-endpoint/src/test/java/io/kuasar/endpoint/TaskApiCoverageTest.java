package io.kuasar.endpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Descriptors.MethodDescriptor;
import io.kuasar.api.containerd.task.v3.ShimV3Proto;
import io.kuasar.spi.TaskService;
import io.kuasar.ttrpc.TtrpcServer;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * No silent UNIMPLEMENTED on the endpoint's side: every RPC of containerd's Task service is registered, on both API
 * versions, and every method of the SPI's {@link TaskService} is reached by one of them. A Task RPC added to the SPI
 * but not to {@link TaskApi} fails here, not in a user's cluster.
 */
class TaskApiCoverageTest {
    @Test
    void everyTaskRpcOfContainerdIsRegisteredAndEverySpiMethodHasOne() {
        Set<String> rpcs = ShimV3Proto.getDescriptor().findServiceByName("Task").getMethods().stream()
                .map(MethodDescriptor::getName).collect(Collectors.toCollection(TreeSet::new));
        TtrpcServer server = new TtrpcServer(Executors.newSingleThreadExecutor());
        try {
            new TaskApi(null, null, new HaltPoints(null)).registerOn(server);
            for (String service : TaskApi.SERVICES) {
                assertEquals(rpcs, new TreeSet<>(server.methods(service)), "registered methods of " + service);
            }
        } finally {
            server.close();
        }
        for (Method m : TaskService.class.getMethods()) {
            if (Modifier.isStatic(m.getModifiers())) {
                continue;
            }
            String rpc = m.getName().equals("waitFor") ? "Wait"
                    : Character.toUpperCase(m.getName().charAt(0)) + m.getName().substring(1);
            assertTrue(rpcs.contains(rpc), () -> "TaskService." + m.getName() + " has no Task RPC " + rpc);
        }
    }
}
