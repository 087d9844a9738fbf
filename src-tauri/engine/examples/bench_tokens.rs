//! How fast Tally counts tokens: a deterministic ~100k-token text (prose, code, unicode, emoji,
//! whitespace runs) counted with both encodings, plus a pathological run of spaces; and
//! re-pricing a 300-answer conversation under every catalog target.
//!
//! `cargo run --release -p tally-engine --example bench_tokens -- [DIR]`
//!
//! Writes the texts to DIR (default `target/bench-tokens`) so that `scripts/bench/tokens.sh` can
//! count the very same bytes with Python tiktoken in the same run, and prints one line per case:
//! `rust <encoding> <case> tokens=<n> best_ms=<ms> median_ms=<ms> tokens_per_s=<n>`.

use std::path::PathBuf;
use std::time::Instant;

use tally_engine::tokens::{count_content, Encoding};

const ROUNDS: usize = 7;

/// xorshift64*: the same text on every run and platform.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

fn mixed_text(target_bytes: usize) -> String {
    let prose = ["The", "price", "of", "a", "token", "depends", "on", "the", "model", "and", "route,", "so", "compare", "them", "before", "sending.", "Costs", "add", "up", "quickly", "when", "threads", "grow", "long."];
    let code = ["fn main() {", "    let total: u64 = xs.iter().sum();", "    println!(\"{total}\");", "}", "def f(x):", "\treturn x * 2  # doubled", "const y = await fetch(url);", "SELECT id, cost FROM usage WHERE cost > 0.001;"];
    let unicode = ["東京の天気は晴れです。", "数据和模型", "مرحبا بالعالم", "naïve café déjà vu", "e\u{301}te\u{301}", "😀 👍🏽 👩‍👩‍👧‍👦 🇫🇷🇯🇵", "Привет, мир", "नमस्ते"];
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut out = String::with_capacity(target_bytes + 256);
    while out.len() < target_bytes {
        match rng.next() % 10 {
            0..=5 => {
                for _ in 0..(8 + rng.next() % 30) {
                    out.push_str(rng.pick(&prose));
                    out.push(' ');
                }
                out.push_str("\n\n");
            }
            6 | 7 => {
                for _ in 0..(2 + rng.next() % 8) {
                    out.push_str(rng.pick(&code));
                    out.push('\n');
                }
                out.push('\n');
            }
            8 => {
                for _ in 0..(3 + rng.next() % 10) {
                    out.push_str(rng.pick(&unicode));
                    out.push(' ');
                }
                out.push('\n');
            }
            _ => out.push_str(&" ".repeat(1 + (rng.next() % 200) as usize)),
        }
    }
    out
}

fn time(encoding: Encoding, case: &str, text: &str) {
    let mut ms: Vec<f64> = Vec::with_capacity(ROUNDS);
    let mut tokens = 0;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        tokens = count_content(encoding, text);
        ms.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    let (best, median) = (ms[0], ms[ROUNDS / 2]);
    println!("rust {} {case} tokens={tokens} best_ms={best:.2} median_ms={median:.2} tokens_per_s={:.0}", encoding.name(), tokens as f64 / (median / 1000.0));
}

/// "What would this have cost?" for a synthetic conversation of 300 answers (one column, each
/// request carrying the whole thread so far) over every target of the embedded catalog.
fn reprice_catalog() {
    use tally_engine::estimates::reprice::{Measured, MeasuredAnswer};
    use tally_engine::stream::Usage;
    use tally_engine::target::Target;
    let mut m = Measured::default();
    m.systems.insert(1, Some("You are a careful assistant.".into()));
    let mut thread = Vec::new();
    let text = mixed_text(2_000);
    for turn in 0..300i64 {
        let (prompt, answer) = (turn * 2, turn * 2 + 1);
        m.texts.insert(prompt, ("user".into(), text.chars().take(300).collect()));
        m.texts.insert(answer, ("assistant".into(), text.clone()));
        thread.push(prompt);
        let usage = Usage { input_tokens: 500 * (turn as u64 + 1), output_tokens: 450, ..Default::default() };
        m.answers.push(MeasuredAnswer { message_id: answer, column_id: 1, target: Target { route: "openai".into(), model: "gpt-4o".into() }, input: thread.clone(), usage, paid: None });
        thread.push(answer);
    }
    let pricing = tally_engine::pricing::Pricing::new(tally_engine::pricing::Catalog::embedded(), tally_engine::pricing::Fees::default());
    let start = Instant::now();
    let r = tally_engine::estimates::reprice::reprice_with(&pricing, &m, None);
    println!("rust reprice answers={} targets={} ms={:.1}", r.answers, r.rows.len(), start.elapsed().as_secs_f64() * 1000.0);
}

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("target/bench-tokens"));
    std::fs::create_dir_all(&dir)?;
    let mixed = mixed_text(430_000);
    let spaces = " ".repeat(100_000) + "x";
    std::fs::write(dir.join("mixed.txt"), &mixed)?;
    std::fs::write(dir.join("spaces.txt"), &spaces)?;
    for e in Encoding::ALL {
        let start = Instant::now();
        count_content(e, "load");
        println!("rust {} load ms={:.1}", e.name(), start.elapsed().as_secs_f64() * 1000.0);
    }
    for e in Encoding::ALL {
        time(e, "mixed", &mixed);
        time(e, "spaces", &spaces);
    }
    reprice_catalog();
    Ok(())
}
