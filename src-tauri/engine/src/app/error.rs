//! The one error every use case returns, and the one shape errors take at the IPC edge:
//! `{kind, message, detail}`. `kind` is an [`ErrorCode`] — a closed set, exported to TypeScript
//! as a union so the UI cannot switch on a code that does not exist; `message` is for a person;
//! `detail` keeps the underlying text when there is more to say. Never a key.

use serde::Serialize;
use ts_rs::TS;

use crate::pricing::catalog::CatalogError;
use crate::providers::{ErrorKind, ProviderError};
use crate::secrets::SecretsError;
use crate::settings::SettingsError;
use crate::store::StoreError;
use crate::target::TargetError;
use crate::ledger::csv::CsvError;

/// What went wrong, as a stable code. Codes of the application itself, or a provider's when a
/// call to one (a key check, the OpenRouter account) failed the way an answer can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(untagged)]
#[ts(export)]
pub enum ErrorCode {
    App(AppCode),
    Provider(ErrorKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum AppCode {
    /// What was asked for does not exist (any more).
    NotFound,
    /// The input breaks a rule (an empty prompt, 9 columns, a bad URL …); the message says which.
    Invalid,
    /// A rule the user set refuses it (a sensitive conversation).
    Refused,
    /// Sending would cross a hard budget; send again with the user's go-ahead.
    OverBudget,
    /// A target not written `route:model`, or on an unknown route.
    InvalidTarget,
    /// A key that cannot be one (empty, two lines, too long).
    InvalidKey,
    /// There is no key for a provider that needs one.
    NoKey,
    KeyringUnavailable,
    KeyringLocked,
    KeyringError,
    /// The database could not be read or written.
    Database,
    /// The settings file could not be saved.
    Settings,
    /// A file could not be written.
    Export,
    /// A usage CSV could not be read, written or imported.
    Csv,
    /// OpenRouter's models list could not be fetched or read.
    CatalogRefresh,
    /// A newer request of the same kind replaced this one (an estimate while typing).
    Superseded,
    /// The user said no to a change that needed their yes (a key sent to another host); nothing
    /// was changed.
    NotConfirmed,
    /// A bug or a background task that stopped: nothing the user did.
    Internal,
}

impl AppCode {
    pub const ALL: [AppCode; 18] = [
        AppCode::NotFound,
        AppCode::Invalid,
        AppCode::Refused,
        AppCode::OverBudget,
        AppCode::InvalidTarget,
        AppCode::InvalidKey,
        AppCode::NoKey,
        AppCode::KeyringUnavailable,
        AppCode::KeyringLocked,
        AppCode::KeyringError,
        AppCode::Database,
        AppCode::Settings,
        AppCode::Export,
        AppCode::Csv,
        AppCode::CatalogRefresh,
        AppCode::Superseded,
        AppCode::NotConfirmed,
        AppCode::Internal,
    ];
}

impl From<AppCode> for ErrorCode {
    fn from(c: AppCode) -> Self {
        ErrorCode::App(c)
    }
}

/// An error as the UI and the CLI receive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS, thiserror::Error)]
#[error("{message}")]
#[ts(export)]
pub struct AppError {
    pub kind: ErrorCode,
    pub message: String,
    pub detail: Option<String>,
}

impl AppError {
    pub fn new(code: AppCode, message: impl Into<String>) -> Self {
        AppError { kind: ErrorCode::App(code), message: message.into(), detail: None }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        AppError::new(AppCode::Invalid, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        AppError::new(AppCode::Internal, message)
    }

    /// Whether this is the application code `code`.
    pub fn is(&self, code: AppCode) -> bool {
        self.kind == ErrorCode::App(code)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        let code = match &e {
            StoreError::NotFound(_) => AppCode::NotFound,
            StoreError::Invalid(_) => AppCode::Invalid,
            StoreError::Refused(_) => AppCode::Refused,
            _ => AppCode::Database,
        };
        // The SQLite text is for a bug report, not for the sentence shown.
        let detail = match &e {
            StoreError::Sql(inner) => Some(inner.to_string()),
            StoreError::Open { source, .. } => Some(source.to_string()),
            _ => None,
        };
        AppError { kind: code.into(), message: e.to_string(), detail }
    }
}

impl From<SecretsError> for AppError {
    fn from(e: SecretsError) -> Self {
        let code = match &e {
            SecretsError::Empty | SecretsError::Invalid | SecretsError::TooLong | SecretsError::MultiLine | SecretsError::NotAscii => AppCode::InvalidKey,
            SecretsError::Unavailable { .. } => AppCode::KeyringUnavailable,
            SecretsError::Locked => AppCode::KeyringLocked,
            SecretsError::Platform(_) => AppCode::KeyringError,
        };
        let detail = match &e {
            SecretsError::Platform(text) => Some(text.clone()),
            _ => None,
        };
        AppError { kind: code.into(), message: e.to_string(), detail }
    }
}

impl From<SettingsError> for AppError {
    fn from(e: SettingsError) -> Self {
        AppError::invalid(e.to_string())
    }
}

impl From<TargetError> for AppError {
    fn from(e: TargetError) -> Self {
        AppError::new(AppCode::InvalidTarget, e.to_string())
    }
}

impl From<CsvError> for AppError {
    fn from(e: CsvError) -> Self {
        match e {
            CsvError::Store(e) => e.into(),
            other => AppError::new(AppCode::Csv, other.to_string()),
        }
    }
}

impl From<CatalogError> for AppError {
    fn from(e: CatalogError) -> Self {
        AppError::new(AppCode::CatalogRefresh, e.to_string())
    }
}

impl From<ProviderError> for AppError {
    fn from(e: ProviderError) -> Self {
        AppError { kind: ErrorCode::Provider(e.kind), message: e.message, detail: e.detail }
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(e: tokio::task::JoinError) -> Self {
        AppError::internal("A background task stopped unexpectedly.").with_detail(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every application code's JSON, pinned: the UI and scripts switch on these strings.
    #[test]
    fn every_code_serialises_to_its_pinned_string() {
        let pinned = [
            (AppCode::NotFound, "not_found"),
            (AppCode::Invalid, "invalid"),
            (AppCode::Refused, "refused"),
            (AppCode::OverBudget, "over_budget"),
            (AppCode::InvalidTarget, "invalid_target"),
            (AppCode::InvalidKey, "invalid_key"),
            (AppCode::NoKey, "no_key"),
            (AppCode::KeyringUnavailable, "keyring_unavailable"),
            (AppCode::KeyringLocked, "keyring_locked"),
            (AppCode::KeyringError, "keyring_error"),
            (AppCode::Database, "database"),
            (AppCode::Settings, "settings"),
            (AppCode::Export, "export"),
            (AppCode::Csv, "csv"),
            (AppCode::CatalogRefresh, "catalog_refresh"),
            (AppCode::Superseded, "superseded"),
            (AppCode::NotConfirmed, "not_confirmed"),
            (AppCode::Internal, "internal"),
        ];
        assert_eq!(pinned.len(), AppCode::ALL.len(), "a new code needs its pinned string here");
        for (code, text) in pinned {
            let e = AppError::new(code, "words");
            assert_eq!(serde_json::to_value(&e).unwrap(), json!({"kind": text, "message": "words", "detail": null}), "{code:?}");
        }
    }

    /// Provider codes pass through with the provider's own strings.
    #[test]
    fn every_provider_code_serialises_to_its_own_string() {
        use ErrorKind::*;
        for kind in [Auth, RateLimited, Quota, BadRequest, ModelNotFound, ContextTooLong, Overloaded, Server, Network, Timeout, Stalled, Deadline, Malformed, Cancelled] {
            let e = AppError::from(ProviderError::new(kind, "words").with_detail("the provider's text"));
            assert_eq!(serde_json::to_value(&e).unwrap(), json!({"kind": kind.as_str(), "message": "words", "detail": "the provider's text"}));
        }
    }

    #[test]
    fn errors_serialise_to_kind_message_detail() {
        let e = AppError::from(StoreError::NotFound("Conversation 7".into()));
        assert_eq!(serde_json::to_value(&e).unwrap(), json!({"kind": "not_found", "message": "Conversation 7 was not found.", "detail": null}));
    }

    #[test]
    fn a_database_error_keeps_sqlites_words_in_detail() {
        let e = AppError::from(StoreError::Sql(rusqlite::Error::InvalidQuery));
        assert!(e.is(AppCode::Database));
        assert!(e.detail.is_some());
    }

    #[test]
    fn keyring_errors_keep_their_stable_kinds() {
        assert!(AppError::from(SecretsError::Empty).is(AppCode::InvalidKey));
        assert!(AppError::from(SecretsError::Locked).is(AppCode::KeyringLocked));
        let e = AppError::from(SecretsError::Unavailable { hint: "Install gnome-keyring.".into() });
        assert!(e.is(AppCode::KeyringUnavailable));
        assert!(e.message.contains("Install gnome-keyring."));
        let e = AppError::from(SecretsError::Platform("org.freedesktop.DBus.Error.Failed".into()));
        assert_eq!(e.detail.as_deref(), Some("org.freedesktop.DBus.Error.Failed"));
    }
}
