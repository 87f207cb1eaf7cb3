package io.kuasar.host.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.felix.gogo.runtime.CommandProcessorImpl;
import org.apache.felix.gogo.runtime.threadio.ThreadIOImpl;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link RemoteShell} on gogo's real command processor, with a small command scope of the test's own. */
class RemoteShellTest {
    private final ThreadIOImpl threadIo = new ThreadIOImpl();
    private final CommandProcessorImpl processor;

    RemoteShellTest() {
        threadIo.start();
        processor = new CommandProcessorImpl(threadIo);
        processor.addCommand("demo", new Demo());
    }

    @AfterEach
    void stop() {
        processor.stop();
        threadIo.stop();
    }

    /** Commands as gogo finds them: public methods of the scope's object. */
    public static class Demo {
        public String greet(String who) {
            return "hello " + who;
        }

        public void chatter() {
            System.out.println("line one");
            System.out.println("line two");
        }

        public void fail() {
            System.out.println("about to fail");
            throw new IllegalStateException("driver busy");
        }
    }

    @Test
    void theResultOfACommandComesBackAsText() throws Exception {
        assertEquals(List.of("hello node"), new RemoteShell(processor).run("demo:greet node"));
    }

    @Test
    void whatACommandPrintsComesBackLineByLine() throws Exception {
        assertEquals(List.of("line one", "line two"), new RemoteShell(processor).run("chatter"));
    }

    @Test
    void aFailureKeepsWhatWasPrintedAndTheMessage() {
        Exception e = assertThrows(Exception.class, () -> new RemoteShell(processor).run("demo:fail"));
        assertTrue(e.getMessage().contains("about to fail") && e.getMessage().contains("driver busy"), e.getMessage());
    }

    @Test
    void anUnknownCommandSaysSo() {
        Exception e = assertThrows(Exception.class, () -> new RemoteShell(processor).run("nosuch:thing"));
        assertTrue(e.getMessage().contains("nosuch:thing"), e.getMessage());
    }
}
