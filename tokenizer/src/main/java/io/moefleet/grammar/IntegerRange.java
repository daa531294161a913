package io.moefleet.grammar;

/**
 * A JSON integer in {@code [min, max]}: an optional minus, then digits without leading zeros, never {@code -0}. A digit
 * is read only when some number in the range still starts with the digits so far, so the leaf never writes itself into
 * a corner. The progress packs {@code started | negative | digitCount | magnitude}.
 */
final class IntegerRange extends ByteRule {

    /** Bounds stay within 15 digits, so magnitudes and the powers of ten below never overflow. */
    static final long LIMIT = 999_999_999_999_999L;

    private static final long STARTED = 1L << 62;
    private static final long NEGATIVE = 1L << 61;
    private static final int COUNT_SHIFT = 56;
    private static final long MAGNITUDE = (1L << COUNT_SHIFT) - 1;

    private final long min;
    private final long max;

    IntegerRange(long min, long max) {
        if (min > max || min < -LIMIT || max > LIMIT) {
            throw new IllegalArgumentException("integer range [" + min + ", " + max + "] is empty or beyond 15 digits");
        }
        this.min = min;
        this.max = max;
    }

    @Override
    long next(long progress, int b) {
        boolean negative = (progress & NEGATIVE) != 0;
        int digits = digitCount(progress);
        long magnitude = progress & MAGNITUDE;
        if (b == '-') {
            return progress == 0 && min < 0 ? STARTED | NEGATIVE : REJECT;
        }
        if (b < '0' || b > '9' || (digits == 1 && magnitude == 0)) {
            return REJECT;                             // not a digit, or after a leading 0
        }
        long extended = magnitude * 10 + (b - '0');
        if (digits == 15 || !feasible(negative, extended, digits == 0 && b == '0')) {
            return REJECT;
        }
        return STARTED | (negative ? NEGATIVE : 0) | ((long) (digits + 1) << COUNT_SHIFT) | extended;
    }

    /** Whether a number in range starts with these digits: the prefix itself, or it followed by j more digits. */
    private boolean feasible(boolean negative, long magnitude, boolean lonelyZero) {
        if (negative && magnitude == 0) {
            return false;                              // -0 and -0... are not written
        }
        long low = magnitude;
        long high = magnitude;
        for (int more = 0; more <= 15; more++) {
            long signedLow = negative ? -high : low;
            long signedHigh = negative ? -low : high;
            if (signedLow <= max && signedHigh >= min) {
                return true;
            }
            if (lonelyZero || high > LIMIT) {
                return false;
            }
            low = low * 10;
            high = high * 10 + 9;
        }
        return false;
    }

    private static int digitCount(long progress) {
        return (int) ((progress >>> COUNT_SHIFT) & 31);
    }

    @Override
    boolean canEnd(long progress) {
        if (digitCount(progress) == 0) {
            return false;
        }
        long magnitude = progress & MAGNITUDE;
        long value = (progress & NEGATIVE) != 0 ? -magnitude : magnitude;
        return value >= min && value <= max;
    }

    @Override
    boolean canContinue(long progress) {
        for (int digit = '0'; digit <= '9'; digit++) {
            if (next(progress, digit) != REJECT) {
                return true;
            }
        }
        return progress == 0 && min < 0;
    }
}
