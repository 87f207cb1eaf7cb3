import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * What the test run did, per module, from the JUnit XML reports the build wrote (Surefire's
 * target/surefire-reports, bnd-testing's target/test-reports): tests run, failed and skipped, and every skip with its
 * reason. Exits 1 when it cannot tell that everything ran: a module with tests that reported none, a test class
 * without a report from this run, a test class Surefire never picks up, a skip without a reason, or a failure.
 *
 * <p>Run by scripts/test.sh after Maven: {@code java scripts/TestReport.java REPO MARKER [--e2e] [--itest]}. Reports
 * older than MARKER (a file touched before the build) come from an earlier build and do not count. {@code --e2e}
 * and {@code --itest} say that the end-to-end module and the in-Felix module (root only) were meant to run.
 */
public class TestReport {
    private static final Pattern META_ANNOTATION = Pattern.compile(
            "@(?:Test|ParameterizedTest|TestTemplate)\\b[^{;]*?@interface\\s+(\\w+)", Pattern.DOTALL);
    private static final Pattern MODULE = Pattern.compile("<module>([^<]+)</module>");
    /** Surefire's default includes: which test classes it runs at all. */
    private static final Pattern SUREFIRE_NAME = Pattern.compile("(Test\\w*|\\w*Test|\\w*Tests|\\w*TestCase)");

    record Case(String className, String name, String skipped, boolean failed) {
    }

    record ModuleResult(String module, List<Case> cases, List<String> problems) {
        long run() {
            return cases.stream().filter(c -> c.skipped == null).count();
        }

        long failed() {
            return cases.stream().filter(Case::failed).count();
        }

        long skipped() {
            return cases.stream().filter(c -> c.skipped != null).count();
        }
    }

    public static void main(String[] args) throws Exception {
        Path repo = Path.of(args[0]).toAbsolutePath().normalize();
        FileTime since = Files.getLastModifiedTime(Path.of(args[1]));
        Set<String> flags = Set.of(args).contains("--e2e") ? Set.of("e2e") : Set.of();
        boolean itest = List.of(args).contains("--itest");
        List<ModuleResult> results = new ArrayList<>();
        for (String module : modules(repo, "")) {
            boolean meant = !(module.equals("e2e") || module.startsWith("e2e/")) || flags.contains("e2e");
            if (module.equals("host/itest")) {
                meant = itest;
            }
            results.add(check(repo, module, since, meant));
        }
        print(results);
        ParityTable.print(repo, results);
        long problems = results.stream().mapToLong(r -> r.problems.size()).sum();
        if (problems > 0) {
            System.out.println("\nTEST REPORT: cannot tell that everything ran (" + problems + " problem(s)):");
            results.forEach(r -> r.problems.forEach(p -> System.out.println("  " + r.module + ": " + p)));
            System.exit(1);
        }
        System.out.println("\nTEST REPORT: every module with tests ran them");
    }

    /** The reactor's modules, depth first, as paths relative to the repository. */
    static List<String> modules(Path repo, String dir) throws IOException {
        List<String> out = new ArrayList<>();
        Path pom = repo.resolve(dir).resolve("pom.xml");
        Matcher m = MODULE.matcher(Files.readString(pom));
        while (m.find()) {
            String child = dir.isEmpty() ? m.group(1).trim() : dir + "/" + m.group(1).trim();
            out.add(child);
            out.addAll(modules(repo, child));
        }
        return out;
    }

    static ModuleResult check(Path repo, String module, FileTime since, boolean meant) throws Exception {
        Path dir = repo.resolve(module);
        List<Case> cases = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        Set<String> reportedClasses = new TreeSet<>();
        for (Path report : reports(dir.resolve("target"), since)) {
            readReport(report, cases, reportedClasses);
        }
        Map<String, Path> expected = testClasses(dir.resolve(module.equals("host/itest") ? "src/main/java" : "src/test/java"));
        if (!meant) {
            return new ModuleResult(module, cases, problems);
        }
        if (!expected.isEmpty() && cases.isEmpty()) {
            problems.add(expected.size() + " test class(es) but no test report from this build");
        }
        for (Map.Entry<String, Path> e : expected.entrySet()) {
            String simple = e.getKey().substring(e.getKey().lastIndexOf('.') + 1);
            boolean surefireRuns = module.equals("host/itest") || SUREFIRE_NAME.matcher(simple).matches();
            if (!surefireRuns && !simple.endsWith("Bench")) {
                problems.add(simple + " has tests but Surefire never runs a class of that name (rename it *Test)");
            } else if (surefireRuns && !cases.isEmpty() && !reportedClasses.contains(e.getKey())) {
                problems.add(e.getKey() + " did not run in this build (no report)");
            }
        }
        for (Case c : cases) {
            if (c.failed) {
                problems.add(c.className + "." + c.name + " failed");
            }
            if (c.skipped != null && c.skipped.isBlank()) {
                problems.add(c.className + "." + c.name + " was skipped without a reason");
            }
        }
        return new ModuleResult(module, cases, problems);
    }

    /** JUnit XML reports under {@code target} written since {@code since}. */
    static List<Path> reports(Path target, FileTime since) throws IOException {
        List<Path> out = new ArrayList<>();
        for (String sub : List.of("surefire-reports", "test-reports")) {
            Path d = target.resolve(sub);
            if (!Files.isDirectory(d)) {
                continue;
            }
            try (Stream<Path> s = Files.walk(d)) {
                for (Path p : s.filter(p -> p.getFileName().toString().matches("TEST-.*\\.xml")).sorted().toList()) {
                    if (Files.getLastModifiedTime(p).compareTo(since) >= 0) {
                        out.add(p);
                    }
                }
            }
        }
        return out;
    }

    static void readReport(Path report, List<Case> cases, Set<String> classes) throws Exception {
        DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        NodeList tcs = f.newDocumentBuilder().parse(report.toFile()).getElementsByTagName("testcase");
        for (int i = 0; i < tcs.getLength(); i++) {
            Element tc = (Element) tcs.item(i);
            String cls = tc.getAttribute("classname");
            classes.add(cls);
            String skipped = null;
            NodeList sk = tc.getElementsByTagName("skipped");
            if (sk.getLength() > 0) {
                Element s = (Element) sk.item(0);
                skipped = s.hasAttribute("message") ? s.getAttribute("message") : firstLine(s.getTextContent());
            }
            boolean failed = tc.getElementsByTagName("failure").getLength() > 0
                    || tc.getElementsByTagName("error").getLength() > 0;
            cases.add(new Case(cls, tc.getAttribute("name"), skipped, failed));
        }
    }

    /** An abort's reason from a report that kept only its stack trace: the first line, without the exception's class. */
    static String firstLine(String trace) {
        String line = trace.strip().lines().findFirst().orElse("");
        return line.replaceFirst("^[\\w.$]+(Exception|Error): ", "");
    }

    /** Concrete classes under {@code src} with a test method, by fully qualified name. */
    static Map<String, Path> testClasses(Path src) throws IOException {
        Map<String, Path> out = new LinkedHashMap<>();
        if (!Files.isDirectory(src)) {
            return out;
        }
        List<Path> files;
        try (Stream<Path> s = Files.walk(src)) {
            files = s.filter(p -> p.toString().endsWith(".java")).sorted().toList();
        }
        Set<String> annotations = new TreeSet<>(List.of("Test", "ParameterizedTest", "RepeatedTest", "TestFactory",
                "TestTemplate"));
        for (Path p : files) { // annotations declared in the module that are themselves tests (@OnParityHandlers)
            Matcher m = META_ANNOTATION.matcher(Files.readString(p));
            while (m.find()) {
                annotations.add(m.group(1));
            }
        }
        Pattern any = Pattern.compile("^\\s*@(" + String.join("|", annotations) + ")\\b", Pattern.MULTILINE);
        for (Path p : files) {
            String text = Files.readString(p);
            String name = p.getFileName().toString().replace(".java", "");
            boolean isAbstract = Pattern.compile("\\babstract\\s+class\\s+" + name + "\\b").matcher(text).find();
            if (!isAbstract && any.matcher(text).find() && !text.contains("@interface " + name)) {
                out.put(src.relativize(p).toString().replace(".java", "").replace('/', '.'), p);
            }
        }
        return out;
    }

    static void print(List<ModuleResult> results) {
        System.out.println("\n=== Test report (this build's JUnit reports) ===");
        System.out.printf("%-22s %6s %7s %8s%n", "module", "run", "failed", "skipped");
        long run = 0, failed = 0, skipped = 0;
        for (ModuleResult r : results) {
            System.out.printf("%-22s %6d %7d %8d%n", r.module, r.run(), r.failed(), r.skipped());
            run += r.run();
            failed += r.failed();
            skipped += r.skipped();
        }
        System.out.printf("%-22s %6d %7d %8d%n", "total", run, failed, skipped);
        if (skipped > 0) {
            System.out.println("\nSkipped, with the reason each gave:");
            for (ModuleResult r : results) {
                for (Case c : r.cases) {
                    if (c.skipped != null) {
                        String cls = c.className.substring(c.className.lastIndexOf('.') + 1);
                        System.out.println("  " + r.module + "  " + cls + "." + c.name + ": " + c.skipped.strip());
                    }
                }
            }
        }
    }
}

/**
 * The CRI parity suite's outcome per handler (the README's status quotes it): each {@code @OnParityHandlers} test runs
 * once per handler, and Surefire names the runs {@code method(String)[k]}, k counting the handlers in the order of the
 * annotation's {@code @ValueSource}, which is read from {@code CriParityTestBase}.
 */
class ParityTable {
    private static final Path BASE = Path.of("e2e/src/test/java/io/kuasar/e2e/CriParityTestBase.java");
    private static final Pattern HANDLERS = Pattern.compile(
            "@ValueSource\\(strings = \\{([^}]*)}\\)\\s*@interface\\s+OnParityHandlers");
    private static final Pattern RUN = Pattern.compile("(\\w+)\\(String\\)\\[(\\d+)]");

    static void print(Path repo, List<TestReport.ModuleResult> results) throws IOException {
        Path base = repo.resolve(BASE);
        if (!Files.isRegularFile(base)) {
            return;
        }
        Matcher h = HANDLERS.matcher(Files.readString(base));
        if (!h.find()) {
            System.out.println("\nparity table: no @ValueSource of handlers found on OnParityHandlers in " + BASE);
            return;
        }
        List<String> handlers = Stream.of(h.group(1).split(",")).map(x -> x.strip().replace("\"", "")).toList();
        Set<String> parityMethods = parityMethods(base.getParent());
        long[][] counts = new long[handlers.size()][3]; // passed, skipped, failed
        results.stream().filter(r -> r.module().equals("e2e")).flatMap(r -> r.cases().stream()).forEach(c -> {
            Matcher m = RUN.matcher(c.name());
            if (m.matches() && parityMethods.contains(c.className() + "." + m.group(1))) {
                int k = Integer.parseInt(m.group(2)) - 1;
                if (k < handlers.size()) {
                    counts[k][c.failed() ? 2 : c.skipped() != null ? 1 : 0]++;
                }
            }
        });
        if (parityMethods.isEmpty() || java.util.Arrays.stream(counts).allMatch(x -> x[0] + x[1] + x[2] == 0)) {
            return;
        }
        System.out.println("\n=== CRI parity suite by handler ===");
        System.out.printf("%-14s %7s %8s %7s%n", "handler", "passed", "skipped", "failed");
        for (int i = 0; i < handlers.size(); i++) {
            System.out.printf("%-14s %7d %8d %7d%n", handlers.get(i), counts[i][0], counts[i][1], counts[i][2]);
        }
    }

    /** class.method of every test annotated {@code @OnParityHandlers} in the suite's source directory. */
    private static Set<String> parityMethods(Path dir) throws IOException {
        Pattern method = Pattern.compile("@OnParityHandlers\\s+(?:@\\w+(?:\\([^)]*\\))?\\s+)*void\\s+(\\w+)\\(");
        Set<String> out = new TreeSet<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String cls = "io.kuasar.e2e." + f.getFileName().toString().replace(".java", "");
                Matcher m = method.matcher(Files.readString(f));
                while (m.find()) {
                    out.add(cls + "." + m.group(1));
                }
            }
        }
        return out;
    }
}
