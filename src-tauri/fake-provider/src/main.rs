//! `tally-fake-provider [--port N] [--pace-ms N] [--tokens N]`: runs the fake provider until
//! Ctrl-C, for trying Tally without keys. Paste the printed base URLs into Tally's Settings
//! (any key will do; the fake only checks that one is sent).

use tally_fake_provider::{Defaults, FakeProvider, Flavour};

fn arg(args: &[String], name: &str) -> Option<u64> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("tally-fake-provider [--port N] [--pace-ms N] [--tokens N]\n\nA local fake of OpenAI, OpenRouter and Anthropic streaming APIs on 127.0.0.1.\nScript a request by putting [[fake tokens=80 pace_ms=30 status=429 drop_after=5 fixture=NAME]] in the prompt.");
        return;
    }
    let mut defaults = Defaults::default();
    if let Some(n) = arg(&args, "--pace-ms") {
        defaults.pace_ms = n;
    }
    if let Some(n) = arg(&args, "--tokens") {
        defaults.tokens = n as usize;
    }
    let port = arg(&args, "--port").unwrap_or(0) as u16;
    let fake = match FakeProvider::start_with(defaults, port).await {
        Ok(f) => f,
        Err(e) => {
            eprintln!("tally-fake-provider: could not listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    println!("Fake provider listening on {}", fake.url());
    println!("  OpenAI-compatible base URL: {}", fake.base_url(Flavour::OpenAi));
    println!("  OpenRouter base URL:        {}", fake.base_url(Flavour::OpenRouter));
    println!("  Anthropic base URL:         {}", fake.base_url(Flavour::Anthropic));
    let _ = tokio::signal::ctrl_c().await;
}
