package io.moefleet.grammar;

/**
 * A quoted JSON string of {@code minChars..maxChars} characters: well-formed UTF-8 (no overlong forms, no surrogates),
 * no raw control characters, escapes {@code \" \\ \/ \b \f \n \r \t \\uXXXX}, each escape one character. The progress
 * packs the characters read and where the reader is inside a character: {@code chars * 16 + phase}.
 */
final class JsonStringRule extends ByteRule {

    private static final int BEFORE_QUOTE = 0;
    private static final int BETWEEN_CHARACTERS = 1;
    private static final int CONTINUATIONS_1 = 2;     // continuation bytes 80..BF still needed: 1, 2 or 3
    private static final int CONTINUATIONS_2 = 3;
    private static final int CONTINUATIONS_3 = 4;
    private static final int AFTER_E0 = 5;            // next A0..BF (no overlong form), then 1 more
    private static final int AFTER_ED = 6;            // next 80..9F (no surrogate), then 1 more
    private static final int AFTER_F0 = 7;            // next 90..BF (no overlong form), then 2 more
    private static final int AFTER_F4 = 8;            // next 80..8F (at most U+10FFFF), then 2 more
    private static final int AFTER_BACKSLASH = 9;
    private static final int HEX_DIGITS_4 = 10;       // \\u and 4, 3, 2, 1 hex digits to go
    private static final int HEX_DIGITS_1 = 13;
    private static final int CLOSED = 14;

    private final int minChars;
    private final int maxChars;

    JsonStringRule(int minChars, int maxChars) {
        if (minChars < 0 || maxChars < minChars) {
            throw new IllegalArgumentException("string length bounds " + minChars + ".." + maxChars);
        }
        this.minChars = minChars;
        this.maxChars = maxChars;
    }

    @Override
    long next(long progress, int b) {
        long chars = progress >>> 4;
        int phase = (int) (progress & 15);
        return switch (phase) {
            case BEFORE_QUOTE -> b == '"' ? BETWEEN_CHARACTERS : REJECT;
            case BETWEEN_CHARACTERS -> characterStart(chars, b);
            case CONTINUATIONS_1 -> continuation(b, 0x80, 0xBF) ? at(chars, BETWEEN_CHARACTERS) : REJECT;
            case CONTINUATIONS_2 -> continuation(b, 0x80, 0xBF) ? at(chars, CONTINUATIONS_1) : REJECT;
            case CONTINUATIONS_3 -> continuation(b, 0x80, 0xBF) ? at(chars, CONTINUATIONS_2) : REJECT;
            case AFTER_E0 -> continuation(b, 0xA0, 0xBF) ? at(chars, CONTINUATIONS_1) : REJECT;
            case AFTER_ED -> continuation(b, 0x80, 0x9F) ? at(chars, CONTINUATIONS_1) : REJECT;
            case AFTER_F0 -> continuation(b, 0x90, 0xBF) ? at(chars, CONTINUATIONS_2) : REJECT;
            case AFTER_F4 -> continuation(b, 0x80, 0x8F) ? at(chars, CONTINUATIONS_2) : REJECT;
            case AFTER_BACKSLASH -> b == 'u' ? at(chars, HEX_DIGITS_4)
                    : "\"\\/bfnrt".indexOf(b) >= 0 ? at(chars, BETWEEN_CHARACTERS) : REJECT;
            case CLOSED -> REJECT;
            default -> Character.digit(b, 16) >= 0 ? at(chars, phase == HEX_DIGITS_1 ? BETWEEN_CHARACTERS : phase + 1) : REJECT;
        };
    }

    private long characterStart(long chars, int b) {
        if (b == '"') {
            return chars >= minChars ? at(chars, CLOSED) : REJECT;
        }
        if (chars >= maxChars || b < 0x20) {
            return REJECT;
        }
        long counted = chars + 1;
        if (b == '\\') {
            return at(counted, AFTER_BACKSLASH);
        }
        if (b < 0x80) {
            return at(counted, BETWEEN_CHARACTERS);
        }
        if (b >= 0xC2 && b <= 0xDF) {
            return at(counted, CONTINUATIONS_1);
        }
        if (b == 0xE0) {
            return at(counted, AFTER_E0);
        }
        if (b == 0xED) {
            return at(counted, AFTER_ED);
        }
        if (b >= 0xE1 && b <= 0xEF) {
            return at(counted, CONTINUATIONS_2);
        }
        if (b == 0xF0) {
            return at(counted, AFTER_F0);
        }
        if (b >= 0xF1 && b <= 0xF3) {
            return at(counted, CONTINUATIONS_3);
        }
        if (b == 0xF4) {
            return at(counted, AFTER_F4);
        }
        return REJECT;                               // 80..C1 and F5..FF never start a character
    }

    private static boolean continuation(int b, int low, int high) {
        return b >= low && b <= high;
    }

    private static long at(long chars, int phase) {
        return chars << 4 | phase;
    }

    @Override
    boolean canEnd(long progress) {
        return (progress & 15) == CLOSED;
    }

    @Override
    boolean canContinue(long progress) {
        return (progress & 15) != CLOSED;
    }
}
