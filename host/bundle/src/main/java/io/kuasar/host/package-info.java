/**
 * The host's routing API, used by the endpoint bundle: every containerd Controller request is routed by its
 * {@code sandboxer} to the {@link io.kuasar.spi.SandboxDriver} serving it, every Task request by its sandbox to
 * the driver that owns the sandbox. Drivers never see this package; the endpoint never sees a driver.
 */
@Version("2.2.0")
@Export
package io.kuasar.host;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
