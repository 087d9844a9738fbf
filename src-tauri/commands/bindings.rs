//! Generates `ui/src/bindings/commands.ts` from the `#[tauri::command]` functions in this
//! folder, when `cargo test` runs (as ts-rs writes the types beside it): one typed function per
//! command, its arguments an object named and typed as Tauri receives them (camelCase), its
//! result the command's `Ok` type. The UI calls IPC only through these, so a command renamed, an
//! argument renamed, added or retyped fails `svelte-check` until the UI follows; the bindings
//! check in `scripts/test.sh` fails when the committed file is stale. The test also fails when
//! a command is missing from [`super::handler`] or listed there without existing.
//!
//! Ids keep their meaning: a command's argument typed with an alias of `tally_engine::brands`
//! (`conversation_id: ConversationId`) is typed with the branded TypeScript type of that name
//! (`ConversationId`, declared by `brands::ts`), like any other named type; so passing a message
//! id where a conversation id is expected fails `svelte-check` too.
//!
//! Why not tauri-specta: it is still a release candidate and needs `specta::Type` on every IPC
//! type, a second type exporter beside ts-rs; reading our own signatures with `syn` needs
//! neither, and the types it names are the ts-rs bindings already in that folder.

use std::collections::BTreeSet;
use std::path::Path;

use syn::{FnArg, GenericArgument, Item, Pat, PathArguments, ReturnType, Type};

/// Arguments Tauri fills in itself; the web view never sends them.
const INJECTED: &[&str] = &["State", "AppHandle", "Window", "WebviewWindow"];

struct Command {
    name: String,
    args: Vec<(String, String)>,
    result: String,
    doc: Vec<String>,
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn generics(args: &PathArguments) -> Vec<&Type> {
    match args {
        PathArguments::AngleBracketed(a) => a.args.iter().filter_map(|g| if let GenericArgument::Type(t) = g { Some(t) } else { None }).collect(),
        _ => Vec::new(),
    }
}

/// The TypeScript of a Rust type; named types are collected in `used` (ts-rs files of that name).
fn ts(ty: &Type, used: &mut BTreeSet<String>) -> String {
    match ty {
        Type::Reference(r) => ts(&r.elem, used),
        Type::Tuple(t) if t.elems.is_empty() => "null".into(),
        Type::Path(p) => {
            let last = p.path.segments.last().expect("a type path has a segment");
            let inner = generics(&last.arguments);
            match (last.ident.to_string().as_str(), inner.as_slice()) {
                ("String" | "str", _) => "string".into(),
                ("bool", _) => "boolean".into(),
                ("i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" | "f32" | "f64", _) => "number".into(),
                ("Option", [t]) => format!("{} | null", ts(t, used)),
                ("Vec", [t]) => {
                    let inner = ts(t, used);
                    if inner.contains(' ') { format!("({inner})[]") } else { format!("{inner}[]") }
                }
                ("HashMap" | "BTreeMap", [k, v]) => format!("Record<{}, {}>", ts(k, used), ts(v, used)),
                ("Result", [t, ..]) => ts(t, used),
                ("Channel", [t]) => format!("Channel<{}>", ts(t, used)),
                (name, []) => {
                    used.insert(name.to_string());
                    name.to_string()
                }
                (name, _) => panic!("no TypeScript for the Rust type {name}<…> in a command signature: teach commands/bindings.rs"),
            }
        }
        other => panic!("no TypeScript for a command argument of this shape: {}", quote::quote!(#other)),
    }
}

fn is_injected(ty: &Type) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| INJECTED.contains(&s.ident.to_string().as_str())),
        _ => false,
    }
}

fn doc_lines(attrs: &[syn::Attribute]) -> Vec<String> {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(nv) => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value().trim().to_string()),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Every command of one source file, with the module path it is reached by in the handler.
fn commands_in(file: &Path, module: &str, used: &mut BTreeSet<String>) -> Vec<(String, Command)> {
    let source = std::fs::read_to_string(file).unwrap();
    let parsed = syn::parse_file(&source).unwrap();
    let mut out = Vec::new();
    for item in parsed.items {
        let Item::Fn(f) = item else { continue };
        let is_command = f.attrs.iter().any(|a| a.path().segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>() == ["tauri", "command"]);
        if !is_command {
            continue;
        }
        let name = f.sig.ident.to_string();
        let mut args = Vec::new();
        for input in &f.sig.inputs {
            let FnArg::Typed(t) = input else { continue };
            if is_injected(&t.ty) {
                continue;
            }
            let Pat::Ident(id) = &*t.pat else { panic!("command {name}: an argument is not a plain name") };
            args.push((camel(&id.ident.to_string()), ts(&t.ty, used)));
        }
        let result = match &f.sig.output {
            ReturnType::Default => "null".into(),
            ReturnType::Type(_, t) => ts(t, used),
        };
        let path = if module.is_empty() { name.clone() } else { format!("{module}::{name}") };
        out.push((path, Command { name, args, result, doc: doc_lines(&f.attrs) }));
    }
    out
}

/// The commands listed in `generate_handler![…]` in `mod.rs`.
fn handler_list(mod_rs: &Path) -> BTreeSet<String> {
    let source = std::fs::read_to_string(mod_rs).unwrap();
    let start = source.find("generate_handler![").expect("mod.rs lists the commands in generate_handler!") + "generate_handler![".len();
    let end = start + source[start..].find(']').unwrap();
    source[start..end].split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

fn generate(dir: &Path) -> (String, BTreeSet<String>, BTreeSet<String>) {
    let mut used = BTreeSet::new();
    let mut commands = Vec::new();
    for (file, module) in [("mod.rs", ""), ("tokens.rs", "tokens"), ("usage.rs", "usage")] {
        commands.extend(commands_in(&dir.join(file), module, &mut used));
    }
    let defined: BTreeSet<String> = commands.iter().map(|(path, _)| path.clone()).collect();
    commands.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    let mut ts_out = String::from(
        "// Generated from the #[tauri::command] functions in src-tauri/commands/ by `cargo test`\n\
         // (src-tauri/commands/bindings.rs). Do not edit: change the Rust signature instead.\n\
         import { Channel, invoke } from '@tauri-apps/api/core';\n",
    );
    for name in &used {
        ts_out.push_str(&format!("import type {{ {name} }} from './{name}';\n"));
    }
    ts_out.push_str("\nexport { Channel };\n\n/** Every IPC command, typed as the Rust side declares it. */\nexport const commands = {\n");
    for (_, c) in &commands {
        for line in &c.doc {
            ts_out.push_str(&format!("  // {line}\n"));
        }
        let call = camel(&c.name);
        if c.args.is_empty() {
            ts_out.push_str(&format!("  {call}: () => invoke<{}>('{}'),\n", c.result, c.name));
        } else {
            let fields: Vec<String> = c.args.iter().map(|(n, t)| format!("{n}: {t}")).collect();
            ts_out.push_str(&format!("  {call}: (args: {{ {} }}) => invoke<{}>('{}', args),\n", fields.join("; "), c.result, c.name));
        }
    }
    ts_out.push_str("};\n");
    (ts_out, defined, handler_list(&dir.join("mod.rs")))
}

#[test]
fn the_ui_command_bindings_are_generated_from_the_signatures() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (text, defined, listed) = generate(&root.join("src-tauri/commands"));
    let unlisted: Vec<_> = defined.difference(&listed).collect();
    let missing: Vec<_> = listed.difference(&defined).collect();
    assert!(unlisted.is_empty(), "commands not in generate_handler!: {unlisted:?}");
    assert!(missing.is_empty(), "generate_handler! lists commands that do not exist: {missing:?}");
    // The page may call exactly these (build.rs declares them to Tauri's ACL): the capability
    // allows each by name, and nothing else.
    let capability: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(root.join("src-tauri/capabilities/default.json")).unwrap()).unwrap();
    let allowed: BTreeSet<String> = capability["permissions"].as_array().unwrap().iter().map(|p| p.as_str().unwrap().to_string()).collect();
    let registered: BTreeSet<String> = listed.iter().map(|c| format!("allow-{}", c.rsplit("::").next().unwrap().replace('_', "-"))).collect();
    assert_eq!(allowed, registered, "capabilities/default.json must allow exactly the commands in generate_handler!");
    let path = root.join("ui/src/bindings/commands.ts");
    if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&path, &text).unwrap();
    }
    let must = "sendTurn: (args: { conversationId: ConversationId; prompt: string; own: Record<ColumnId, string> | null; overBudget: boolean | null; onEvent: Channel<TurnEvent[]> }) => invoke<TurnId>('send_turn', args)";
    assert!(text.contains(must), "{must}\n---\n{text}");
}
