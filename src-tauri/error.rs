//! The one error type that crosses IPC: `{kind, message, detail}`. `kind` is a stable string the
//! UI switches on; `message` is for a person; `detail` keeps the underlying text. Never a key.

use serde::Serialize;
use tally_engine::secrets::SecretsError;
use tally_engine::settings::SettingsError;
use tally_engine::store::StoreError;
use tally_engine::target::TargetError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS, thiserror::Error)]
#[error("{message}")]
#[ts(export)]
pub struct AppError {
    #[ts(type = "string")]
    pub kind: &'static str,
    pub message: String,
    pub detail: Option<String>,
}

impl AppError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        AppError { kind, message: message.into(), detail: None }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        let kind = match &e {
            StoreError::NotFound(_) => "not_found",
            StoreError::Invalid(_) => "invalid",
            StoreError::Refused(_) => "refused",
            _ => "database",
        };
        AppError::new(kind, e.to_string())
    }
}

impl From<SecretsError> for AppError {
    fn from(e: SecretsError) -> Self {
        AppError::new(e.kind(), e.to_string())
    }
}

impl From<SettingsError> for AppError {
    fn from(e: SettingsError) -> Self {
        AppError::new("invalid", e.to_string())
    }
}

impl From<TargetError> for AppError {
    fn from(e: TargetError) -> Self {
        AppError::new("invalid_target", e.to_string())
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(_: tokio::task::JoinError) -> Self {
        AppError::new("internal", "A background task stopped unexpectedly.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_serialise_to_kind_message_detail() {
        let e = AppError::from(StoreError::NotFound("Conversation 7".into()));
        assert_eq!(serde_json::to_value(&e).unwrap(), json!({"kind": "not_found", "message": "Conversation 7 was not found.", "detail": null}));
    }

    #[test]
    fn keyring_errors_keep_their_stable_kinds() {
        assert_eq!(AppError::from(SecretsError::Empty).kind, "invalid_key");
        assert_eq!(AppError::from(SecretsError::Locked).kind, "keyring_locked");
        let e = AppError::from(SecretsError::Unavailable { hint: "Install gnome-keyring.".into() });
        assert_eq!(e.kind, "keyring_unavailable");
        assert!(e.message.contains("Install gnome-keyring."));
    }
}
