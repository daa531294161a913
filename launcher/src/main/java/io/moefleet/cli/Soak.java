package io.moefleet.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bench --soak}: {@code concurrency} clients streaming back to back for a while through the served API, a report
 * line per interval (requests, errors, output tokens/s, TTFT and TPOT percentiles) and the live heap of every process
 * of the fleet (after a full collection, through {@code jcmd}) at each interval: caches (the pool's pages, an
 * instance's hot pages) fill up to their budgets in the first half, so a heap still growing in the second half is what
 * a leak would show.
 */
final class Soak {

    private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

    private final ApiLoad load;
    private final Map<String, Long> processes;   // name -> pid, this process (the router) first

    Soak(ApiLoad load, Map<String, Long> processes) {
        this.load = load;
        this.processes = processes;
    }

    /** What the soak saw: requests, failures, and each process's live heap once warm, half-way and at the end, in MiB. */
    record Report(long requests, long errors, Map<String, long[]> heapMiB) {}

    /** A heap that grows less than this share (or {@value #STEADY_MIB} MiB) over the second half is steady. */
    private static final double STEADY_SHARE = 0.05;
    private static final long STEADY_MIB = 16;

    Report run(int concurrency, Duration length, int reportEvery, int promptTokens, int outputTokens, PrintStream out, PrintStream err)
            throws InterruptedException {
        err.println("soak: warming up (" + concurrency + " requests, not counted)");
        try {
            load.run(concurrency, promptTokens, outputTokens, 0);
        } catch (Exception e) {
            throw new IllegalStateException("the warm-up failed: " + e.getMessage(), e);
        }
        Map<String, Long> warm = liveHeaps(err);
        out.printf("soak: %d streams, %d-token prompts, %d output tokens each, for %s; live heap once warm: %s%n", concurrency,
                promptTokens, outputTokens, length, mib(warm));
        out.printf("%8s %9s %7s %12s %21s %21s%n", "minute", "requests", "errors", "output t/s", "TTFT p50/p99 ms", "TPOT p50/p99 ms");
        ConcurrentLinkedQueue<ApiLoad.Timing> done = new ConcurrentLinkedQueue<>();
        AtomicLong errors = new AtomicLong();
        AtomicLong requests = new AtomicLong();
        AtomicBoolean running = new AtomicBoolean(true);
        List<Thread> clients = new ArrayList<>();
        long start = System.nanoTime();
        java.net.http.HttpClient client = java.net.http.HttpClient.newBuilder()
                .executor(java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()).build();
        for (int c = 0; c < concurrency; c++) {
            long seed = 1_000 + c;
            clients.add(Thread.ofVirtual().start(() -> {
                long round = 0;
                while (running.get()) {
                    try {
                        done.add(load.once(client, promptTokens, outputTokens, seed * 1_000_003 + round++));
                    } catch (Exception e) {
                        errors.incrementAndGet();
                        err.println("soak: a request failed: " + e.getMessage());
                    }
                    requests.incrementAndGet();
                }
            }));
        }
        long end = start + length.toNanos();
        long every = Duration.ofSeconds(reportEvery).toNanos();
        long next = start + every;
        long lastErrors = 0;
        Map<String, Long> halfWay = null;
        while (System.nanoTime() < end) {
            Thread.sleep(Math.max(1, Math.min(end, next) - System.nanoTime()) / 1_000_000 + 1);
            if (System.nanoTime() >= next || System.nanoTime() >= end) {
                List<ApiLoad.Timing> interval = new ArrayList<>();
                for (ApiLoad.Timing timing = done.poll(); timing != null; timing = done.poll()) {
                    interval.add(timing);
                }
                double seconds = Math.min(every, System.nanoTime() - (next - every)) / 1e9;
                long errorsNow = errors.get();
                out.println(line((System.nanoTime() - start) / 6e10, interval, errorsNow - lastErrors, seconds));
                lastErrors = errorsNow;
                if (System.nanoTime() < end) {
                    Map<String, Long> now = liveHeaps(err);
                    out.printf("%8s live heap: %s%n", "", mib(now));
                    if (halfWay == null && System.nanoTime() - start >= length.toNanos() / 2) {
                        halfWay = now;
                    }
                }
                next += every;
            }
        }
        running.set(false);
        for (Thread streamer : clients) {
            streamer.join();
        }
        client.close();
        Map<String, Long> after = liveHeaps(err);
        Map<String, Long> half = halfWay == null ? warm : halfWay;
        Map<String, long[]> heaps = new LinkedHashMap<>();
        warm.forEach((name, before) -> heaps.put(name, new long[] {before >> 20, half.getOrDefault(name, -1L) >> 20,
                after.getOrDefault(name, -1L) >> 20}));
        out.printf("soak: %d requests, %d errors; live heap (MiB, after a full collection) warm -> half-way -> end: %s%n",
                requests.get(), errors.get(), heapChanges(heaps));
        List<String> growing = new ArrayList<>();
        heaps.forEach((name, mib) -> {
            if (mib[2] - mib[1] > Math.max(STEADY_MIB, (long) (mib[1] * STEADY_SHARE))) {
                growing.add(name + " +" + (mib[2] - mib[1]) + " MiB");
            }
        });
        out.println(growing.isEmpty() ? "soak: every heap steady over the second half (within 5% or 16 MiB)"
                : "soak: heaps still growing over the second half: " + String.join(", ", growing));
        return new Report(requests.get(), errors.get(), heaps);
    }

    private static String line(double minute, List<ApiLoad.Timing> interval, long errors, double seconds) {
        double[] ttft = interval.stream().mapToDouble(ApiLoad.Timing::ttftMs).sorted().toArray();
        double[] tpot = interval.stream().mapToDouble(ApiLoad.Timing::tpotMs).sorted().toArray();
        long tokens = interval.stream().mapToLong(ApiLoad.Timing::tokens).sum();
        return String.format(Locale.ROOT, "%8.1f %9d %7d %12.1f %21s %21s", minute, interval.size(), errors, tokens / seconds,
                ttft.length == 0 ? "-" : String.format(Locale.ROOT, "%.0f / %.0f", ApiLoad.percentile(ttft, 50), ApiLoad.percentile(ttft, 99)),
                tpot.length == 0 ? "-" : String.format(Locale.ROOT, "%.1f / %.1f", ApiLoad.percentile(tpot, 50), ApiLoad.percentile(tpot, 99)));
    }

    /** Each process's heap in use right after a full collection: its live objects. */
    private Map<String, Long> liveHeaps(PrintStream err) {
        Map<String, Long> heaps = new LinkedHashMap<>();
        for (Map.Entry<String, Long> process : processes.entrySet()) {
            if (process.getValue() == ProcessHandle.current().pid()) {
                System.gc();
                heaps.put(process.getKey(), ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
                continue;
            }
            try {
                jcmd(process.getValue(), "GC.run");
                Matcher used = HEAP_USED.matcher(jcmd(process.getValue(), "GC.heap_info"));
                if (used.find()) {
                    heaps.put(process.getKey(), Long.parseLong(used.group(1)) << 10);
                }
            } catch (IOException | InterruptedException e) {
                err.println("soak: the heap of " + process.getKey() + " could not be read: " + e.getMessage());
            }
        }
        return heaps;
    }

    private static String jcmd(long pid, String command) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process process = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor();
        return output;
    }

    private static String mib(Map<String, Long> heaps) {
        StringBuilder text = new StringBuilder();
        heaps.forEach((name, bytes) -> text.append(text.isEmpty() ? "" : ", ").append(name).append(' ').append(bytes >> 20).append(" MiB"));
        return text.toString();
    }

    private static String heapChanges(Map<String, long[]> heaps) {
        StringBuilder text = new StringBuilder();
        heaps.forEach((name, mib) -> text.append(text.isEmpty() ? "" : ", ").append(name).append(' ').append(mib[0]).append(" -> ")
                .append(mib[1]).append(" -> ").append(mib[2]));
        return text.toString();
    }
}
