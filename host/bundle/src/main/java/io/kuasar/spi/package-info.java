/**
 * The driver SPI: what an isolation technology implements to serve containerd's sandboxes on this host.
 *
 * <p>A driver is an OSGi Declarative Services component providing {@link io.kuasar.spi.SandboxDriver} with the
 * service property {@value io.kuasar.spi.SandboxDriver#SANDBOXER} naming the sandboxer(s) it serves (the
 * {@code sandboxer} of containerd's proxy plugin, e.g. {@code runc}). The host routes every sandbox Controller
 * request by its {@code sandboxer} field to that driver, and every Task API request arriving at a sandbox's task
 * address to {@link io.kuasar.spi.SandboxDriver#tasks(String)} of the driver that owns the sandbox.
 *
 * <p>Lifecycle: {@code create} records a sandbox (persisted under the driver's state dir, no processes yet);
 * {@code start} makes it runnable and says where its Task API is served; {@code stop} ends its containers;
 * {@code shutdown} removes everything it made; {@code exit} completes when the sandbox has stopped. When a driver
 * (re)starts, the host calls {@link io.kuasar.spi.SandboxDriver#recover()}, and the driver re-attaches to what it
 * persisted. Task events (create, start, exit, delete, exec, pause, resume, OOM) go to the
 * {@link io.kuasar.spi.TaskEvents} service, which the host forwards to containerd. A driver whose service also
 * implements {@link io.kuasar.spi.SandboxHandover} is upgraded one sandbox at a time instead: each sandbox is released
 * by the leaving instance and adopted by its successor, and the successor is not asked to recover.
 *
 * <p>How the four drivers map onto it:
 * <ul>
 * <li><b>runc</b>: namespaces without a pause process. {@code start} pins the pod's namespaces and returns no task
 * address, so the host serves the Task API at an address of its own and calls the driver's {@link
 * io.kuasar.spi.TaskService}, which drives {@code runc} directly; the host process reaps container processes.</li>
 * <li><b>vmm</b>: {@code start} boots a micro-VM whose init is the guest agent; the host still serves the Task API
 * and the driver's {@link io.kuasar.spi.TaskService} forwards each call to the agent over the VM's channel.</li>
 * <li><b>quark</b>: the app kernel serves the Task API itself; {@code start} returns
 * {@link io.kuasar.spi.SandboxStarted#taskAddress()} pointing at Quark's socket, containerd talks to it
 * directly and {@link io.kuasar.spi.SandboxDriver#tasks(String)} is never called for that sandbox.</li>
 * <li><b>wasm</b>: no OS process per container: the driver's {@link io.kuasar.spi.TaskService} runs modules
 * inside the host process (or as one engine process), pids are reported as 0 or the engine's.</li>
 * </ul>
 *
 * <p>Errors are {@link io.kuasar.spi.SandboxException}s carrying a gRPC-style code; the host turns them into the
 * gRPC or ttrpc status containerd sees.
 */
@Version("1.2.0")
@Export
package io.kuasar.spi;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
