//! The Tally app shell: a window, its IPC commands, and the state they reach.
//!
//! Only this crate imports `tauri`. It wires the engine ([`tally_engine`]) to the web view:
//! [`state`] holds the typed managers and does the work, [`commands`] maps each IPC command onto
//! it, and [`error`] fixes the JSON shape errors take at the IPC edge.

mod commands;
mod error;
mod state;

use tauri::Manager;

pub fn run() {
    // The log file first, so start-up itself is logged (and timed: see the `startup` spans).
    if let Some(data_dir) = tally_engine::paths::data_dir() {
        if let Err(e) = tally_engine::logs::init(&data_dir, "tally") {
            eprintln!("Tally will not write a log file: {e}");
        }
    }
    let app = tauri::Builder::default()
        .plugin(tauri_plugin_store::Builder::new().build())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .setup(|app| {
            let state = tracing::info_span!("startup.state").in_scope(|| state::AppState::init(app.handle()))?;
            app.manage(state);
            Ok(())
        })
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::CloseRequested { .. } = event {
                // Stopped answers are saved with their partial text and usage before exit.
                if let Some(state) = window.try_state::<state::AppState>() {
                    state.turns.stop_all();
                }
            }
        })
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::list_providers,
            commands::set_key,
            commands::delete_key,
            commands::set_base_url,
            commands::test_key,
            commands::env_keys,
            commands::import_env_keys,
            commands::known_targets,
            commands::custom_endpoints,
            commands::set_custom_endpoint,
            commands::delete_custom_endpoint,
            commands::catalog_info,
            commands::fees,
            commands::set_fee,
            commands::refresh_catalog,
            commands::set_price_override,
            commands::reset_price_override,
            commands::set_sensitive,
            commands::add_column,
            commands::remove_column,
            commands::list_conversations,
            commands::set_column_paused,
            commands::set_column_params,
            commands::move_column,
            commands::rename_conversation,
            commands::delete_conversation,
            commands::restore_conversation,
            commands::regenerate_answer,
            commands::new_conversation,
            commands::list_presets,
            commands::save_preset,
            commands::delete_preset,
            commands::new_conversation_from_preset,
            commands::export_conversation,
            commands::tokens::estimate_turn,
            commands::tokens::token_breakdown,
            commands::tokens::compare_variants,
            commands::tokens::project_conversation,
            commands::tokens::reprice_conversation,
            commands::tokens::estimate_accuracy,
            commands::load_conversation,
            commands::send_turn,
            commands::new_variants_conversation,
            commands::stop_turn,
            commands::stop_answer,
            commands::turn_batch_seen,
            commands::usage::usage_overview,
            commands::usage::usage_latency,
            commands::usage::budgets,
            commands::usage::add_budget,
            commands::usage::delete_budget,
            commands::usage::recent_alerts,
            commands::usage::check_alerts,
            commands::usage::watch_alerts,
            commands::usage::check_turn_budget,
            commands::usage::spike_multiplier,
            commands::usage::set_spike_multiplier,
            commands::usage::openrouter_key_info,
            commands::usage::export_usage_csv,
            commands::usage::import_usage_csv,
        ])
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
