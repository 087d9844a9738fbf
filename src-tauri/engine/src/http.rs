//! The one shared HTTP client (connection pools are per client; one per request would lose them).

use std::time::Duration;

pub use reqwest::Client;

/// How long a connection to a provider may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Builds the engine's HTTP client: rustls and a connect timeout. No read or overall timeout
/// here: a streamed answer is bounded by its idle timeout and deadline
/// ([`crate::providers::StreamLimits`]), and every other request sets its own `timeout`.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("Tally/", env!("CARGO_PKG_VERSION")))
        .build()
        // Only fails when the TLS backend cannot initialise, which is a broken build, not input.
        .unwrap_or_else(|_| reqwest::Client::new())
}
