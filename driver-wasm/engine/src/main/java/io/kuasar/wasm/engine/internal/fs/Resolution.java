package io.kuasar.wasm.engine.internal.fs;

/**
 * How a confined file system resolves paths inside its root: {@code AUTO} is the kernel's openat2 unless the kernel
 * lacks it, then the component walk; tests force either to run everything through one of them.
 */
public enum Resolution { AUTO, OPENAT2, WALK }
