//! The Tally app shell: a window, its IPC commands, and the Tauri wiring around the engine.
//!
//! Only this crate imports `tauri`. Every use case lives in the engine's application layer
//! ([`tally_engine::app::Engine`]); [`commands`] maps each IPC command onto it (parse, call,
//! return) and [`host`] does what only a window can: settings through tauri-plugin-store,
//! file dialogs, desktop notifications.

mod commands;
mod host;
#[cfg(target_os = "linux")]
mod rendering;
#[cfg(target_os = "linux")]
mod webkit_threads;

use tally_engine::app::{Engine, Options};
use tauri::Manager;

pub fn run() {
    // How WebKit draws, decided before any thread starts (it is passed on in the environment).
    #[cfg(target_os = "linux")]
    let rendering = rendering::choose();
    // The log file first, so start-up itself is logged (and timed: see the `startup` spans).
    if let Some(data_dir) = tally_engine::paths::data_dir() {
        if let Err(e) = tally_engine::logs::init(&data_dir, "tally") {
            eprintln!("Tally will not write a log file: {e}");
        }
    }
    #[cfg(target_os = "linux")]
    tracing::info!(facts = ?rendering.0, compositing_off = rendering.1, "how the window is drawn");
    // WebKit's real-time threads can hold the window's main thread off its core for 100+ ms.
    #[cfg(target_os = "linux")]
    webkit_threads::keep_ordinary();
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::new().build())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let data_dir = tally_engine::paths::data_dir().map_or_else(|| app.path().app_data_dir(), Ok)?;
            let settings_file = host::PluginSettingsFile { app: app.handle().clone(), path: tally_engine::paths::settings(&data_dir) };
            let engine = tracing::info_span!("startup.engine").in_scope(|| Engine::open(&data_dir, Options::app(Box::new(settings_file))))?;
            app.manage(engine);
            // OpenRouter checks a previous run left pending (closed before the record came, or
            // a CLI that only recorded them) are followed up in the background.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = handle.state::<Engine>().resume_reconciliation().await {
                    tracing::warn!("pending OpenRouter checks were not resumed: {e}");
                }
            });
            Ok(())
        })
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { .. } = event {
                // Stopped answers are saved with their partial text and usage before exit.
                if let Some(engine) = window.try_state::<Engine>() {
                    engine.stop_all();
                }
            }
        })
        .invoke_handler(commands::handler())
        .build(tauri::generate_context!());
    match app {
        Ok(app) => app.run(|_, _| {}),
        Err(e) => {
            tracing::error!("Tally could not start: {e}");
            eprintln!("Tally could not start: {e}");
            std::process::exit(1);
        }
    }
}
