//! `tally-cli keys`: set, inspect and delete API keys in the OS keyring. A key is read from
//! standard input, never from the command line (where `ps` and shell history would see it).

use std::io::Read;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Map, Value};
use tally_engine::app::Engine;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Store a provider's key, read from standard input: `tally-cli keys set openai < key.txt`.
    Set { provider: String },
    /// Print where each provider's key comes from: {"openai": "keyring"|"env"|"none", …}.
    Status,
    /// Remove a provider's key from the keyring.
    Delete { provider: String },
}

pub async fn run(engine: &Engine, cmd: KeysCommand) -> Result<ExitCode, String> {
    match cmd {
        KeysCommand::Set { provider } => {
            let mut raw = String::new();
            std::io::stdin().read_to_string(&mut raw).map_err(|e| format!("could not read the key from standard input: {e}"))?;
            let status = engine.set_key(&provider, raw).await.map_err(crate::words)?;
            eprintln!("Saved the {} key in the system keyring.", status.info.name);
        }
        KeysCommand::Status => {
            let (sources, warning) = engine.key_sources().await.map_err(crate::words)?;
            if let Some(w) = warning {
                eprintln!("tally-cli: {w}");
            }
            let out: Map<String, Value> = sources.into_iter().map(|(id, source)| (id.to_string(), serde_json::to_value(source).unwrap_or(Value::Null))).collect();
            println!("{}", Value::Object(out));
        }
        KeysCommand::Delete { provider } => {
            let (status, removed) = engine.delete_key(&provider).await.map_err(crate::words)?;
            let name = status.info.name;
            eprintln!("{}", if removed { format!("Removed the {name} key.") } else { format!("There was no {name} key.") });
        }
    }
    Ok(ExitCode::SUCCESS)
}
