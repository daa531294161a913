package io.moefleet.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Form C of the Brown corpus read as plain text, and the held-out split by file. */
class BrownCorpusTest {

    @TempDir
    Path dir;

    @Test
    void tagsDropAndPunctuationAttaches() {
        assertEquals("The jury said \"no evidence\" that any irregularities took place.",
                BrownCorpus.sentence("\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' that/cs any/dti irregularities/nns took/vbd place/nn ./."));
        assertEquals("Atlanta's recent primary (1962), it said.",
                BrownCorpus.sentence("Atlanta's/np$ recent/jj primary/nn (/( 1962/cd )/) ,/, it/pps said/vbd ./."));
        assertEquals("First.\nSecond one.\n", BrownCorpus.document("\n\n\tFirst/od ./.\n\n\n\tSecond/od one/cd ./.\n"));
    }

    @Test
    void everyTwentiethFileIsHeldOut() throws IOException {
        for (int i = 1; i <= 45; i++) {
            Files.writeString(dir.resolve(String.format("ca%02d", i)), "\tword" + i + "/nn ./.\n");
        }
        Files.writeString(dir.resolve("README"), "not a corpus file");
        BrownCorpus.Split split = BrownCorpus.read(dir);
        assertEquals(43, split.train().size());
        assertEquals(java.util.List.of("word20.\n", "word40.\n"), split.heldOut());
    }
}
