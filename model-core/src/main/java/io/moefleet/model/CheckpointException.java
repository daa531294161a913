package io.moefleet.model;

/** A checkpoint that cannot be used as it is: bad config, corrupt or truncated file, missing or misshapen tensor. The message names what is wrong. */
public class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
