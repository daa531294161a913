package io.moefleet.cli.fleet;

/** A fleet that could not start: which service, why, and where its log is. Every process already started is stopped. */
public final class FleetStartException extends RuntimeException {

    FleetStartException(String message) {
        super(message);
    }

    FleetStartException(String message, Throwable cause) {
        super(message, cause);
    }
}
