package io.moefleet.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.chat.ChatEncoder;
import io.moefleet.chat.ChatPrompt;
import io.moefleet.tokenizer.TextTokenizer;
import io.moefleet.tokenizer.Tokenizers;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * {@code tokenize}: the token ids of a text (special-token text recognised, as Kimi's tokenizer does by default), or
 * of a chat request rendered with the checkpoint's own template, as a served request would be; for debugging prompts.
 */
final class TokenizeCommand implements Command {

    @Override
    public String usage() {
        return "tokenize --model DIR (--text TEXT | --chat FILE.json)   FILE: {\"messages\": [...], \"tools\": [...], \"add_generation_prompt\": true}";
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path model = Path.of(args.required("model"));
        String text = args.optional("text", null);
        String chat = args.optional("chat", null);
        args.rejectUnknown();
        if ((text == null) == (chat == null)) {
            throw new UsageException("tokenize: give exactly one of --text and --chat");
        }
        int[] ids;
        if (text != null) {
            try (TextTokenizer tokenizer = Tokenizers.load(model)) {
                ids = tokenizer.encode(text, true);
            }
        } else {
            ChatPrompt prompt = ChatPrompt.fromJson(readJson(Path.of(chat)));
            try (ChatEncoder encoder = ChatEncoder.load(model)) {
                ids = encoder.encode(prompt);
            }
        }
        err.println(ids.length + " tokens");
        out.println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(" ")));
        return 0;
    }

    private static JsonNode readJson(Path file) {
        try {
            return new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the chat file " + file + ": " + e.getMessage(), e);
        }
    }
}
