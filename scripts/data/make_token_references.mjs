// Writes src-tauri/engine/tests/data/token-references.json: token counts of a fixed set of texts
// (and of a few chat message arrays) made by two independent JavaScript implementations of
// OpenAI's encodings, which ship their rank files inside their npm packages (no download at run
// time). The engine's tests assert that Tally's counts equal these for every entry.
//
// Run from the repository root (Node >= 18):
//   d=$(mktemp -d) && npm install --prefix "$d" --no-save --no-package-lock js-tiktoken@1.0.21 gpt-tokenizer@4.0.0 \
//     && NODE_PATH="$d/node_modules" node scripts/data/make_token_references.mjs "$d/node_modules"
//
// Text counts come from js-tiktoken and are cross-checked against gpt-tokenizer (the script stops
// if the two disagree). Chat counts come from gpt-tokenizer's countChatCompletionTokens, which
// implements the OpenAI cookbook's num_tokens_from_messages (3 tokens per message, 1 per name,
// 3 to prime the reply).

import { createRequire } from "node:module";
import { writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";

const modules = resolve(process.argv[2] ?? "node_modules");
const require = createRequire(join(modules, "noop.js"));
const load = async (spec) => import(require.resolve(spec));

const { Tiktoken } = await load("js-tiktoken/lite");
const o200kRanks = (await load("js-tiktoken/ranks/o200k_base")).default;
const cl100kRanks = (await load("js-tiktoken/ranks/cl100k_base")).default;
const jsTiktoken = { o200k_base: new Tiktoken(o200kRanks), cl100k_base: new Tiktoken(cl100kRanks) };
const gptTokenizer = {
  o200k_base: await load("gpt-tokenizer/encoding/o200k_base"),
  cl100k_base: await load("gpt-tokenizer/encoding/cl100k_base"),
};
const chatModels = { o200k_base: await load("gpt-tokenizer/model/gpt-4o"), cl100k_base: await load("gpt-tokenizer/model/gpt-4-turbo") };

// A deterministic pseudo-random generator (mulberry32), so the long text is the same every run.
function rng(seed) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function longText() {
  const next = rng(42);
  const words = ["token", "price", "model", "the", "of", "answer", "Tally", "OpenRouter", "cost", "déjà", "vu", "naïve", "東京", "数据", "مرحبا", "😀", "🇫🇷", "42", "3.14159", "fn", "main()", "{", "}", "=>", "\t", "  "];
  const out = [];
  for (let i = 0; i < 6000; i++) {
    out.push(words[Math.floor(next() * words.length)]);
    const r = next();
    out.push(r < 0.05 ? "\n\n" : r < 0.1 ? "\n" : r < 0.12 ? ". " : " ");
  }
  return out.join("");
}

const texts = [
  ["empty", ""],
  ["ascii prose", "The quick brown fox jumps over the lazy dog. It's 9 o'clock; we'll see what they've done."],
  ["paragraphs", "First paragraph, short.\n\nSecond paragraph: it has two sentences. Here is the second.\n\n\nThird after three newlines.\n\n  Fourth starts with spaces.\n\nLast."],
  ["rust code", "fn main() {\n    let xs: Vec<u64> = (0..10).map(|x| x * x).collect();\n    println!(\"{:?}\", xs);\n}\n"],
  ["python code", "def fib(n):\n\tif n < 2:\n\t\treturn n\n\treturn fib(n - 1) + fib(n - 2)\n\n\nprint([fib(i) for i in range(20)])\n"],
  ["json", "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],\"max_tokens\":256,\"url\":\"https://example.com/a?b=c&d=e\"}"],
  ["cjk", "東京は日本の首都です。数据科学和机器学习正在改变世界。한국어 문장도 있습니다."],
  ["arabic and hebrew", "مرحبا بالعالم، كيف حالك اليوم؟ שלום עולם"],
  ["combining marks", "e\u0301te\u0301 cafe\u0301 n\u0303 Z\u0351\u0308\u0344a\u0300\u0301l\u035bg\u0306o\u0324 q\u0307\u0323 \u1e9b\u0323"],
  ["devanagari and thai", "नमस्ते दुनिया। ภาษาไทยไม่มีช่องว่างระหว่างคำ"],
  ["emoji", "I ❤️ tokens 😀😃😄 👍🏽 👩‍👩‍👧‍👦 👨🏿‍💻 🏳️‍🌈 🇫🇷🇯🇵🇺🇸 ✈️"],
  ["10000 spaces", " ".repeat(10000)],
  ["spaces then a word", " ".repeat(5000) + "word" + " ".repeat(3)],
  ["mixed whitespace", "a\t\t\tb\n\n\n\nc \t \n \t\r\n\r\n" + "\t".repeat(300) + "\n".repeat(200) + " \n".repeat(100) + "end"],
  ["numbers", "0 1 12 123 1234 12345 123456789012345678901234567890 3.14159265358979 -42 1e-9 1,000,000 2026-11-25 0x1F"],
  ["special token text", "Literal <|endoftext|> and <|im_start|> are plain text in a prompt."],
  ["crlf text", "line one\r\nline two\r\n\r\nline four\r\n"],
  ["long mixed text", longText()],
];

function countText(enc, text) {
  const a = jsTiktoken[enc].encode(text, [], []).length;
  const b = gptTokenizer[enc].encode(text, { disallowedSpecial: new Set() }).length;
  if (a !== b) throw new Error(`js-tiktoken (${a}) and gpt-tokenizer (${b}) disagree on ${enc} for a text`);
  return a;
}

const chats = [
  ["two messages", [
    { role: "system", content: "You are a helpful assistant." },
    { role: "user", content: "What is the capital of France?" },
  ]],
  ["a thread with a name", [
    { role: "system", content: "You are terse. Answer in one line." },
    { role: "user", name: "alice", content: "Explain BPE in one sentence." },
    { role: "assistant", content: "Byte-pair encoding merges the most frequent pairs of symbols into tokens." },
    { role: "user", content: "And 東京 in tokens? 😀" },
  ]],
  ["an empty message", [{ role: "user", content: "" }]],
];

const out = {
  generated_by: "scripts/data/make_token_references.mjs with js-tiktoken@1.0.21 (texts, cross-checked with gpt-tokenizer@4.0.0) and gpt-tokenizer@4.0.0 countChatCompletionTokens (chats)",
  texts: texts.map(([name, text]) => ({ name, text, o200k_base: countText("o200k_base", text), cl100k_base: countText("cl100k_base", text) })),
  chats: chats.map(([name, messages]) => ({
    name,
    messages,
    o200k_base: chatModels.o200k_base.countChatCompletionTokens({ messages }),
    cl100k_base: chatModels.cl100k_base.countChatCompletionTokens({ messages }),
  })),
};

const target = resolve("src-tauri/engine/tests/data/token-references.json");
mkdirSync(resolve("src-tauri/engine/tests/data"), { recursive: true });
writeFileSync(target, JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${out.texts.length} texts and ${out.chats.length} chats to ${target}`);
