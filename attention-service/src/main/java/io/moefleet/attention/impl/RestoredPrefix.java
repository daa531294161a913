package io.moefleet.attention.impl;

import io.moefleet.kvcache.KvPage;
import io.moefleet.kvcache.PageKey;
import java.util.List;

/** The leading pages of a prompt found for Admit, in order with their keys: the first {@code hotPages} from the instance's memory, the rest from the pool. */
record RestoredPrefix(List<PageKey> keys, List<KvPage> pages, int hotPages, int poolPages) {

    static final RestoredPrefix NONE = new RestoredPrefix(List.of(), List.of(), 0, 0);
}
