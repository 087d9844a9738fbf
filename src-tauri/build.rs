fn main() {
    // Capabilities live beside the shell's sources, not at the workspace root.
    let attrs = tauri_build::Attributes::new().capabilities_path_pattern("src-tauri/capabilities/**/*.json");
    if let Err(e) = tauri_build::try_build(attrs) {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
