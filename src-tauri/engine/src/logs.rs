//! Tally's own log file, for a user to send with a bug report: what happened (start-up steps and
//! how long each took, warnings, errors), never what was said and never a key.
//!
//! Owns the `tracing` set-up of the app and the CLI: one file per day under `<data dir>/logs/`
//! (`tally.YYYY-MM-DD.log`, `tally-cli.YYYY-MM-DD.log`), the last [`KEPT_FILES`] days kept.
//! Every line goes through [`redact`] before it is written, so a key that slipped into a
//! provider's error text still never reaches the file.
//!
//! Must not: log prompt or answer text (events carry ids, routes, models, counts and timings),
//! or write anywhere but the data dir's `logs/` folder.

use std::borrow::Cow;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::FmtSpan;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

/// Days of log files kept; older ones are removed when a new day's file is started.
pub const KEPT_FILES: usize = 7;

/// Our crates log at `info`, everything else only its warnings. `TALLY_LOG` (for example
/// `TALLY_LOG=debug` or `TALLY_LOG=tally_engine=debug,warn`) replaces this.
const DEFAULT_FILTER: &str = "warn,tally_engine=info,tally_app=info,tally_cli=info";

/// The folder the logs are written to: `<data dir>/logs`.
pub fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("The log folder {path} could not be created: {source}")]
    Folder { path: String, source: io::Error },
    #[error("The log file in {path} could not be opened: {message}")]
    File { path: String, message: String },
    #[error("The log folder {path} could not be opened: {message}")]
    Open { path: String, message: String },
    #[error("Logging was already set up in this process.")]
    AlreadySet,
}

/// A subscriber that writes `program`'s log lines, redacted, to the rotating file in `dir`.
/// Spans log when they close, with how long they took (`time.busy`), which is how start-up
/// steps are timed.
pub fn subscriber(dir: &Path, program: &str) -> Result<impl tracing::Subscriber + Send + Sync, LogError> {
    std::fs::create_dir_all(dir).map_err(|source| LogError::Folder { path: dir.display().to_string(), source })?;
    let file = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(program)
        .filename_suffix("log")
        .max_log_files(KEPT_FILES)
        .build(dir)
        .map_err(|e| LogError::File { path: dir.display().to_string(), message: e.to_string() })?;
    let filter = std::env::var("TALLY_LOG").ok().and_then(|f| f.parse::<Targets>().ok()).unwrap_or_else(|| DEFAULT_FILTER.parse().unwrap_or_default());
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(Redacting(file))
        .with_ansi(false)
        .with_thread_names(true)
        .with_span_events(FmtSpan::CLOSE);
    Ok(tracing_subscriber::registry().with(layer.with_filter(filter)))
}

/// Sets the process's logging up (see [`subscriber`]) and logs panics into the file too.
/// Returns the folder the log files go to.
pub fn init(data_dir: &Path, program: &str) -> Result<PathBuf, LogError> {
    let dir = dir(data_dir);
    subscriber(&dir, program)?.try_init().map_err(|_| LogError::AlreadySet)?;
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::error!(%location, "panic: {}", panic_message(info.payload()));
        default_hook(info);
    }));
    tracing::info!(program, version = env!("CARGO_PKG_VERSION"), os = std::env::consts::OS, arch = std::env::consts::ARCH, "started");
    Ok(dir)
}

/// Opens the log folder in the system's file manager (creating it if no line was written yet).
/// Called from the app shell, so the web view needs no file-system or shell permission.
pub fn open_folder(data_dir: &Path) -> Result<PathBuf, LogError> {
    let dir = dir(data_dir);
    std::fs::create_dir_all(&dir).map_err(|source| LogError::Folder { path: dir.display().to_string(), source })?;
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else if cfg!(target_os = "windows") {
        "explorer"
    } else {
        "xdg-open"
    };
    let mut child = std::process::Command::new(opener)
        .arg(&dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| LogError::Open { path: dir.display().to_string(), message: format!("{opener} could not be started: {e}") })?;
    // Reap it when it is done, without holding the caller up.
    std::thread::spawn(move || child.wait());
    Ok(dir)
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    payload.downcast_ref::<&str>().copied().or_else(|| payload.downcast_ref::<String>().map(String::as_str)).unwrap_or("(no message)")
}

/// Wraps a writer so each formatted line is redacted before it is written. The fmt layer
/// writes every event in one `write_all`, so a key is never split across two calls.
struct Redacting<M>(M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

struct RedactingWriter<W>(W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

const REDACTED: &str = "[redacted]";

/// Prefixes providers give their keys (OpenAI, OpenRouter, Anthropic and DeepSeek `sk-`, Groq
/// `gsk_`, xAI `xai-`, Google `AIza`), and words after which a credential follows.
const KEY_PREFIXES: [&str; 4] = ["sk-", "gsk_", "xai-", "AIza"];
const CREDENTIAL_WORDS: [&str; 7] = ["bearer", "api_key", "api-key", "apikey", "x-api-key", "authorization", "x-goog-api-key"];

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'
}

/// `text` with anything that looks like an API key replaced by `[redacted]`: a key-shaped word
/// (a provider prefix and at least 12 more characters), the value after `Bearer`, `api_key`,
/// `x-api-key`, `Authorization` and the like, and any other run of 32 or more letters and digits
/// mixing upper case, lower case and digits (keys without a prefix, such as Mistral's).
pub fn redact(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0; // bytes of `text` already accounted for in `out`
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < text.len() {
        if !text.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let at_word_start = i == 0 || !text[..i].chars().next_back().is_some_and(is_token_char);
        if at_word_start {
            let rest = &text[i..];
            // A credential word: keep the word and what separates it, redact the value.
            if let Some(word) = CREDENTIAL_WORDS.iter().find(|w| rest.len() >= w.len() && rest.as_bytes()[..w.len()].eq_ignore_ascii_case(w.as_bytes())) {
                let after_word = i + word.len();
                if !text[after_word..].chars().next().is_some_and(is_token_char) {
                    let value_start = after_word + text[after_word..].find(|c: char| !matches!(c, ' ' | ':' | '=' | '"' | '\'' | '\\')).unwrap_or(text.len() - after_word);
                    // "Authorization: Bearer sk-…": the scheme word is not the secret.
                    let value_start = skip_word(text, value_start, "bearer");
                    let value_end = token_end(text, value_start);
                    if value_end - value_start >= 8 {
                        out.push_str(&text[copied..value_start]);
                        out.push_str(REDACTED);
                        copied = value_end;
                        i = value_end;
                        continue;
                    }
                }
            }
            let end = token_end(text, i);
            let word = &text[i..end];
            let prefixed = KEY_PREFIXES.iter().find(|p| word.starts_with(**p) && word.len() >= p.len() + 12);
            if let Some(prefix) = prefixed {
                out.push_str(&text[copied..i]);
                out.push_str(prefix);
                out.push_str(REDACTED);
                copied = end;
                i = end;
                continue;
            }
            // Runs of letters and digits inside the word (split at - _ .).
            let mut j = i;
            while j < end {
                let run_end = j + text[j..end].find(|c: char| !c.is_ascii_alphanumeric()).unwrap_or(end - j);
                let run = &bytes[j..run_end];
                if run.len() >= 32 && run.iter().any(u8::is_ascii_uppercase) && run.iter().any(u8::is_ascii_lowercase) && run.iter().any(u8::is_ascii_digit) {
                    out.push_str(&text[copied..j]);
                    out.push_str(REDACTED);
                    copied = run_end;
                }
                j = run_end + 1;
            }
            i = end.max(i + 1);
            continue;
        }
        i += 1;
    }
    if copied == 0 && out.is_empty() {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied.min(text.len())..]);
    Cow::Owned(out)
}

/// Where the word starting at `start` ends (a sentence's full stop is not part of it).
fn token_end(text: &str, start: usize) -> usize {
    let mut end = start + text[start..].find(|c: char| !is_token_char(c) && c != '/' && c != '+').unwrap_or(text.len() - start);
    while end > start && text.as_bytes()[end - 1] == b'.' {
        end -= 1;
    }
    end
}

fn skip_word(text: &str, start: usize, word: &str) -> usize {
    let rest = &text[start..];
    if rest.len() > word.len() && rest.as_bytes()[..word.len()].eq_ignore_ascii_case(word.as_bytes()) && rest[word.len()..].starts_with(' ') {
        start + word.len() + 1 + rest[word.len() + 1..].find(|c: char| c != ' ').unwrap_or(0)
    } else {
        start
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    /// A fake key: a provider's prefix and a body that says it is a test key. Put together here,
    /// so that no literal in the source looks like a real key.
    fn fake_key(prefix: &str, provider: &str) -> String {
        format!("{prefix}test-key-{provider}-not-real")
    }

    #[test]
    fn provider_keys_are_redacted_wherever_they_appear() {
        let cases = [
            (format!("Incorrect API key provided: {}.", fake_key("sk-", "openai")), "Incorrect API key provided: sk-[redacted]."),
            (format!("key {} refused", fake_key("sk-", "openrouter")), "key sk-[redacted] refused"),
            (format!("anthropic {}", fake_key("sk-", "anthropic")), "anthropic sk-[redacted]"),
            (format!("groq {}", fake_key("gsk_", "groq")), "groq gsk_[redacted]"),
            (format!("xai {}", fake_key("xai-", "xai")), "xai xai-[redacted]"),
            (format!("gemini {}", fake_key("AIza", "gemini")), "gemini AIza[redacted]"),
        ];
        for (input, expected) in cases {
            assert_eq!(redact(&input), expected, "{input}");
        }
    }

    #[test]
    fn credentials_after_their_name_are_redacted() {
        assert_eq!(redact("Authorization: Bearer abcdefgh12345678"), "Authorization: Bearer [redacted]");
        let header = format!("header authorization=Bearer {}", fake_key("sk-", "openai"));
        assert_eq!(redact(&header), "header authorization=Bearer [redacted]");
        assert_eq!(redact(r#"{"x-api-key":"test-key-mistral-no-prefix"}"#), r#"{"x-api-key":"[redacted]"}"#);
        assert_eq!(redact("url?key=1&api_key=q7w8e9r0t1y2"), "url?key=1&api_key=[redacted]");
        assert_eq!(redact("bearer xyz"), "bearer xyz", "too short to be a credential");
    }

    #[test]
    fn long_mixed_tokens_without_a_prefix_are_redacted() {
        // 32 letters and digits, upper and lower case mixed, as Mistral's keys are.
        assert_eq!(redact("mistral key FakeTestKeyForMistralNotReal1234 given"), "mistral key [redacted] given");
    }

    #[test]
    fn ordinary_log_text_is_left_alone() {
        for text in [
            "startup.open_store time.busy=12.3ms time.idle=4µs",
            "column 3 openrouter:openai/gpt-4o-mini finished: stop, 1234 tokens, 2.5 s",
            "disk-usage task-runner ask-price", // `sk-` inside a word is not a key prefix
            "request id gen-1733312345-AbCdEfGhIjKlMnOp",
            "sha 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "conversation 7f1c2f9e-1d2b-4c55-9a1e-5b7d3c2a9e10",
            "naïve café ünïcödé — 价格 ✓",
        ] {
            assert_eq!(redact(text), text);
        }
    }
}
