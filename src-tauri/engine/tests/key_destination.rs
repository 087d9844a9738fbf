//! Base URL changes through the application layer with the real keyring: a change that would
//! send a stored key to another host, or go over plain http to a public host, is saved only once
//! the question (a closure here, the native dialog in the app) says yes; a no changes nothing —
//! no setting, no key — and says so in words. Run inside a D-Bus session with gnome-keyring
//! (the README's test command).

use std::cell::RefCell;

use tally_engine::app::{AppCode, Engine, Options};
use tally_engine::destination::Question;
use tally_engine::secrets::{EnvFallback, Keyring};

fn engine(dir: &std::path::Path, test: &str) -> Engine {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() || !cfg!(target_os = "linux"),
        "keyring tests need a Secret Service: run them through the README's test command (scripts/test.sh)"
    );
    let options = Options {
        keyring: Keyring::with_service(format!("dev.tally.test.{test}.{}", std::process::id())),
        env: EnvFallback::Never,
        ..Options::cli()
    };
    Engine::open(dir, options).unwrap()
}

/// Answers every question with `yes` and keeps what was asked.
struct Asker {
    yes: bool,
    asked: RefCell<Vec<Question>>,
}

impl Asker {
    fn new(yes: bool) -> Self {
        Asker { yes, asked: RefCell::new(Vec::new()) }
    }

    fn ask(&self) -> impl FnOnce(Question) -> std::future::Ready<bool> + '_ {
        move |q| {
            self.asked.borrow_mut().push(q);
            std::future::ready(self.yes)
        }
    }

    fn titles(&self) -> Vec<String> {
        self.asked.borrow().iter().map(|q| q.title.clone()).collect()
    }
}

fn never(q: Question) -> std::future::Ready<bool> {
    panic!("nothing should be asked, but the user was asked {:?}", q.title)
}

#[tokio::test]
async fn a_stored_key_goes_to_another_host_only_after_a_yes_and_a_no_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), "dest-move");
    // No key yet: pointing OpenAI at this machine over plain http asks nothing.
    e.set_base_url("openai", Some("http://127.0.0.1:8787/v1".into()), never).await.unwrap();
    e.set_key("openai", "test-key-dest-engine-Zt5Kq8Wm".into()).await.unwrap();

    let no = Asker::new(false);
    let err = e.set_base_url("openai", Some("https://API.example.com:443/v1/".into()), no.ask()).await.unwrap_err();
    assert!(err.is(AppCode::NotConfirmed), "{err:?}");
    assert_eq!(err.message, "Not saved: you did not agree to send your OpenAI key to api.example.com. Nothing was changed.");
    assert_eq!(no.titles(), ["Send your OpenAI key to api.example.com?"]);
    let settings = std::fs::read_to_string(dir.path().join("settings.json")).unwrap();
    assert!(settings.contains("http://127.0.0.1:8787/v1") && !settings.contains("example.com"), "{settings}");
    assert_eq!(e.settings().base_urls["openai"], "http://127.0.0.1:8787/v1");

    let yes = Asker::new(true);
    let status = e.set_base_url("openai", Some("https://api.example.com/v1".into()), yes.ask()).await.unwrap();
    assert_eq!(status.base_url, "https://api.example.com/v1");
    assert_eq!(yes.titles(), ["Send your OpenAI key to api.example.com?"]);
    // Another path on the same host: nothing new to agree to.
    e.set_base_url("openai", Some("https://api.example.com/v2".into()), never).await.unwrap();
    // Back to the default is a move too (this key was saved while it went elsewhere).
    let yes = Asker::new(true);
    e.set_base_url("openai", None, yes.ask()).await.unwrap();
    assert_eq!(yes.titles(), ["Send your OpenAI key to api.openai.com?"]);
    assert!(!e.settings().base_urls.contains_key("openai"));
    e.delete_key("openai").await.unwrap();
}

#[tokio::test]
async fn plain_http_to_a_public_host_is_asked_about_even_without_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), "dest-http");
    let no = Asker::new(false);
    let err = e.set_base_url("deepseek", Some("http://api.example.net/v1".into()), no.ask()).await.unwrap_err();
    assert!(err.is(AppCode::NotConfirmed), "{err:?}");
    assert_eq!(no.titles(), ["Use an unencrypted connection to api.example.net?"]);
    assert!(!e.settings().base_urls.contains_key("deepseek"));
    // Private addresses may use plain http without a question.
    e.set_base_url("deepseek", Some("http://192.168.1.20:1234/v1".into()), never).await.unwrap();
    e.set_base_url("deepseek", Some("http://[::1]:1234/v1".into()), never).await.unwrap();
}

#[tokio::test]
async fn a_custom_endpoint_asks_before_its_key_moves_and_a_no_stores_neither_key_nor_address() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), "dest-custom");
    // A new key with a public plain-http address: asked, naming the key; no keeps nothing.
    let no = Asker::new(false);
    let err = e.set_custom_endpoint("lab", "http://203.0.113.7:8000/v1", Some("test-key-dest-lab-Pq2Wn6Rt".into()), no.ask()).await.unwrap_err();
    assert!(err.is(AppCode::NotConfirmed), "{err:?}");
    assert_eq!(no.titles(), ["Send your lab key unencrypted to 203.0.113.7:8000?"]);
    assert!(e.custom_endpoints().await.unwrap().is_empty(), "no endpoint added");

    // A new key with a private address: nothing to ask (the user gives the key and the address together).
    let added = e.set_custom_endpoint("lab", "http://10.0.0.5:8000/v1", Some("test-key-dest-lab-Pq2Wn6Rt".into()), never).await.unwrap();
    assert!(added[0].key_set, "the key is stored");
    // The stored key would move to another host: asked.
    let no = Asker::new(false);
    let err = e.set_custom_endpoint("lab", "https://gateway.example/v1", None, no.ask()).await.unwrap_err();
    assert!(err.is(AppCode::NotConfirmed), "{err:?}");
    assert_eq!(no.titles(), ["Send your lab key to gateway.example?"]);
    assert_eq!(e.custom_endpoints().await.unwrap()[0].base_url, "http://10.0.0.5:8000/v1", "unchanged");
    let yes = Asker::new(true);
    e.set_custom_endpoint("lab", "https://gateway.example/v1", None, yes.ask()).await.unwrap();
    assert_eq!(e.custom_endpoints().await.unwrap()[0].base_url, "https://gateway.example/v1");
    e.delete_custom_endpoint("lab").await.unwrap();
}
