//! What tokens would cost, before or after sending: exact decimals from [`crate::pricing::cost`]
//! over counts from [`crate::tokens`].
//!
//! - [`compose`]: the compose box's live estimate per column and prompt variants compared.
//! - [`projection`]: a conversation's measured profile at N requests a day or a month, per model
//!   and route, with the conclusion in words.
//! - [`reprice`]: "what would this have cost?": a finished conversation re-priced on other models.
//!
//! Must not: touch the network or the database (the queries that feed it live in
//! `store::token_history`), use `f64` for money, or round (formatting is the UI's job; the one
//! exception is the plain-words conclusion of a projection, which is a sentence). Counting is
//! blocking CPU work: async callers go through `spawn_blocking`.

pub mod compose;
pub mod projection;
pub mod reprice;
