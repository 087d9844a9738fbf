//! `tally-cli tokens`: a text from a file or standard input, and a chat messages array, counted
//! as the references made by an independent implementation say.

use std::process::Command;

use serde_json::Value;

fn run(args: &[&str], stdin: &str) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("stdin");
    std::fs::write(&input, stdin).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tally-cli")).args(args).stdin(std::fs::File::open(&input).unwrap()).output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn references() -> Value {
    serde_json::from_str(include_str!("../../engine/tests/data/token-references.json")).unwrap()
}

fn reference_text(name: &str) -> Value {
    references()["texts"].as_array().unwrap().iter().find(|t| t["name"] == name).unwrap().clone()
}

#[test]
fn a_file_and_standard_input_are_counted_with_the_models_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let emoji = reference_text("emoji");
    let path = dir.path().join("emoji.txt");
    std::fs::write(&path, emoji["text"].as_str().unwrap()).unwrap();
    let (code, v, err) = run(&["tokens", "--model", "gpt-4o", path.to_str().unwrap()], "");
    assert_eq!(code, 0, "{err}");
    assert_eq!(v, serde_json::json!({"model": "gpt-4o", "encoding": "o200k_base", "tokens": emoji["o200k_base"], "exact": true}));

    let code_text = reference_text("rust code");
    let (_, v, _) = run(&["tokens", "--model", "gpt-3.5-turbo", "-"], code_text["text"].as_str().unwrap());
    assert_eq!((v["encoding"].as_str(), v["tokens"].as_u64()), (Some("cl100k_base"), code_text["cl100k_base"].as_u64()));

    let (_, v, _) = run(&["tokens", "--model", "anthropic:claude-sonnet-4-5"], "Hello, world!");
    assert_eq!(v["exact"], false);
    assert_eq!(v["tokens"], 4);
}

#[test]
fn a_chat_file_counts_the_messages_as_the_api_will() {
    let dir = tempfile::tempdir().unwrap();
    for chat in references()["chats"].as_array().unwrap() {
        let path = dir.path().join("chat.json");
        std::fs::write(&path, chat["messages"].to_string()).unwrap();
        let (code, v, err) = run(&["tokens", "--model", "openrouter:openai/gpt-4o", "--chat", path.to_str().unwrap()], "");
        assert_eq!(code, 0, "{err}");
        assert_eq!(v["tokens"], chat["o200k_base"], "{}", chat["name"]);
        // A request body with "messages" works too.
        std::fs::write(&path, serde_json::json!({"model": "gpt-4", "messages": chat["messages"]}).to_string()).unwrap();
        let (_, v, _) = run(&["tokens", "--model", "gpt-4", "--chat", path.to_str().unwrap()], "");
        assert_eq!(v["tokens"], chat["cl100k_base"], "{}", chat["name"]);
    }
}

#[test]
fn unreadable_input_is_refused_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}").unwrap();
    let (code, _, err) = run(&["tokens", "--model", "gpt-4o", "--chat", bad.to_str().unwrap()], "");
    assert_eq!(code, 2);
    assert!(err.contains("only text content"), "{err}");
    let (code, _, err) = run(&["tokens", "--model", "gpt-4o", "/no/such/file"], "");
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    std::fs::write(&bad, [0xff, 0xfe]).unwrap();
    let (code, _, err) = run(&["tokens", "--model", "gpt-4o", bad.to_str().unwrap()], "");
    assert_eq!(code, 2);
    assert!(err.contains("not UTF-8"), "{err}");
}
