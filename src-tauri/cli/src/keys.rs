//! `tally-cli keys`: set, inspect and delete API keys in the OS keyring. A key is read from
//! standard input, never from the command line (where `ps` and shell history would see it).

use std::io::Read;
use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{Map, Value};
use tally_engine::providers::{provider, PROVIDERS};
use tally_engine::secrets::{self, ApiKey, Keyring};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Store a provider's key, read from standard input: `tally-cli keys set openai < key.txt`.
    Set { provider: String },
    /// Print where each provider's key comes from: {"openai": "keyring"|"env"|"none", …}.
    Status,
    /// Remove a provider's key from the keyring.
    Delete { provider: String },
}

pub fn run(cmd: KeysCommand) -> Result<ExitCode, String> {
    let keyring = Keyring::default();
    let known = |id: &str| provider(id).ok_or_else(|| format!("unknown provider \"{id}\"; known: {}", PROVIDERS.iter().map(|p| p.id).collect::<Vec<_>>().join(", ")));
    match cmd {
        KeysCommand::Set { provider } => {
            let p = known(&provider)?;
            let mut raw = String::new();
            std::io::stdin().read_to_string(&mut raw).map_err(|e| format!("could not read the key from standard input: {e}"))?;
            let key = ApiKey::new(raw).map_err(|e| e.to_string())?;
            keyring.set(p.id, &key).map_err(|e| e.to_string())?;
            eprintln!("Saved the {} key in the system keyring.", p.name);
        }
        KeysCommand::Status => {
            let mut out = Map::new();
            let mut warned = false;
            for p in PROVIDERS {
                let source = secrets::resolve(&keyring, p, secrets::EnvFallback::Always).map(|(_, s)| s).unwrap_or_else(|e| {
                    if !std::mem::replace(&mut warned, true) {
                        eprintln!("tally-cli: {e}");
                    }
                    secrets::KeySource::None
                });
                out.insert(p.id.to_string(), serde_json::to_value(source).unwrap_or(Value::Null));
            }
            println!("{}", Value::Object(out));
        }
        KeysCommand::Delete { provider } => {
            let p = known(&provider)?;
            let removed = keyring.delete(p.id).map_err(|e| e.to_string())?;
            eprintln!("{}", if removed { format!("Removed the {} key.", p.name) } else { format!("There was no {} key.", p.name) });
        }
    }
    Ok(ExitCode::SUCCESS)
}
