package io.moefleet.cli;

import io.moefleet.model.CheckpointException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;

/** {@code ./fleet COMMAND [options]}: results on stdout, logs and progress on stderr. */
public final class Main {

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("checkpoint", new CheckpointCommand());
        COMMANDS.put("logits", new LogitsCommand());
        COMMANDS.put("generate", new GenerateCommand());
        COMMANDS.put("tokenize", new TokenizeCommand());
        COMMANDS.put("demo", new DemoCommand());
        COMMANDS.put("bench", new BenchCommand());
        COMMANDS.put("serve", new ServeCommand());
        COMMANDS.put("plan", new PlanCommand());
        COMMANDS.put("certs", new CertsCommand());
        COMMANDS.put("train", new TrainCommand());
        COMMANDS.put("plot", new PlotCommand());
        COMMANDS.put("evaluate", new EvaluateCommand());
    }

    private Main() {}

    public static void main(String[] argv) {
        // one line per log record, on stderr
        System.setProperty("java.util.logging.SimpleFormatter.format", "fleet: %5$s%6$s%n");
        System.exit(run(argv, System.out, System.err));
    }

    static int run(String[] argv, PrintStream out, PrintStream err) {
        if (argv.length == 0 || argv[0].equals("help") || argv[0].equals("--help")) {
            usage(err);
            return argv.length == 0 ? 2 : 0;
        }
        Command command = COMMANDS.get(argv[0]);
        if (command == null) {
            err.println("fleet: unknown command '" + argv[0] + "'");
            usage(err);
            return 2;
        }
        try {
            return command.run(Args.parse(argv[0], argv, 1, command.switches()), out, err);
        } catch (UsageException e) {
            err.println("fleet " + e.getMessage());
            err.println("usage: ./fleet " + command.usage());
            return 2;
        } catch (CheckpointException | IllegalArgumentException e) {
            err.println("fleet " + argv[0] + ": " + e.getMessage());
            return 1;
        } catch (Exception e) {
            err.println("fleet " + argv[0] + ": " + e);
            e.printStackTrace(err);
            return 1;
        }
    }

    private static void usage(PrintStream err) {
        err.println("usage: ./fleet COMMAND [options]   (./fleet test runs the test suite, ./fleet fuzz TARGET --seconds N a fuzz target)");
        COMMANDS.values().forEach(c -> err.println("  " + c.usage()));
    }
}
