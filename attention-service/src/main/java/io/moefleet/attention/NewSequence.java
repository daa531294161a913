package io.moefleet.attention;

import java.util.function.Supplier;

/**
 * What a {@link SequenceAssignment} sees of a sequence to place: its prompt, how many sequences each instance holds,
 * and, asked for only when a policy needs them, how many leading pages of the prompt each instance holds hot (one
 * HotPrefix call to every instance at once, made on first use).
 */
public final class NewSequence {

    private final int[] prompt;
    private final int[] sequencesHeld;
    private final Supplier<int[]> probeHotPages;
    private int[] hotPages;

    NewSequence(int[] prompt, int[] sequencesHeld, Supplier<int[]> probeHotPages) {
        this.prompt = prompt;
        this.sequencesHeld = sequencesHeld.clone();
        this.probeHotPages = probeHotPages;
    }

    /** The instances to choose from, {@code [0, instances)}. */
    public int instances() {
        return sequencesHeld.length;
    }

    /** The prompt's tokens (the first chunk's, for a sequence started without Admit). */
    public int promptLength() {
        return prompt.length;
    }

    /** Sequences assigned to {@code instance} and not released. */
    public int sequencesOn(int instance) {
        return sequencesHeld[instance];
    }

    /** Leading full pages of the prompt that {@code instance} holds hot; 0 for an instance that did not answer. */
    public int hotPages(int instance) {
        if (hotPages == null) {
            hotPages = probeHotPages.get();
        }
        return hotPages[instance];
    }
}
