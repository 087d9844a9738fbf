fn main() {
    // The page may call exactly the commands the shell registers (issue 14): each one is declared
    // to Tauri's ACL as an app command, so a command needs its `allow-<name>` permission in
    // `capabilities/default.json` or the page's call is refused. The list is read from
    // `generate_handler![…]` in `commands/mod.rs`; `commands/bindings.rs`'s test checks that the
    // capability allows the same set, no more and no less.
    println!("cargo:rerun-if-changed=src-tauri/commands/mod.rs");
    // tauri-build watches only its default `capabilities/` folder: without this, an edited
    // capability file left the app built with the old permissions until something else changed.
    println!("cargo:rerun-if-changed=src-tauri/capabilities");
    let source = std::fs::read_to_string("src-tauri/commands/mod.rs").expect("src-tauri/commands/mod.rs");
    let start = source.find("generate_handler![").expect("commands/mod.rs lists the commands in generate_handler!") + "generate_handler![".len();
    let end = start + source[start..].find(']').expect("generate_handler![ is closed");
    let commands: Vec<&'static str> = source[start..end]
        .split(',')
        .map(|s| s.trim().rsplit("::").next().unwrap_or_default().to_string())
        .filter(|s| !s.is_empty())
        .map(|s| &*Box::leak(s.into_boxed_str()))
        .collect();
    let commands: &'static [&'static str] = Box::leak(commands.into_boxed_slice());
    // Capabilities live beside the shell's sources, not at the workspace root.
    let attrs = tauri_build::Attributes::new()
        .capabilities_path_pattern("src-tauri/capabilities/**/*.json")
        .app_manifest(tauri_build::AppManifest::new().commands(commands));
    if let Err(e) = tauri_build::try_build(attrs) {
        eprintln!("tauri-build failed: {e:#}");
        std::process::exit(1);
    }
}
