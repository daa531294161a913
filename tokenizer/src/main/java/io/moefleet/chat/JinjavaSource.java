package io.moefleet.chat;

import com.hubspot.jinjava.interpret.Context;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Jinja template's text made ready for Jinjava where the two read Jinja differently:
 * <ul>
 *   <li>a filter ({@code x | name}) or test ({@code x is name}) Jinjava lacks: Jinja rejects the template, Jinjava would
 *       render the expression as nothing and silently change the prompt, so the template is refused;
 *   <li>{@code lstrip_blocks}: Jinja strips the spaces and tabs before a block or comment only when nothing else
 *       precedes it on its line, Jinjava wherever it stands ({@code "a {% if %}"} would lose its space), so the
 *       stripping is done here and Jinjava's is left off;
 *   <li>{@code a+1} becomes {@code a+ 1}: Jinjava's lexer rejects a {@code +} right before a digit, as in Kimi
 *       K2-Thinking's {@code messages[:idx+1]}.
 * </ul>
 */
final class JinjavaSource {

    /** Raw blocks and comments stay as they are; code is what {@code {{ }}} and {@code {% %}} hold. */
    private static final Pattern PARTS = Pattern.compile(
            "\\{%-?\\s*raw\\s*-?%}.*?\\{%-?\\s*endraw\\s*-?%}|\\{#.*?#}|(\\{\\{|\\{%)(.*?)(}}|%})", Pattern.DOTALL);
    private static final Pattern STRING = Pattern.compile("'(?:[^'\\\\]|\\\\.)*'|\"(?:[^\"\\\\]|\\\\.)*\"");
    private static final Pattern FILTER = Pattern.compile("\\|\\s*([A-Za-z_]\\w*)");
    private static final Pattern TEST = Pattern.compile("\\bis\\s+(?:not\\s+)?([A-Za-z_]\\w*)");
    private static final Pattern PLUS_BEFORE_DIGIT = Pattern.compile("\\+(?=\\d)");

    private JinjavaSource() {}

    static String prepare(String template, Context renderer) {
        Set<String> unknown = new TreeSet<>();
        StringBuilder out = new StringBuilder(template.length() + 16);
        Matcher part = PARTS.matcher(template);
        int last = 0;
        while (part.find()) {
            String text = template.substring(last, part.start());
            boolean blockOrComment = !"{{".equals(part.group(1)) && !part.group().startsWith("{%+");
            out.append(blockOrComment ? stripIndent(text, last == 0) : text);
            String code = part.group(2);
            out.append(code == null ? part.group() : part.group(1) + prepareCode(code, renderer, unknown) + part.group(3));
            last = part.end();
        }
        out.append(template, last, template.length());
        if (!unknown.isEmpty()) {
            throw new ChatTemplateException("the chat template uses " + String.join(", ", unknown)
                    + ", which the Jinja renderer (Jinjava) does not have");
        }
        return out.toString();
    }

    /** The text before a block or comment without the spaces and tabs that start its last line. */
    private static String stripIndent(String text, boolean atTemplateStart) {
        int lineStart = text.lastIndexOf('\n') + 1;
        if (lineStart == 0 && !atTemplateStart) {
            return text; // something else precedes the tag on its line
        }
        for (int i = lineStart; i < text.length(); i++) {
            if (text.charAt(i) != ' ' && text.charAt(i) != '\t') {
                return text;
            }
        }
        return text.substring(0, lineStart);
    }

    /** The code with its string literals untouched and the rest checked and respaced. */
    private static String prepareCode(String code, Context renderer, Set<String> unknown) {
        StringBuilder out = new StringBuilder(code.length() + 4);
        Matcher string = STRING.matcher(code);
        int from = 0;
        while (string.find()) {
            out.append(prepareExpression(code.substring(from, string.start()), renderer, unknown)).append(string.group());
            from = string.end();
        }
        return out.append(prepareExpression(code.substring(from), renderer, unknown)).toString();
    }

    private static String prepareExpression(String expression, Context renderer, Set<String> unknown) {
        for (Matcher m = FILTER.matcher(expression); m.find(); ) {
            if (renderer.getFilter(m.group(1)) == null) {
                unknown.add("filter '" + m.group(1) + "'");
            }
        }
        for (Matcher m = TEST.matcher(expression); m.find(); ) {
            if (renderer.getExpTest(m.group(1)) == null) {
                unknown.add("test '" + m.group(1) + "'");
            }
        }
        return PLUS_BEFORE_DIGIT.matcher(expression).replaceAll("+ ");
    }
}
