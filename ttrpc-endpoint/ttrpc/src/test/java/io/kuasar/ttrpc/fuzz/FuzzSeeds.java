package io.kuasar.ttrpc.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;

/**
 * The seed corpus of a fuzz target, {@code src/test/resources/fuzz/TARGET/}: every file is one input. The
 * {@code @FuzzTest}s start from it when fuzzing (bench/fuzz.sh), and each one's {@code seeds} test runs it in every
 * {@code mvn test}, so an input once found crashing stays fixed. A copy of kuasar-host's
 * {@code io.kuasar.host.fuzz.FuzzSeeds}: the ttrpc library builds and tests without the host, not even its test-jar.
 */
public final class FuzzSeeds {
    private FuzzSeeds() {
    }

    /** (file name, bytes) for each seed of {@code target}; fails when there is none. */
    public static Stream<Arguments> of(String target) {
        URL dir = FuzzSeeds.class.getResource("/fuzz/" + target);
        if (dir == null) {
            throw new IllegalStateException("no seed corpus fuzz/" + target + " on the test class path");
        }
        try (Stream<Path> files = Files.list(Path.of(dir.toURI()))) {
            List<Path> seeds = files.filter(Files::isRegularFile).sorted().toList();
            if (seeds.isEmpty()) {
                throw new IllegalStateException("seed corpus fuzz/" + target + " is empty");
            }
            return seeds.stream().map(p -> Arguments.of(p.getFileName().toString(), read(p)));
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
