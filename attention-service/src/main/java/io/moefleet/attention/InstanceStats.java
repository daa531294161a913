package io.moefleet.attention;

/**
 * What one attention instance reports: Attend calls and the token rows they carried (a token counts once per layer),
 * sequences started and released there, the sequences it holds now with their cached positions and how many fit in its
 * memory, and its KV pages.
 */
public record InstanceStats(int instance, String address, long calls, long tokenRows, long sequencesStarted,
        long sequencesReleased, int sequencesHeld, long cachedPositions, long kvCapacityPositions, InstancePageStats pages) {}
