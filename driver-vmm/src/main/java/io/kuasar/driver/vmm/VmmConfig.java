package io.kuasar.driver.vmm;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/** The vmm driver's settings (ConfigAdmin pid {@code io.kuasar.driver.vmm}); see {@link VmmSettings}. */
@ObjectClassDefinition(name = "Kuasar vmm sandboxer", pid = "io.kuasar.driver.vmm")
public @interface VmmConfig {
    @AttributeDefinition(description = "QEMU executable")
    String qemu_binary() default "qemu-system-x86_64";

    @AttributeDefinition(description = "Guest image dir (vmlinuz, initrd.img); empty: -Dkuasar.vmm.image.dir,"
            + " else $KUASAR_CACHE/vmm/guest")
    String image_dir() default "";

    @AttributeDefinition(description = "auto (probe KVM by booting, else TCG), kvm or tcg")
    String accel() default "auto";

    int default_vcpus() default 1;

    int max_vcpus() default 4;

    int default_memory_mb() default 256;

    int max_memory_mb() default 4096;

    @AttributeDefinition(description = "Seconds a guest may take to boot to its agent (TCG on a busy host is slow)")
    long boot_timeout_seconds() default 60;

    long stop_timeout_seconds() default 5;

    @AttributeDefinition(description = "Give the guest the pod's CNI interface (tap + tc redirect)")
    boolean network() default true;

    @AttributeDefinition(description = "Start pods of the default size from a saved template VM (built once per"
            + " guest image in the background); pods boot cold until it is ready, or when it cannot be used")
    boolean template() default true;
}
