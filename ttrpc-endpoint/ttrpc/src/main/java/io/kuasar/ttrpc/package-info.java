/**
 * ttrpc for Java: a client ({@link io.kuasar.ttrpc.TtrpcClient}) and a server ({@link io.kuasar.ttrpc.TtrpcServer})
 * of containerd's ttrpc protocol (unary calls, protobuf payloads) on Unix sockets, Linux epoll only.
 *
 * <p>What users implement: {@link io.kuasar.ttrpc.MethodHandler} (one per served method), optionally
 * {@link io.kuasar.ttrpc.ConnectionListener} and {@link io.kuasar.ttrpc.SocketFiles.Binder}; everything else is
 * provided. Failures travel as {@link io.kuasar.ttrpc.TtrpcException} carrying a {@link io.kuasar.ttrpc.TtrpcStatus}.
 * The wire envelope (Request, Response, Status messages) and the frame codec are private to the bundle.
 *
 * <p>Threads: a server owns its event loop; a client runs on a group its caller owns
 * ({@link io.kuasar.ttrpc.TtrpcEventLoops#newGroup}), so no thread outlives the component that made it.
 *
 * <p>Versioned semantically and checked against a baseline by the build (ttrpc-endpoint/ttrpc/pom.xml).
 */
@Version("1.0.0")
@Export
package io.kuasar.ttrpc;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
