//! A bare Tauri 2 window showing one static page: the baseline for Tally's footprint.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("the bare window could not start: {e}");
        std::process::exit(1);
    }
}
