package io.moefleet.cli;

import java.io.PrintStream;

/** One {@code ./fleet} subcommand. Results go to {@code out}; logs and progress to {@code err}. */
interface Command {

    /** Options that take no value. */
    default java.util.Set<String> switches() {
        return java.util.Set.of();
    }

    String usage();

    /** @return the process exit code */
    int run(Args args, PrintStream out, PrintStream err) throws Exception;
}
