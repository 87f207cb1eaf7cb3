package io.kuasar.wasm.engine.internal.fs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A rootfs with the links an image could bring, next to an outside tree of sentinels:
 *
 * <pre>
 * tmp/outside/{secret, victim, movable, only-outside, dir/inner, outlink -> OUTSIDE-TARGET}   (all HOST-SECRET)
 * tmp/root/etc/passwd
 * tmp/root/hostroot -> /            tmp/root/up -> ../../../../../../../../../..
 * tmp/root/escape -> ../outside     tmp/root/abs-out -> tmp/outside (host absolute)
 * tmp/root/file-out -> tmp/outside/secret (host absolute)   tmp/root/dir/deep/link-up -> ../../../outside/secret
 * tmp/root/chain1 -> chain2 -> etc/passwd   dangling -> nowhere   loop1 -> loop2 -> loop1
 * tmp/root/&lt;tmp/outside&gt;/...  decoys where the absolute links land in the root ("decoy ...")
 * tmp/root/outside/secret        the decoy where "../outside" lands in the root
 * </pre>
 */
final class Fixture {
    final Path tmp;
    final Path root;
    final Path outside;
    /** Where the host-absolute links land inside the root. */
    final Path decoy;
    /** The outside directory's host path, as the links spell it (absolute). */
    final String out;

    Fixture(Path tmp) throws IOException {
        this.tmp = tmp.toRealPath();
        this.root = Files.createDirectory(this.tmp.resolve("root"));
        this.outside = Files.createDirectory(this.tmp.resolve("outside"));
        this.out = outside.toString();
        this.decoy = Files.createDirectories(root.resolve(out.substring(1)));
        for (Path base : new Path[] {outside, decoy}) {
            String what = base == outside ? Outside.MARK + " " : "decoy ";
            Files.writeString(base.resolve("secret"), what + "secret");
            Files.writeString(base.resolve("victim"), what + "victim");
            Files.writeString(base.resolve("movable"), what + "movable");
            Files.createDirectory(base.resolve("dir"));
            Files.writeString(base.resolve("dir/inner"), what + "inner");
            Files.createSymbolicLink(base.resolve("outlink"),
                    Path.of(base == outside ? "OUTSIDE-TARGET" : "inside-target"));
        }
        Files.writeString(outside.resolve("only-outside"), Outside.MARK + " only outside");
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/passwd"), "container passwd");
        Files.createDirectories(root.resolve("outside"));
        Files.writeString(root.resolve("outside/secret"), "decoy2 secret");
        link("hostroot", "/");
        link("up", "../../../../../../../../../..");
        link("escape", "../outside");
        link("abs-out", out);
        link("file-out", out + "/secret");
        Files.createDirectories(root.resolve("dir/deep"));
        link("dir/deep/link-up", "../../../outside/secret");
        link("chain1", "chain2");
        link("chain2", "etc/passwd");
        link("dangling", "nowhere");
        link("loop1", "loop2");
        link("loop2", "loop1");
    }

    void link(String at, String target) throws IOException {
        Files.createSymbolicLink(root.resolve(at), Path.of(target));
    }

    ConfinedFileSystem open(Resolution mode) throws IOException {
        return ConfinedFileSystem.open(root, mode);
    }
}
