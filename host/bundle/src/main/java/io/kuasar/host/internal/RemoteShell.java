package io.kuasar.host.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Converter;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicyOption;

/**
 * One gogo command line run for the admin socket's {@code shell} request: the node's console is not a terminal
 * (it runs under the keeper with stdin /dev/null), so this is how an operator reaches the Felix shell, e.g.
 * {@code kuasar shell kuasar:upgrade runc FILE} or {@code kuasar shell lb}. Each line gets a fresh session with no
 * keyboard; what the command prints and the formatted result come back as text lines. gogo is optional (its
 * package import and this reference are), so the host resolves and runs without it; {@link #run} then says so.
 */
@Component(service = RemoteShell.class)
public class RemoteShell {
    private final CommandProcessor processor;

    @Activate
    public RemoteShell(@Reference(cardinality = ReferenceCardinality.OPTIONAL,
            policyOption = ReferencePolicyOption.GREEDY) CommandProcessor processor) {
        this.processor = processor;
    }

    /** Runs {@code line}; its output and result as lines. A failing command throws with gogo's message. */
    public List<String> run(String line) throws Exception {
        if (processor == null) {
            throw new IllegalStateException("no gogo shell in this node (bundle org.apache.felix.gogo.runtime)");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<String> lines = new ArrayList<>();
        try (CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), out, out)) {
            Object result = session.execute(line);
            session.getConsole().flush();
            out.toString(StandardCharsets.UTF_8).lines().forEach(lines::add);
            if (result != null) {
                session.format(result, Converter.INSPECT).toString().lines().forEach(lines::add);
            }
        } catch (Exception e) {
            // What the command printed before it failed is lost with the exception's message otherwise.
            String printed = out.toString(StandardCharsets.UTF_8).strip();
            String message = e.getMessage() == null ? e.toString() : e.getMessage();
            throw new Exception(printed.isEmpty() ? message : printed + "; " + message, e);
        }
        return lines;
    }
}
