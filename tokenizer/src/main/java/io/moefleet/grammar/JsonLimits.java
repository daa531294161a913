package io.moefleet.grammar;

/**
 * The bounds a JSON grammar puts on what a schema leaves open, so that a value always fits in a token budget: strings
 * without {@code maxLength}, numbers without bounds, arrays without {@code maxItems}, objects and values a schema does
 * not describe, and whitespace (which no schema describes).
 *
 * @param maxStringLength characters in a string whose schema sets no smaller {@code maxLength}
 * @param maxIntegerDigits digits of an integer part whose schema sets no bounds
 * @param maxFractionDigits digits after the decimal point of a {@code number}
 * @param maxArrayItems items of an array whose schema sets no smaller {@code maxItems}
 * @param maxObjectProperties members of an object that declares no properties
 * @param maxWhitespace whitespace characters at each place JSON allows them
 * @param maxDepth nesting of objects and arrays in a value the schema leaves free
 */
public record JsonLimits(int maxStringLength, int maxIntegerDigits, int maxFractionDigits, int maxArrayItems,
        int maxObjectProperties, int maxWhitespace, int maxDepth) {

    /** Room for real arguments: long strings, 12-digit numbers, compact or single-spaced JSON. */
    public static final JsonLimits DEFAULT = new JsonLimits(1024, 12, 6, 64, 32, 1, 4);

    public JsonLimits {
        if (maxStringLength < 0 || maxIntegerDigits < 1 || maxIntegerDigits > 15 || maxFractionDigits < 1
                || maxArrayItems < 0 || maxObjectProperties < 0 || maxWhitespace < 0 || maxDepth < 0) {
            throw new IllegalArgumentException("JSON limits out of range: " + this);
        }
    }
}
