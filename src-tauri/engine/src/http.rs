//! The one shared HTTP client (connection pools are per client; one per request would lose them).

use std::time::Duration;

pub use reqwest::Client;

/// Builds the engine's HTTP client: rustls, a connect timeout, and no overall timeout (answers
/// stream for minutes; stalls are caught per read instead).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .read_timeout(Duration::from_secs(120))
        .user_agent(concat!("Tally/", env!("CARGO_PKG_VERSION")))
        .build()
        // Only fails when the TLS backend cannot initialise, which is a broken build, not input.
        .unwrap_or_else(|_| reqwest::Client::new())
}
