package io.kuasar.host.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;

/**
 * The seed corpus of a fuzz target, {@code src/test/resources/fuzz/TARGET/}: every file is one input. The
 * {@code @FuzzTest}s start from it when fuzzing (bench/fuzz.sh), and each one's {@code seeds} tests ({@link #replay}) run it in every
 * {@code mvn test}, so an input once found crashing stays fixed. Shared with the other modules as kuasar-host's
 * test-jar; the corpus is looked up on the caller's test class path.
 */
public final class FuzzSeeds {
    private FuzzSeeds() {
    }

    /** A fuzz target's body: what it does with one input. */
    @FunctionalInterface
    public interface Input {
        void run(byte[] data) throws Exception;
    }

    /** One test per seed of {@code target}, named after its file, each running {@code body} on it. */
    public static Stream<DynamicTest> replay(String target, Input body) {
        return seeds(target).map(seed -> DynamicTest.dynamicTest(seed.name(), () -> body.run(seed.data())));
    }

    /** One seed: its file name and bytes. */
    private record Seed(String name, byte[] data) {
    }

    /** The seeds of {@code target}; fails when there is none. */
    private static Stream<Seed> seeds(String target) {
        URL dir = FuzzSeeds.class.getResource("/fuzz/" + target);
        if (dir == null) {
            throw new IllegalStateException("no seed corpus fuzz/" + target + " on the test class path");
        }
        try (Stream<Path> files = Files.list(Path.of(dir.toURI()))) {
            List<Path> seeds = files.filter(Files::isRegularFile).sorted().toList();
            if (seeds.isEmpty()) {
                throw new IllegalStateException("seed corpus fuzz/" + target + " is empty");
            }
            return seeds.stream().map(p -> new Seed(p.getFileName().toString(), read(p)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] read(Path p) {
        try {
            return Files.readAllBytes(p);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
