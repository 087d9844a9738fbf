//! What only the window can do, around the engine's use cases: settings written through
//! tauri-plugin-store (which keeps its own copy of the file), the system's file dialogs, the
//! native confirmation dialog and desktop notifications.

use std::path::PathBuf;

use tally_engine::app::{AppCode, AppError, SettingsFile};
use tally_engine::settings::{self, Settings};
use tally_engine::ledger::alerts::{Alert, AlertKind};
use tauri::{AppHandle, Manager};
use tally_engine::destination::Question;
use tauri_plugin_dialog::{DialogExt, MessageDialogButtons, MessageDialogKind};
use tauri_plugin_notification::NotificationExt;
use tauri_plugin_store::StoreExt;

/// The settings file as tauri-plugin-store keeps it.
pub struct PluginSettingsFile {
    pub app: AppHandle,
    pub path: PathBuf,
}

impl SettingsFile for PluginSettingsFile {
    fn save(&self, settings: &Settings) -> Result<(), AppError> {
        let fail = |e: tauri_plugin_store::Error| AppError::new(AppCode::Settings, "The settings could not be saved.").with_detail(e.to_string());
        let store = self.app.store(&self.path).map_err(fail)?;
        store.set(settings::BASE_URLS_KEY, serde_json::to_value(&settings.base_urls).unwrap_or_default());
        store.set(settings::CUSTOM_ENDPOINTS_KEY, serde_json::to_value(&settings.custom_endpoints).unwrap_or_default());
        if let Some(fees) = &settings.fees {
            store.set(settings::FEES_KEY, serde_json::to_value(fees).unwrap_or_default());
        }
        if let Some(m) = &settings.spike_multiplier {
            store.set(settings::SPIKE_MULTIPLIER_KEY, serde_json::to_value(m).unwrap_or_default());
        }
        // Unset: the default, so the key goes (a value left behind would come back at start).
        let optional = |key: &str, value: Option<serde_json::Value>| match value {
            Some(v) => store.set(key, v),
            None => {
                store.delete(key);
            }
        };
        optional(settings::IDLE_TIMEOUT_KEY, settings.idle_timeout_s.map(serde_json::Value::from));
        optional(settings::ANSWER_DEADLINE_KEY, settings.answer_deadline_s.map(serde_json::Value::from));
        optional(settings::PRICE_MAP_URL_KEY, settings.price_map_url.clone().map(serde_json::Value::from));
        store.save().map_err(fail)
    }
}

/// A save or open dialog that starts where people keep documents, not wherever the app
/// happened to be started from.
fn file_dialog(app: &AppHandle, title: &str) -> tauri_plugin_dialog::FileDialogBuilder<tauri::Wry> {
    let dialog = app.dialog().file().set_title(title);
    match app.path().document_dir().ok().filter(|d| d.is_dir()).or_else(|| app.path().home_dir().ok()) {
        Some(dir) => dialog.set_directory(dir),
        None => dialog,
    }
}

/// Asks where to save a file (the system's save dialog); `None` when cancelled.
pub async fn save_path(app: &AppHandle, title: &str, file_name: &str, filter: (&str, &str)) -> Result<Option<PathBuf>, AppError> {
    let dialog = file_dialog(app, title).set_file_name(file_name).add_filter(filter.0, &[filter.1]);
    let chosen = tokio::task::spawn_blocking(move || dialog.blocking_save_file()).await?;
    Ok(chosen.and_then(|p| p.into_path().ok()))
}

/// Asks which file to open (the system's open dialog); `None` when cancelled.
pub async fn open_path(app: &AppHandle, title: &str, filter: (&str, &str)) -> Result<Option<PathBuf>, AppError> {
    let dialog = file_dialog(app, title).add_filter(filter.0, &[filter.1]);
    let chosen = tokio::task::spawn_blocking(move || dialog.blocking_pick_file()).await?;
    Ok(chosen.and_then(|p| p.into_path().ok()))
}

/// Asks a yes-or-no question in a native dialog opened from here, not by the page: script in
/// the web view can neither answer it nor make it look like something else. `false` when the
/// user cancels or closes it.
pub async fn confirm(app: &AppHandle, q: Question) -> bool {
    let mut dialog = app
        .dialog()
        .message(q.message)
        .title(q.title)
        .kind(MessageDialogKind::Warning)
        .buttons(MessageDialogButtons::OkCancelCustom(q.confirm, "Cancel".into()));
    if let Some(window) = app.get_webview_window("main") {
        dialog = dialog.parent(&window);
    }
    tokio::task::spawn_blocking(move || dialog.blocking_show()).await.unwrap_or(false)
}

/// Desktop notifications, one per alert. A desktop without a notification service is fine:
/// the alerts are in the app too.
pub fn notify(app: &AppHandle, fired: &[Alert]) {
    if fired.is_empty() {
        return;
    }
    let app = app.clone();
    let fired = fired.to_vec();
    tauri::async_runtime::spawn_blocking(move || {
        for alert in fired {
            let title = match alert.kind {
                AlertKind::Budget => format!("Tally: {} % of a budget", alert.threshold_percent),
                AlertKind::Spike => "Tally: spending spike".to_string(),
            };
            let _ = app.notification().builder().title(title).body(&alert.message).show();
        }
    });
}
