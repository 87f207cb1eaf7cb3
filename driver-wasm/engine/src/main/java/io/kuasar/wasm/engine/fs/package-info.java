/**
 * A container's root directory as a driver prepares it before a WASI module runs in it: files looked up and mount
 * points made in the container's own view, the way runc resolves them (an absolute link in the image resolves
 * inside the root, ".." stops at the root), never on the host. Only java.* types cross this API.
 */
@Version("1.0.0")
@Export
package io.kuasar.wasm.engine.fs;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
