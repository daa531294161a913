package io.moefleet.grammar;

/**
 * Any bytes, including none. Its progress is always 0, so reading text leaves the state as it was: free text costs the
 * automaton one state, however long it runs.
 */
final class AnyText extends ByteRule {

    @Override
    long next(long progress, int b) {
        return 0;
    }

    @Override
    boolean canEnd(long progress) {
        return true;
    }

    @Override
    boolean canContinue(long progress) {
        return true;
    }
}
