package io.moefleet.chat.output;

import java.util.List;

/** The texts that structure a Kimi K2 answer: reasoning and tool calls. Checkpoints have a token for each. */
public final class KimiMarkers {

    public static final String THINK_BEGIN = "<think>";
    public static final String THINK_END = "</think>";
    public static final String TOOL_CALLS_BEGIN = "<|tool_calls_section_begin|>";
    public static final String TOOL_CALLS_END = "<|tool_calls_section_end|>";
    public static final String TOOL_CALL_BEGIN = "<|tool_call_begin|>";
    public static final String TOOL_CALL_ARGUMENTS = "<|tool_call_argument_begin|>";
    public static final String TOOL_CALL_END = "<|tool_call_end|>";

    /** What the parsers look for: ordinary text must never spell one of these where a grammar is in force. */
    public static final List<String> ALL = List.of(THINK_BEGIN, THINK_END, TOOL_CALLS_BEGIN, TOOL_CALLS_END,
            TOOL_CALL_BEGIN, TOOL_CALL_ARGUMENTS, TOOL_CALL_END);

    /** The prefix of a call id before the function name: {@code functions.NAME:INDEX}. */
    public static final String CALL_ID_PREFIX = "functions.";

    private KimiMarkers() {}
}
