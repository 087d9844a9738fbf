//! Tally's engine: everything the app does that is not a window.
//!
//! Owns providers (wire adapters), pricing, token counting, storage, secrets, settings, the
//! fan-out of a turn and the usage history (dashboard, budgets, alerts, CSV).
//! Must not import `tauri` or anything GTK: the app shell, the CLI and the tests drive it the same
//! way, and `cargo test -p tally-engine` never waits for WebKit.

pub mod app;
pub mod brands;
pub mod destination;
pub mod endpoints;
pub mod estimates;
pub mod export;
pub mod http;
pub mod ledger;
pub mod live;
pub mod logs;
pub mod pace;
pub mod paths;
pub mod pricing;
pub mod providers;
pub mod reconcile;
pub mod secrets;
pub mod settings;
pub mod store;
pub mod stream;
pub mod target;
pub mod tokens;
pub mod turn;

pub use rust_decimal::Decimal;
