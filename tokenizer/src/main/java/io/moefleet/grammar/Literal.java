package io.moefleet.grammar;

/** Fixed bytes; the progress is how many of them were read. */
final class Literal extends ByteRule {

    private final byte[] bytes;

    Literal(byte[] bytes) {
        this.bytes = bytes.clone();
    }

    @Override
    long next(long progress, int b) {
        return progress < bytes.length && (bytes[(int) progress] & 0xFF) == b ? progress + 1 : REJECT;
    }

    @Override
    boolean canEnd(long progress) {
        return progress == bytes.length;
    }

    @Override
    boolean canContinue(long progress) {
        return progress < bytes.length;
    }
}
