//! Many processes, one history: 8 `tally-cli ask` processes × 10 rounds against the fake
//! provider, beside the engine's own turn code writing to the same file, lose nothing and fail
//! nothing; a CLI killed with `kill -9` mid-stream leaves an answer that the next command to
//! open the database bills (≈ estimated), with the text that arrived kept; SIGTERM and SIGHUP
//! stop a turn like Ctrl-C; a turn that cannot start leaves no conversation.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::Value;
use tally_engine::endpoints::Endpoints;
use tally_engine::pricing::{Catalog, Fees, Pricing};
use tally_engine::providers::{Endpoint, ProviderError};
use tally_engine::secrets::ApiKey;
use tally_engine::store::{conversations, Store};
use tally_engine::target::Target;
use tally_engine::turn::{TurnDeps, Turns};
use tally_fake_provider::{FakeProvider, Flavour};

fn cli(fake: &FakeProvider, data: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tally-cli"));
    cmd.args(args);
    if args.first() == Some(&"ask") {
        cmd.args(["--base-url", &format!("openai={}", fake.base_url(Flavour::OpenAi))]);
    }
    cmd.env("TALLY_DATA_DIR", data)
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/tally-cli-test")
        .env("OPENAI_API_KEY", "test-key-cli-openai")
        .stdin(Stdio::null());
    cmd
}

fn count(store: &Store, sql: &str) -> i64 {
    store.blocking(|c| Ok(c.query_row(sql, [], |r| r.get(0))?)).unwrap()
}

struct Fake(String);

impl Endpoints for Fake {
    fn endpoint(&self, target: &Target) -> Result<Endpoint, ProviderError> {
        Ok(Endpoint { provider: target.provider(), base_url: self.0.clone(), api_key: Some(ApiKey::new("test-key-engine").unwrap()) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_cli_processes_and_the_engine_share_one_history_with_no_failure_and_no_row_lost() {
    const PROCESSES: usize = 8;
    const ROUNDS: usize = 10;
    let fake = FakeProvider::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let db = tally_engine::paths::database(data.path());

    // Each process runs its rounds one after another; the 8 run at once, from a new file.
    let writers: Vec<_> = (0..PROCESSES)
        .map(|p| {
            let cmds: Vec<Command> = (0..ROUNDS)
                .map(|r| cli(&fake, data.path(), &["ask", &format!("process {p} round {r} [[fake tokens=20 pace_ms=2]]"), "-t", "openai:gpt-4o-mini"]))
                .collect();
            std::thread::spawn(move || {
                cmds.into_iter()
                    .map(|mut c| {
                        let out = c.output().unwrap();
                        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();

    // Meanwhile the engine's own turn code (what the app runs) writes to the same file.
    let store = Store::open(&db).unwrap();
    let turns = Turns::new(TurnDeps {
        store: store.clone(),
        http: tally_engine::http::client(),
        pricing: Arc::new(Pricing::new(Catalog::embedded(), Fees::default())),
        endpoints: Arc::new(Fake(fake.base_url(Flavour::OpenAi))),
        origin: "app",
        reconciler: None,
        counts: Default::default(),
    });
    for r in 0..ROUNDS {
        let target = Target::parse("openai:gpt-4o-mini").unwrap();
        let conv = store.run(move |c| conversations::create(c, "New conversation", &[target])).await.unwrap();
        let (_, handle) = turns.send(conv, format!("engine round {r} [[fake tokens=20 pace_ms=2]]"), Arc::new(|_| {})).await.unwrap();
        handle.await.unwrap();
    }

    let mut failures = Vec::new();
    for w in writers {
        for (code, stdout, stderr) in w.join().unwrap() {
            let line: Option<Value> = stdout.lines().next().and_then(|l| serde_json::from_str(l).ok());
            if code != Some(0) || line.as_ref().is_none_or(|l| !l["error"].is_null()) {
                failures.push(format!("exit {code:?}: {stdout} {stderr}"));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {} CLI runs failed: {failures:#?}", failures.len(), PROCESSES * ROUNDS);

    let answers = (PROCESSES + 1) * ROUNDS;
    assert_eq!(count(&store, "SELECT count(*) FROM conversations") as usize, answers);
    assert_eq!(count(&store, "SELECT count(*) FROM turns") as usize, answers);
    assert_eq!(count(&store, "SELECT count(*) FROM messages WHERE role = 'assistant' AND status = 'done' AND content != ''") as usize, answers);
    assert_eq!(count(&store, "SELECT count(*) FROM usage WHERE output_tokens = 20") as usize, answers);
    assert_eq!(count(&store, "SELECT sum(answers) FROM usage_daily") as usize, answers, "the roll-ups count every answer once");
    assert_eq!(count(&store, "SELECT count(*) FROM conversations c WHERE NOT EXISTS (SELECT 1 FROM turns t WHERE t.conversation_id = c.id)"), 0, "no empty conversation");
    assert_eq!(store.blocking(|c| Ok(c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))?)).unwrap(), "ok");
}

#[tokio::test]
async fn a_cli_killed_mid_stream_is_billed_by_the_next_command_with_its_text_kept() {
    let fake = FakeProvider::start().await.unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut child = cli(&fake, data.path(), &["ask", "A long story [[fake tokens=5000 pace_ms=10]]", "-t", "openai:gpt-4o-mini"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let db = tally_engine::paths::database(data.path());
    // Wait on the event: part of the answer has been saved (the CLI saves every 500 ms).
    let saved = loop {
        if db.exists() {
            if let Ok(store) = Store::open(&db) {
                let text: Option<String> = store
                    .blocking(|c| Ok(c.query_row("SELECT content FROM messages WHERE status = 'streaming' AND content != ''", [], |r| r.get(0)).ok()))
                    .unwrap();
                if let Some(text) = text {
                    break text;
                }
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(Command::new("kill").args(["-9", &child.id().to_string()]).status().unwrap().success());
    child.wait().unwrap();

    // Any command that opens the database bills what the dead process left streaming.
    let out = cli(&fake, data.path(), &["usage"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!((v["answers"].as_u64(), v["estimated_answers"].as_u64()), (Some(1), Some(1)), "{v}");
    assert!(v["cost_usd"].as_str().unwrap().parse::<f64>().unwrap() > 0.0, "{v}");

    let store = Store::open(&db).unwrap();
    let (status, content, input, output, estimated): (String, String, i64, i64, bool) = store
        .blocking(|c| {
            Ok(c.query_row(
                "SELECT m.status, m.content, u.input_tokens, u.output_tokens, u.estimated FROM messages m JOIN usage u ON u.message_id = m.id",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )?)
        })
        .unwrap();
    assert_eq!(status, "stopped");
    assert!(content.starts_with(&saved), "the text that arrived is kept");
    assert!(estimated && input > 0 && output > 0);
    assert_eq!(output as u64, tally_engine::tokens::count_text("openai:gpt-4o-mini", &content).tokens);
    assert_eq!(count(&store, "SELECT count(*) FROM messages WHERE status = 'streaming'"), 0);
}

#[tokio::test]
async fn sigterm_and_sighup_stop_the_turn_like_ctrl_c_and_the_answer_is_billed() {
    let fake = FakeProvider::start().await.unwrap();
    for signal in ["-TERM", "-HUP"] {
        let data = tempfile::tempdir().unwrap();
        let before = fake.requests().len();
        let child = cli(&fake, data.path(), &["ask", "A long story [[fake tokens=3000 pace_ms=5]]", "-t", "openai:gpt-4o-mini"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait on the event: the request reached the provider.
        while fake.requests().len() == before {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap().success());
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
        assert_eq!(out.status.code(), Some(1), "{signal}: {}", String::from_utf8_lossy(&out.stderr));
        let line: Value = serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
        assert_eq!(line["error"]["kind"], "cancelled", "{signal}: {line}");
        let store = Store::open(&tally_engine::paths::database(data.path())).unwrap();
        assert_eq!(count(&store, "SELECT count(*) FROM usage"), 1, "{signal}: billed by the process itself");
    }
}

#[test]
fn an_empty_prompt_leaves_no_conversation() {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tally-cli"))
        .args(["ask", "   ", "-t", "openai:gpt-4o-mini"])
        .env("TALLY_DATA_DIR", data.path())
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/tally-cli-test")
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("The prompt is empty"));
    let store = Store::open(&tally_engine::paths::database(data.path())).unwrap();
    assert_eq!(count(&store, "SELECT count(*) FROM conversations"), 0);
}
