/**
 * Terminals for drivers whose OCI runtime runs processes on a pty (runc, runsc): the console socket the runtime sends
 * the pty master to, or a pty made here for a process the driver starts itself; the JVM-side copying between the
 * master and containerd's FIFOs, window resizing, and a holder process that keeps the terminal open across a
 * restart of the node. Part of the driver kit, not of the SPI; versioned on its own.
 */
@Version("1.1.0")
@Export
package io.kuasar.driver.kit.tty;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
