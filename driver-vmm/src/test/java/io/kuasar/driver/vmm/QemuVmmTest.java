package io.kuasar.driver.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class QemuVmmTest {
    private static Vmm.VmConfig config(String accel, Vmm.MemoryFile memory) {
        return new Vmm.VmConfig("p1", Path.of("/run/vm/p1"), Path.of("/img/vmlinuz"), Path.of("/img/initrd"), 1, 256,
                accel, Path.of("/run/vm/p1/share"), "", "", "", memory, false);
    }

    private static String after(List<String> argv, String option) {
        return argv.get(argv.indexOf(option) + 1);
    }

    /** Under TCG the translation cache is capped: QEMU's 1 GiB default outgrew the pod's cgroup after a few execs. */
    @Test
    void tcgCapsItsTranslationCacheAndKvmNeedsNone() {
        QemuVmm qemu = new QemuVmm("qemu-system-x86_64");
        List<String> tcg = qemu.commandLine(config("tcg", null));
        assertEquals("tcg,tb-size=" + QemuVmm.TCG_TRANSLATION_CACHE_MB, after(tcg, "-accel"));
        assertEquals("pc", after(tcg, "-machine"));
        assertEquals("kvm", after(qemu.commandLine(config("kvm", null)), "-accel"));
        assertTrue(QemuVmm.TCG_TRANSLATION_CACHE_MB * (1L << 20) < VmCgroupSize.OVERHEAD_BYTES,
                "the cache must fit in the overhead the pod's memory limit allows QEMU");
    }

    @Test
    void aFileBackedGuestNamesItsMemoryBackendOnTheMachine() {
        List<String> argv = new QemuVmm("qemu").commandLine(config("tcg", new Vmm.MemoryFile(Path.of("/t/mem"), true)));
        assertEquals("pc,memory-backend=mem", after(argv, "-machine"));
        assertTrue(after(argv, "-object").contains("mem-path=/t/mem,share=on"), argv::toString);
        assertFalse(String.join(" ", argv).contains("accel=tcg"), "-accel and -machine accel= cannot be mixed");
    }
}
