package io.moefleet.model.forward;

/** Sees decisions inside a step, for knife-edge checks in tests and for routing counters. Called on the stepping thread. */
@FunctionalInterface
public interface ForwardObserver {
    ForwardObserver NONE = (layer, position, routing) -> {};

    void onRouting(int layer, int position, Routing routing);
}
