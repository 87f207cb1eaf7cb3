package io.kuasar.spi;

import java.util.List;

/** A mount as containerd describes it (e.g. the overlay of a container's rootfs). */
public record Mount(String type, String source, String target, List<String> options) {
    public Mount {
        options = options == null ? List.of() : List.copyOf(options);
        target = target == null ? "" : target;
    }
}
