package io.kuasar.ttrpc;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The server's dispatch table: service name, then method name, to handler. Safe for concurrent use. */
final class MethodRegistry {
    private final Map<String, Map<String, MethodHandler>> services = new ConcurrentHashMap<>();

    void register(String service, String method, MethodHandler handler) {
        if (service == null || service.isEmpty() || method == null || method.isEmpty() || handler == null) {
            throw new IllegalArgumentException("service, method and handler are required");
        }
        MethodHandler previous = services.computeIfAbsent(service, s -> new ConcurrentHashMap<>())
                .putIfAbsent(method, handler);
        if (previous != null) {
            throw new IllegalStateException("a handler for " + service + "/" + method + " is already registered");
        }
    }

    /** The methods of {@code service} that have a handler (none for a service never registered). */
    java.util.Set<String> methods(String service) {
        Map<String, MethodHandler> methods = services.get(service);
        return methods == null ? java.util.Set.of() : java.util.Set.copyOf(methods.keySet());
    }

    /** The handler, or UNIMPLEMENTED naming what is missing (Go's ttrpc says the same, in other words). */
    MethodHandler lookup(String service, String method) throws TtrpcException {
        Map<String, MethodHandler> methods = services.get(service);
        if (methods == null) {
            throw new TtrpcException(TtrpcCode.UNIMPLEMENTED, "service " + service + " is not implemented");
        }
        MethodHandler handler = methods.get(method);
        if (handler == null) {
            throw new TtrpcException(TtrpcCode.UNIMPLEMENTED,
                    "method " + method + " of service " + service + " is not implemented");
        }
        return handler;
    }
}
