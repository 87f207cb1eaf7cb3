#!/usr/bin/env bash
# Runs every fuzz target (issue 12, part 4) for a bounded time each, one after the other, and records what it did.
#
# Usage: bench/fuzz.sh [--ci] [SECONDS] [TARGET...]
#   SECONDS  per target (default 60; C targets do millions of executions a minute, Java targets thousands a second)
#   TARGET   names from the list below (default: all)
#   --ci     the bounded run of scripts/test.sh: writes nothing to docs/, fails on any finding
#   FUZZ_JAVA_SECONDS (environment) overrides SECONDS for the Java targets; FUZZ_NICE (10) is every fuzzer's nice level
#
# C targets: libFuzzer with ASan + UBSan (clang 16, scripts/deps.d/fuzz.sh), built by the fuzz Makefiles.
# Java targets: the @FuzzTest methods (Jazzer, JUnit 5), run by Jazzer's own driver (--target_class and
# --target_method) on the module's test class path: one JVM per target, which `mvn test` with JAZZER_FUZZ=1 cannot
# do for several targets in one run. Needs the modules built with their tests compiled (mvn install -DskipTests).
#
# Each target starts from its seed corpus in the repository (host/keeper/fuzz/corpus/T, driver-vmm/agent/fuzz/corpus/T,
# MODULE/src/test/resources/fuzz/T) plus what earlier runs found (target/fuzz/corpus/T, not committed). Findings
# (crash-*, timeout-*, oom-*, leak-*) go to target/fuzz/findings/T/: a finding is a crash (exception other than
# the documented ones, failed assertion, sanitizer report, out of memory) or a hang (one input over 10 s).
# Without --ci the figures are added to the table in docs/security.md ("## Fuzzing": executions summed over runs, and
# since the last finding: a run with a crash or a hang sets that to 0).
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

ci=0
if [[ ${1:-} == --ci ]]; then ci=1; shift; fi
secs=60
if [[ ${1:-} =~ ^[0-9]+$ ]]; then secs=$1; shift; fi

# name | kind | where | Java class | Java method
TARGETS=(
  "keeper-relay|c|host/keeper/fuzz|relay_fuzz|"
  "agent-pb|c|driver-vmm/agent/fuzz|pb_fuzz|"
  "agent-channel|c|driver-vmm/agent/fuzz|channel_fuzz|"
  "agent-ports|c|driver-vmm/agent/fuzz|ports_fuzz|"
  "ttrpc-frame-decoder|java|ttrpc-endpoint/ttrpc|io.kuasar.ttrpc.FrameDecoderFuzzTest|frames"
  "ttrpc-server-connection|java|ttrpc-endpoint/ttrpc|io.kuasar.ttrpc.ServerConnectionFuzzTest|connection"
  "proto-mapping|java|ttrpc-endpoint|io.kuasar.endpoint.ProtoMappingFuzzTest|requests"
  "admin-protocol|java|host/bundle|io.kuasar.host.admin.AdminProtocolFuzzTest|lines"
  "runc-namespace-rewriter|java|driver-runc|io.kuasar.driver.runc.pod.NamespaceRewriterFuzzTest|configJson"
  "quark-gvisor-spec|java|driver-quark|io.kuasar.driver.quark.GvisorSpecFuzzTest|configJson"
  "wasm-oci-bundle|java|driver-wasm/driver|io.kuasar.driver.wasm.OciBundleFuzzTest|configJson"
  "vmm-agent-client|java|driver-vmm|io.kuasar.driver.vmm.AgentClientFuzzTest|answers"
)

want=("$@")
selected() {
  ((${#want[@]} == 0)) && return 0
  local w
  for w in "${want[@]}"; do [[ $w == "$1" ]] && return 0; done
  return 1
}

work="$repo/target/fuzz"
mkdir -p "$work/corpus" "$work/findings" "$work/logs"
results=()   # "name execs crashes hangs"
failed=0

# The C targets' binaries (ASan + UBSan + libFuzzer).
if selected keeper-relay || selected agent-pb || selected agent-channel || selected agent-ports; then
  bash scripts/deps.d/fuzz.sh
  make -s -C host/keeper/fuzz OUT="$work/keeper" all >/dev/null || exit 1
  make -s -C driver-vmm/agent/fuzz OUT="$work/agent" all >/dev/null || exit 1
fi

# The test class path of a Java module: target/fuzz.classpath, written by one Maven run for all the modules fuzzed
# (again when a pom is newer than it).
java_modules=()
for t in "${TARGETS[@]}"; do
  IFS='|' read -r name kind where _ <<<"$t"
  if [[ $kind == java ]] && selected "$name" && [[ " ${java_modules[*]} " != *" $where "* ]]; then
    java_modules+=("$where")
  fi
done
if ((${#java_modules[@]})); then
  stale=0
  for m in "${java_modules[@]}"; do
    [[ -s $m/target/fuzz.classpath && ! $m/pom.xml -nt $m/target/fuzz.classpath && ! pom.xml -nt $m/target/fuzz.classpath ]] || stale=1
  done
  if ((stale)); then
    list=$(IFS=,; echo "${java_modules[*]}")
    # -o first (fast, no network); online only when something is missing from the local repository.
    for offline in -o ""; do
      mvn -B -ntp -q $offline -pl "$list" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
        -Dmdep.includeScope=test -Dmdep.outputFile=target/fuzz.classpath >"$work/logs/classpath.log" 2>&1 && break
    done || { cat "$work/logs/classpath.log" >&2; exit 1; }
  fi
fi
# A private copy of the module's classes and of the project's own dependencies (the other modules' classes or jars
# in the local repository): a build running meanwhile (mvn install anywhere, CI in another clone) would otherwise
# replace class files or jars under a running fuzzer, which then dies with NoClassDefFoundError or a zip error.
classpath() {
  local snap; snap="$work/classes/$(echo "$1" | tr / _)"
  rm -rf "$snap" && mkdir -p "$snap" && cp -r "$1/target/classes" "$1/target/test-classes" "$snap/" || return 1
  local out="$snap/test-classes:$snap/classes" e i=0 entries
  IFS=: read -ra entries <"$1/target/fuzz.classpath"
  for e in "${entries[@]}"; do
    i=$((i + 1))
    if [[ $e == */io/kuasar/* || $e == "$repo"/* ]]; then
      if [[ -d $e ]]; then cp -r "$e" "$snap/dep$i" && e="$snap/dep$i"; else cp "$e" "$snap/dep$i.jar" && e="$snap/dep$i.jar"; fi
    fi
    out="$out:$e"
  done
  echo "$out"
}

for t in "${TARGETS[@]}"; do
  IFS='|' read -r name kind where cls method <<<"$t"
  selected "$name" || continue
  corpus="$work/corpus/$name" findings="$work/findings/$name" log="$work/logs/$name.log"
  mkdir -p "$corpus" "$findings"
  # libFuzzer's options, for both kinds: -timeout makes a hang a finding, -rss_limit_mb bounds memory.
  opts=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$findings/")
  start=$(date +%s)
  if [[ $kind == c ]]; then
    bin="$work/$( [[ $where == host/* ]] && echo keeper || echo agent )/$cls"
    nice -n "${FUZZ_NICE:-10}" "$bin" "${opts[@]}" "$corpus" "$where/corpus/$cls" >"$log" 2>&1
    rc=$?
  else
    opts[0]=-max_total_time="${FUZZ_JAVA_SECONDS:-$secs}"
    if [[ ! -d $where/target/test-classes ]]; then
      echo "fuzz: $where/target/test-classes missing: build first (mvn -B install -DskipTests)" >&2; exit 1
    fi
    cp=$(classpath "$where") || exit 1
    seeds="$where/src/test/resources/fuzz/$name"
    # Jazzer's own driver; -Xss for deep JSON, a fixed heap so "bounded memory" is the JVM's, not the host's.
    nice -n "${FUZZ_NICE:-10}" java -Xmx1g -Xss4m -XX:+UseSerialGC -cp "$cp" com.code_intelligence.jazzer.Jazzer \
      --target_class="$cls" --target_method="$method" --instrumentation_includes='io.kuasar.**' \
      --reproducer_path="$findings" "${opts[@]}" "$corpus" "$seeds" >"$log" 2>&1
    rc=$?
  fi
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -1)
  execs=${execs:-0}
  crashes=$(find "$findings" -newermt "@$start" \( -name 'crash-*' -o -name 'oom-*' -o -name 'leak-*' \) | wc -l)
  hangs=$(find "$findings" -newermt "@$start" -name 'timeout-*' | wc -l)
  if ((rc != 0 && crashes == 0 && hangs == 0)); then
    crashes=1   # the fuzzer failed without writing an input (e.g. a crash of the JVM itself): see the log
  fi
  printf 'fuzz: %-26s %12s executions in %4d s, %d crashes, %d hangs%s\n' "$name" "$execs" \
    "$(( $(date +%s) - start ))" "$crashes" "$hangs" "$( ((rc)) && echo "  (see $log)")"
  if ((crashes || hangs)); then
    failed=1
    grep -m 20 -E 'ERROR|Exception|Assert|SUMMARY|==[0-9]+==' "$log" | sed 's/^/  /' >&2
  fi
  results+=("$name $execs $crashes $hangs")
done

# Adds this run's figures to docs/security.md: executions and findings summed over all recorded runs.
record() {
  local doc="$repo/docs/security.md" today; today=$(date -u +%Y-%m-%d)
  [[ -f $doc ]] || printf '# Security\n' >"$doc"
  python3 - "$doc" "$today" "${results[@]}" <<'EOF'
import re, sys
doc, today, rows = sys.argv[1], sys.argv[2], [r.split() for r in sys.argv[3:]]
text = open(doc).read()
begin, end = "<!-- fuzz-table:begin -->", "<!-- fuzz-table:end -->"
if begin not in text:
    section = "\n## Fuzzing\n\n" + begin + "\n" + end + "\n"
    text = text.rstrip("\n") + "\n" + section
head, rest = text.split(begin, 1)
table, tail = rest.split(end, 1)
# Columns: target, executions (all runs), executions since the last finding (the figure the goal is about: a fix
# changes the code, so only runs after it count), runs, crashes, hangs, last run.
old = {}
for line in table.splitlines():
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) == 7 and cells[0].startswith("`"):
        old[cells[0].strip("`")] = cells
n = lambda s: int(s.replace(",", ""))
for name, execs, crashes, hangs in rows:
    prev = old.get(name, [name, "0", "0", "0", "0", "0", ""])
    clean = 0 if int(crashes) or int(hangs) else n(prev[2]) + int(execs)
    old[name] = ["`%s`" % name, "{:,}".format(n(prev[1]) + int(execs)), "{:,}".format(clean),
                 "{:,}".format(n(prev[3]) + 1), str(n(prev[4]) + int(crashes)), str(n(prev[5]) + int(hangs)), today]
lines = ["| target | executions (all runs) | since the last finding | runs | crashes | hangs | last run |",
         "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
for name in sorted(old, key=lambda k: k.strip("`")):
    c = old[name]
    c[0] = "`%s`" % c[0].strip("`")
    lines.append("| " + " | ".join(c) + " |")
open(doc, "w").write(head + begin + "\n" + "\n".join(lines) + "\n" + end + tail)
EOF
  echo "fuzz: recorded in docs/security.md"
}

if ((!ci && ${#results[@]})); then record; fi
exit "$failed"
