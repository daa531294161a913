package io.moefleet.grammar;

/** A JSON schema that the grammar cannot honour exactly, e.g. one with a {@code pattern}; the message says where. */
public final class UnsupportedSchemaException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public UnsupportedSchemaException(String message) {
        super(message);
    }
}
