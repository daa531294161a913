package io.moefleet.grammar;

/** One byte out of a set; progress 0 before it, 1 after. */
final class ByteClass extends ByteRule {

    private final boolean[] allowed = new boolean[256];

    ByteClass(String bytes) {
        for (char c : bytes.toCharArray()) {
            if (c > 0x7F) {
                throw new IllegalArgumentException("a byte class takes ASCII characters, got U+" + Integer.toHexString(c));
            }
            allowed[c] = true;
        }
    }

    @Override
    long next(long progress, int b) {
        return progress == 0 && allowed[b] ? 1 : REJECT;
    }

    @Override
    boolean canEnd(long progress) {
        return progress == 1;
    }

    @Override
    boolean canContinue(long progress) {
        return progress == 0;
    }
}
