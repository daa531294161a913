package io.moefleet.router.scheduler;

import io.moefleet.chat.generation.FinishReason;

/**
 * Where a generation's results go. Called on the scheduler's stepping thread, so an implementation hands work that
 * may block (network writes) to another thread and returns at once; exceptions it throws end its own generation only.
 */
public interface GenerationListener {

    /**
     * A generated token other than an end or stop token.
     *
     * @param logprobs present when the generation asked for logprobs
     * @return whether to go on; false ends the generation with {@link FinishReason#STOP} (a stop string was met)
     */
    boolean onToken(int token, TokenLogprobs logprobs);

    /**
     * The generation ended normally.
     *
     * @param reason STOP (an end or stop token, or {@link #onToken} said so) or LENGTH (the token budget ran out)
     * @param generated the tokens sampled, an ending end or stop token included (as usage counts them)
     */
    void onFinish(FinishReason reason, int generated);

    /** The generation failed (a rejected admission, a failed step): it will get no other call. */
    void onError(RuntimeException error);
}
