/**
 * Helpers for driver authors: code that several drivers need in exactly the same form (running a helper command,
 * turning containerd's stdio strings into process redirects, replacing a state file atomically, the record of a
 * container and its processes, the table of a driver's pods with containerd's lifecycle rules, and {@link PodDriver},
 * a driver built on that table, and what CRI gives only its own pause pods: the pod's hostname, hosts and
 * resolv.conf files, its sysctls). Drivers never import each other, so what they share lives here.
 *
 * <p>This is a helper library, <b>not part of the driver SPI</b> ({@code io.kuasar.spi}): the host neither needs nor
 * knows it, and a driver is free not to use it. It is versioned on its own; a driver imports it with the usual
 * {@code [MAJOR.0,MAJOR+1)} range.
 */
@Version("1.13.0")
@Export
package io.kuasar.driver.kit;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
