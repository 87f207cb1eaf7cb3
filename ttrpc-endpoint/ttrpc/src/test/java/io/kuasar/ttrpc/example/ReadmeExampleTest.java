package io.kuasar.ttrpc.example;

import com.google.protobuf.StringValue;
import io.kuasar.ttrpc.MethodHandler;
import io.kuasar.ttrpc.TtrpcClient;
import io.kuasar.ttrpc.TtrpcEventLoops;
import io.kuasar.ttrpc.TtrpcServer;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The example of the README's "ttrpc for Java", compiled and run: outside package io.kuasar.ttrpc, so it uses the
 * exported API only. The lines between the markers are the README's code block, which {@link #readmeShowsIt} keeps
 * in step.
 */
class ReadmeExampleTest {
    @TempDir
    Path dir; // 0700, as the server requires of a socket's directory

    @Test
    void serverAndClient() throws Exception {
        ExecutorService handlers = Executors.newFixedThreadPool(2);
        try {
            assertEquals("hello ttrpc", greet(dir.resolve("greeter.sock"), handlers));
        } finally {
            handlers.shutdown();
        }
    }

    // README {
    static String greet(Path socket, Executor handlers) throws IOException {
        try (TtrpcServer server = new TtrpcServer(handlers)) { // handlers run on your executor, never the loop
            server.register("example.Greeter", "Hello", MethodHandler.of(StringValue.parser(), (ctx, name) ->
                    CompletableFuture.completedFuture(StringValue.of("hello " + name.getValue()))));
            server.listen(socket); // made 0600, in a directory only its owner may enter
            EventLoopGroup loop = TtrpcEventLoops.newGroup(1, "greeter-client"); // the caller's: it shuts it down
            try (TtrpcClient client = TtrpcClient.connect(socket, loop)) {
                return client.call("example.Greeter", "Hello", StringValue.of("ttrpc"), Map.of(),
                        Duration.ofSeconds(5), StringValue.parser()).join().getValue(); // "hello ttrpc"
            } finally {
                loop.shutdownGracefully();
            }
        }
    }
    // } README

    /** The README's block is this test's, line for line (indentation aside). */
    @Test
    void readmeShowsIt() throws Exception {
        // Surefire runs in the module's directory, ttrpc-endpoint/ttrpc.
        Path source = Path.of("src/test/java", getClass().getName().replace('.', '/') + ".java");
        List<String> mine = block(Files.readAllLines(source), "// README {", "// } README");
        List<String> readme = block(Files.readAllLines(Path.of("../../README.md")).stream()
                .dropWhile(l -> !l.equals("## ttrpc for Java")).toList(), "```java", "```");
        assertEquals(mine, readme, "README.md's ttrpc example differs from ReadmeExampleTest: copy it over");
    }

    private static List<String> block(List<String> lines, String begin, String end) {
        return lines.stream().dropWhile(l -> !l.strip().equals(begin)).skip(1)
                .takeWhile(l -> !l.strip().equals(end)).map(String::strip).toList();
    }
}
