//! Where Tally keeps its files. The app and the CLI share them, so CLI spend shows up in the app.

use std::path::{Path, PathBuf};

/// The app identifier: the data folder's name, and the keyring service name.
pub const APP_ID: &str = "dev.tally.desktop";

/// `$TALLY_DATA_DIR`, else the platform data dir (`~/.local/share/dev.tally.desktop` on Linux,
/// `~/Library/Application Support/dev.tally.desktop` on macOS, `%APPDATA%\dev.tally.desktop`).
pub fn data_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TALLY_DATA_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    dirs::data_dir().map(|d| d.join(APP_ID))
}

pub fn database(data_dir: &Path) -> PathBuf {
    data_dir.join("tally.sqlite3")
}

/// Non-secret settings, a JSON object (written by tauri-plugin-store in the app).
pub fn settings(data_dir: &Path) -> PathBuf {
    data_dir.join("settings.json")
}
