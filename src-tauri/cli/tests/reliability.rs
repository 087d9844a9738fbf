//! Many processes, one history: 8 `tally-cli ask` processes × 10 rounds against the fake
//! provider, beside the engine's own turn code writing to the same file, lose nothing and fail
//! nothing.

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
    cmd.args(args)
        .args(["--base-url", &format!("openai={}", fake.base_url(Flavour::OpenAi))])
        .env("TALLY_DATA_DIR", data)
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
