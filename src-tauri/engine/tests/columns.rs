//! Adding and removing columns, and sensitive conversations (direct routes only), in SQLite.

use tally_engine::store::messages;
use tally_engine::store::{conversations, view, Store, StoreError};
use tally_engine::target::Target;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("t.sqlite3")).unwrap();
    (dir, store)
}

fn t(s: &str) -> Target {
    Target::parse(s).unwrap()
}

#[test]
fn a_sensitive_conversation_refuses_openrouter_columns_and_sends_nothing_through_one() {
    let (_dir, store) = store();
    store
        .blocking(|c| {
            let id = conversations::create(c, "secret plans", &[t("openai:gpt-4o-mini"), t("openrouter:openai/gpt-4o-mini")])?;
            conversations::set_sensitive(c, id, true)?;
            // Sending with an OpenRouter column is refused before anything is recorded or sent.
            let err = messages::start_turn(c, id, "hello").unwrap_err();
            assert!(matches!(&err, StoreError::Refused(why) if why.contains("sensitive") && why.contains("Nothing was sent")), "{err}");
            assert!(view::load(c, id)?.turns.is_empty());
            // Adding another one is refused; a direct one is fine.
            assert!(matches!(conversations::add_column(c, id, &t("openrouter:anthropic/claude-sonnet-4.5")), Err(StoreError::Refused(_))));
            conversations::add_column(c, id, &t("anthropic:claude-sonnet-4-5"))?;
            // Without the OpenRouter column, the turn goes out, to direct routes only.
            let or = view::load(c, id)?.columns.iter().find(|col| col.route == "openrouter").unwrap().id;
            conversations::remove_column(c, or)?;
            let start = messages::start_turn(c, id, "hello")?;
            assert!(start.columns.iter().all(|col| col.target.route != "openrouter"));
            assert_eq!(start.columns.len(), 2);
            Ok(())
        })
        .unwrap();
}

#[test]
fn a_removed_column_leaves_the_view_but_not_history_or_totals() {
    let (_dir, store) = store();
    store
        .blocking(|c| {
            let id = conversations::create(c, "x", &[t("openai:gpt-4o-mini"), t("anthropic:claude-sonnet-4-5")])?;
            let view = view::load(c, id)?;
            conversations::remove_column(c, view.columns[1].id)?;
            let after = view::load(c, id)?;
            assert_eq!(after.columns.len(), 1);
            assert_eq!(after.columns[0].target, "openai:gpt-4o-mini");
            let err = conversations::remove_column(c, after.columns[0].id).unwrap_err();
            assert!(err.to_string().contains("at least one column"));
            let hidden_rows: i64 = c.query_row("SELECT count(*) FROM columns WHERE conversation_id = ?1", [id], |r| r.get(0))?;
            assert_eq!(hidden_rows, 2, "the column row is kept for its history");
            Ok(())
        })
        .unwrap();
}

#[test]
fn at_most_eight_columns() {
    let (_dir, store) = store();
    store
        .blocking(|c| {
            let id = conversations::create(c, "x", &[t("openai:gpt-4o-mini")])?;
            for _ in 1..conversations::MAX_COLUMNS {
                conversations::add_column(c, id, &t("openai:gpt-4o"))?;
            }
            assert!(conversations::add_column(c, id, &t("openai:gpt-4o")).unwrap_err().to_string().contains("at most 8"));
            Ok(())
        })
        .unwrap();
}

#[test]
fn paused_columns_sit_out_turns_and_parameters_and_order_are_kept() {
    let (_dir, store) = store();
    store
        .blocking(|c| {
            let id = conversations::create(c, "x", &[t("openai:gpt-4o-mini"), t("anthropic:claude-sonnet-4-5"), t("deepseek:deepseek-chat")])?;
            let cols = view::load(c, id)?.columns;
            conversations::set_paused(c, cols[1].id, true)?;
            let start = messages::start_turn(c, id, "hello")?;
            assert_eq!(start.columns.iter().map(|col| col.target.to_string()).collect::<Vec<_>>(), ["openai:gpt-4o-mini", "deepseek:deepseek-chat"]);
            conversations::set_paused(c, cols[0].id, true)?;
            conversations::set_paused(c, cols[2].id, true)?;
            assert!(messages::start_turn(c, id, "hello").unwrap_err().to_string().contains("Every column is paused"));

            conversations::set_params(c, cols[0].id, Some("Answer in French.".into()), Some(0.3), Some(200))?;
            assert!(conversations::set_params(c, cols[0].id, None, Some(3.0), None).is_err(), "temperature out of range");
            let view = view::load(c, id)?;
            assert_eq!((view.columns[0].system.as_deref(), view.columns[0].temperature, view.columns[0].max_tokens), (Some("Answer in French."), Some(0.3), Some(200)));
            conversations::set_paused(c, cols[0].id, false)?;
            let start = messages::start_turn(c, id, "again")?;
            assert_eq!(start.columns[0].params.system.as_deref(), Some("Answer in French."));

            conversations::move_column(c, cols[2].id, -1)?;
            let order: Vec<String> = view::load(c, id)?.columns.into_iter().map(|col| col.target).collect();
            assert_eq!(order, ["openai:gpt-4o-mini", "deepseek:deepseek-chat", "anthropic:claude-sonnet-4-5"]);
            Ok(())
        })
        .unwrap();
}
