//! Conversations, their columns and turns: create, edit, send (with the hard budget checked
//! here, for the window and the CLI alike), stop, regenerate, presets, export.

use std::collections::HashMap;

use tokio::task::JoinHandle;

use super::estimates::Sized;
use super::{AppError, Engine, Result, LIMITS};
use crate::export::{file_stem, ExportFormat};
use crate::pricing::catalog_store::today;
use crate::store::conversations::{self, ColumnParams, ConversationSummary};
use crate::brands::{ColumnId, ConversationId, TurnId};
use crate::store::view::{self, ConversationEdit, ConversationView, Shape, TurnPage};
use crate::store::presets::{self, Preset};
use crate::store::StoreError;
use crate::target::Target;
use crate::turn::{Sink, Turns};

/// The columns a new conversation starts with: the same model direct and via OpenRouter.
pub const DEFAULT_TARGETS: &[&str] = &["openai:gpt-4o-mini", "openrouter:openai/gpt-4o-mini"];

/// A conversation file ready to be written: a suggested file name and the text.
#[derive(Debug, Clone)]
pub struct ExportFile {
    pub file_name: String,
    pub text: String,
}

/// Whether sending may cross a hard budget: only when the user said so, after seeing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverBudget {
    Refuse,
    GoAhead,
}

impl OverBudget {
    pub fn from_go_ahead(go_ahead: bool) -> Self {
        if go_ahead { OverBudget::GoAhead } else { OverBudget::Refuse }
    }
}

/// What an edit works on: a conversation, or a column of one.
#[derive(Debug, Clone, Copy)]
enum Of {
    Conversation(ConversationId),
    Column(ColumnId),
}

impl Engine {
    pub async fn new_conversation(&self, targets: Option<Vec<String>>) -> Result<ConversationView> {
        let targets = targets.unwrap_or_else(|| DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect());
        let targets = targets.iter().map(|t| Target::parse(t)).collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(self
            .store()
            .run(move |c| {
                let id = conversations::create(c, conversations::NEW_TITLE, &targets)?;
                view::load(c, id)
            })
            .await?)
    }

    /// A new conversation with `targets`, each with `params`, for a turn sent at once (the CLI's
    /// `ask`); its id. Left without a turn by a process that died, it is removed at a later open.
    pub async fn new_conversation_with(&self, targets: &[String], params: ColumnParams) -> Result<i64> {
        let targets = targets.iter().map(|t| Target::parse(t)).collect::<std::result::Result<Vec<_>, _>>()?;
        if targets.is_empty() || targets.len() > LIMITS.max_columns as usize {
            return Err(AppError::invalid(format!("A comparison has 1 to {} targets.", LIMITS.max_columns)));
        }
        Ok(self.store().run(move |c| conversations::create_for_turn(c, conversations::NEW_TITLE, &targets, &params)).await?)
    }

    /// Runs `edit` on the database, then opens the conversation whose id it returns.
    async fn edit(&self, edit: impl FnOnce(&mut rusqlite::Connection) -> std::result::Result<i64, StoreError> + Send + 'static) -> Result<ConversationView> {
        Ok(self
            .store()
            .run(move |c| {
                let id = edit(c)?;
                view::load_latest(c, id, LIMITS.turns_per_page as usize)
            })
            .await?)
    }

    /// Runs `edit` on conversation `of` (or the one column `of` belongs to) and returns only what
    /// it changed there: the window applies it to the conversation it shows.
    async fn change(&self, of: Of, edit: impl FnOnce(&mut rusqlite::Connection) -> std::result::Result<i64, StoreError> + Send + 'static) -> Result<ConversationEdit> {
        Ok(self
            .store()
            .run(move |c| {
                let id = match of {
                    Of::Conversation(id) => id,
                    Of::Column(column) => conversations::of_column(c, column)?.ok_or_else(|| StoreError::NotFound(format!("Column {column}")))?,
                };
                let before = Shape::read(c, id)?;
                let id = edit(c)?;
                let after = Shape::read(c, id)?;
                Ok(before.changes(after))
            })
            .await?)
    }

    /// A conversation as the window opens it: header, columns, totals (the stored ones) and its
    /// latest [`Limits::turns_per_page`](super::Limits) turns; `earlier_cursor` asks for the rest
    /// ([`Engine::load_turns`]).
    pub async fn load_conversation(&self, id: ConversationId) -> Result<ConversationView> {
        Ok(self.store().run_read(move |c| view::load_latest(c, id, LIMITS.turns_per_page as usize)).await?)
    }

    /// The page of turns before turn `before` (a conversation's `earlier_cursor`), oldest first.
    pub async fn load_turns(&self, conversation_id: ConversationId, before: TurnId) -> Result<TurnPage> {
        Ok(self.store().run_read(move |c| view::load_turns(c, conversation_id, Some(before), Some(LIMITS.turns_per_page as usize))).await?)
    }

    /// A whole conversation, every turn (an export).
    pub async fn load_whole_conversation(&self, id: ConversationId) -> Result<ConversationView> {
        Ok(self.store().run_read(move |c| view::load(c, id)).await?)
    }

    /// Conversations, most recent first; with a query, those whose title, prompts or answers hold it.
    pub async fn list_conversations(&self, query: Option<String>) -> Result<Vec<ConversationSummary>> {
        let query = query.unwrap_or_default();
        Ok(self.store().run(move |c| conversations::search(c, &query)).await?)
    }

    pub async fn set_sensitive(&self, id: ConversationId, sensitive: bool) -> Result<ConversationEdit> {
        self.change(Of::Conversation(id), move |c| conversations::set_sensitive(c, id, sensitive).map(|_| id)).await
    }

    /// Adds a column. On a sensitive conversation a route via OpenRouter is refused, unless the
    /// user confirmed that the conversation stops being sensitive (`leave_sensitive`).
    pub async fn add_column(&self, conversation_id: ConversationId, target: &str, leave_sensitive: bool) -> Result<ConversationEdit> {
        let target = Target::parse(target)?;
        self.change(Of::Conversation(conversation_id), move |c| {
            if leave_sensitive && conversations::sensitive_refusal(&target).is_some() {
                conversations::set_sensitive(c, conversation_id, false)?;
            }
            conversations::add_column(c, conversation_id, &target)?;
            Ok(conversation_id)
        })
        .await
    }

    pub async fn remove_column(&self, column_id: ColumnId) -> Result<ConversationEdit> {
        self.change(Of::Column(column_id), move |c| conversations::remove_column(c, column_id)).await
    }

    /// Pauses (or resumes) a column: paused columns sit out new turns.
    pub async fn set_column_paused(&self, column_id: ColumnId, paused: bool) -> Result<ConversationEdit> {
        self.change(Of::Column(column_id), move |c| conversations::set_paused(c, column_id, paused)).await
    }

    /// A column's system prompt, temperature and max output tokens; `all_columns` applies the
    /// same to every column of the conversation.
    pub async fn set_column_params(&self, column_id: ColumnId, system: Option<String>, temperature: Option<f64>, max_tokens: Option<u32>, all_columns: bool) -> Result<ConversationEdit> {
        self.change(Of::Column(column_id), move |c| {
            let id = conversations::set_params(c, column_id, system.clone(), temperature, max_tokens)?;
            if all_columns {
                for (other, ..) in conversations::columns(c, id)? {
                    conversations::set_params(c, other, system.clone(), temperature, max_tokens)?;
                }
            }
            Ok(id)
        })
        .await
    }

    /// Moves a column one place left (`step` < 0) or right.
    pub async fn move_column(&self, column_id: ColumnId, step: i64) -> Result<ConversationEdit> {
        self.change(Of::Column(column_id), move |c| conversations::move_column(c, column_id, step.signum())).await
    }

    pub async fn rename_conversation(&self, id: ConversationId, title: String) -> Result<ConversationEdit> {
        self.change(Of::Conversation(id), move |c| conversations::rename(c, id, &title).map(|_| id)).await
    }

    /// Hides a conversation; [`Engine::restore_conversation`] undoes it. Its spend stays in the
    /// usage history.
    pub async fn delete_conversation(&self, id: i64) -> Result<()> {
        Ok(self.store().run(move |c| conversations::set_deleted(c, id, true)).await?)
    }

    /// Removes a conversation nothing was sent in (a turn that was refused before any request).
    pub async fn discard_if_unused(&self, id: i64) -> Result<()> {
        Ok(self.store().run(move |c| conversations::discard_if_unused(c, id).map(|_| ())).await?)
    }

    pub async fn restore_conversation(&self, id: i64) -> Result<ConversationView> {
        self.edit(move |c| conversations::set_deleted(c, id, false).map(|_| id)).await
    }

    pub async fn list_presets(&self) -> Result<Vec<Preset>> {
        Ok(self.store().run(|c| presets::list(c)).await?)
    }

    /// Saves the conversation's columns (targets and parameters) under `name`, replacing a
    /// preset of that name; returns every preset.
    pub async fn save_preset(&self, conversation_id: i64, name: String) -> Result<Vec<Preset>> {
        Ok(self
            .store()
            .run(move |c| {
                presets::save_from(c, conversation_id, &name)?;
                presets::list(c)
            })
            .await?)
    }

    pub async fn delete_preset(&self, id: i64) -> Result<Vec<Preset>> {
        Ok(self
            .store()
            .run(move |c| {
                presets::delete(c, id)?;
                presets::list(c)
            })
            .await?)
    }

    pub async fn new_conversation_from_preset(&self, id: i64) -> Result<ConversationView> {
        self.edit(move |c| presets::start_conversation(c, id)).await
    }

    /// Sends a turn; columns in `own` send their own prompt instead (prompt variants). Each
    /// column's request is counted once: for the hard budget (each column with its own text),
    /// and for the estimate stored with its answer. With no hard budget, nothing waits for the
    /// count: the requests leave first and are counted after. Returns the turn id and a handle
    /// that completes when every answer has ended; alerts due then go to the alert sink.
    pub async fn send_turn(&self, conversation_id: i64, prompt: String, own: HashMap<i64, String>, over: OverBudget, sink: Sink) -> Result<(i64, JoinHandle<()>)> {
        if prompt.trim().is_empty() {
            return Err(AppError::invalid("The prompt is empty: write one first."));
        }
        // Spans, so the log times each step from the click to the requests (closed with their time).
        use tracing::Instrument;
        let texts = self.store().texts();
        let plan = self.store().run(move |c| crate::store::messages::plan_turn(c, &texts, conversation_id, &prompt, &own)).instrument(tracing::info_span!("turn.plan", conversation_id)).await?;
        let (plan, counted) = self
            .counted_within_budget(over, plan, Turns::count_plan, |plan, counts| {
                plan.columns.iter().zip(counts).map(|(c, n)| Sized::new(c.column_id, &c.target, &c.params, *n)).collect()
            })
            .instrument(tracing::info_span!("turn.budget"))
            .await?;
        self.started(self.turns.start(plan, counted, sink).instrument(tracing::info_span!("turn.start", conversation_id)).await?)
    }

    /// Runs one answer again in place of `message_id`; it streams like a turn. The hard budget
    /// is checked against this one request.
    pub async fn regenerate(&self, message_id: i64, over: OverBudget, sink: Sink) -> Result<(i64, JoinHandle<()>)> {
        let texts = self.store().texts();
        let plan = self.store().run(move |c| crate::store::messages::plan_regenerate(c, &texts, message_id)).await?;
        let (plan, counted) = self
            .counted_within_budget(over, plan, Turns::count_regenerate, |plan, count| vec![Sized::new(plan.column_id, &plan.target, &plan.params, *count)])
            .await?;
        self.started(self.turns.start_regenerate(plan, counted, sink).await?)
    }

    /// With a hard budget (and `over` not going ahead anyway), counts the plan's requests off the
    /// runtime and refuses the plan when they would cross the budget; the counts go on to be
    /// stored with the answers. With none, nothing waits for counting (`None`: counted after).
    async fn counted_within_budget<P: Send + 'static, C: Send + 'static>(
        &self,
        over: OverBudget,
        plan: P,
        count: fn(&Turns, &P) -> C,
        sized: impl FnOnce(&P, &C) -> Vec<Sized>,
    ) -> Result<(P, Option<C>)> {
        if over != OverBudget::Refuse || !self.has_hard_budget().await? {
            return Ok((plan, None));
        }
        let turns = self.turns.clone();
        let (plan, counted) = super::blocking(move || {
            let counted = count(&turns, &plan);
            (plan, counted)
        })
        .await?;
        self.refuse_over_budget(sized(&plan, &counted)).await?;
        Ok((plan, Some(counted)))
    }

    /// Once a turn has ended, the alerts it made due go to the alert sink.
    fn started(&self, (turn_id, running): (i64, JoinHandle<()>)) -> Result<(i64, JoinHandle<()>)> {
        Ok((turn_id, self.alerts_after(running)))
    }

    /// A new comparison for prompt variants: every column of `conversation_id` that takes part
    /// (with its settings) once per variant, a column's variants side by side.
    pub async fn new_variants_conversation(&self, conversation_id: i64, variants: usize) -> Result<ConversationView> {
        let (min, max, max_columns) = (LIMITS.min_variants as usize, LIMITS.max_variants as usize, LIMITS.max_columns as usize);
        if !(min..=max).contains(&variants) {
            return Err(AppError::invalid(format!("Compare {min} to {max} variants.")));
        }
        self.edit(move |c| {
            let source = conversations::taking_part(c, conversation_id)?;
            if source.len() * variants > max_columns {
                return Err(StoreError::Invalid(format!(
                    "{} columns × {variants} variants would make {} columns; a comparison has at most {max_columns}. Pause some columns first.",
                    source.len(),
                    source.len() * variants
                )));
            }
            let cols: Vec<_> = source.iter().flat_map(|(_, t, p)| (0..variants).map(move |_| (t.clone(), p.clone()))).collect();
            conversations::create_with_columns(c, conversations::NEW_TITLE, &cols)
        })
        .await
    }

    pub fn stop_turn(&self, turn_id: i64) -> bool {
        self.turns.stop_turn(turn_id)
    }

    pub fn stop_answer(&self, message_id: i64) -> bool {
        self.turns.stop_answer(message_id)
    }

    /// The conversation as a Markdown or JSON file: a suggested name and the text.
    pub async fn export_conversation(&self, id: i64, format: ExportFormat) -> Result<ExportFile> {
        let view = self.load_whole_conversation(id).await?;
        Ok(ExportFile { file_name: format!("{}.{}", file_stem(&view.title), format.extension()), text: format.render(&view, &today()) })
    }

    /// Writes an exported conversation to `path`, whole or not at all.
    pub fn write_export(&self, path: &std::path::Path, file: &ExportFile) -> Result<()> {
        super::write_whole(path, |f| std::io::Write::write_all(f, file.text.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{test_options, AppCode};
    use crate::ledger::budgets::{BudgetInput, Period};
    use rust_decimal::Decimal;
    use std::sync::Arc;

    /// An engine whose providers are a closed port on this machine: a turn that goes ahead
    /// fails to connect, and nothing leaves the machine.
    fn engine(dir: &std::path::Path) -> Engine {
        let urls = serde_json::json!({ "base_urls": { "openai": "http://127.0.0.1:9/v1", "openrouter": "http://127.0.0.1:9/api/v1" } });
        std::fs::write(crate::paths::settings(dir), urls.to_string()).unwrap();
        Engine::open(dir, test_options(false)).unwrap()
    }

    fn sink() -> Sink {
        Arc::new(|_| {})
    }

    async fn hard_budget(engine: &Engine, limit: Decimal) {
        engine.add_budget(BudgetInput { period: Period::Month, provider: None, limit_usd: limit, hard: true }).await.unwrap();
    }

    fn messages(engine: &Engine) -> i64 {
        engine.store().read(|c| Ok(c.query_row("SELECT count(*) FROM messages", [], |r| r.get(0))?)).unwrap()
    }

    #[tokio::test]
    async fn regenerating_an_answer_is_checked_against_a_hard_budget_unless_the_user_goes_ahead() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let conv = engine.new_conversation_with(&["openai:gpt-4o-mini".into()], ColumnParams::default()).await.unwrap();
        let answer = engine
            .store()
            .blocking(|c| {
                let id = crate::store::messages::start_turn(c, conv, "Hello")?.columns[0].message_id;
                c.execute("UPDATE messages SET status = 'failed' WHERE id = ?1", [id])?;
                Ok(id)
            })
            .unwrap();
        hard_budget(&engine, "0.000001".parse().unwrap()).await;
        let before = messages(&engine);
        let err = engine.regenerate(answer, OverBudget::Refuse, sink()).await.expect_err("refused");
        assert!(err.is(AppCode::OverBudget), "{err:?}");
        assert!(err.detail.as_deref().is_some_and(|d| !d.is_empty()), "the budgets in words: {err:?}");
        assert_eq!(messages(&engine), before, "nothing was started");

        let (_, running) = engine.regenerate(answer, OverBudget::GoAhead, sink()).await.expect("the user went ahead");
        running.await.unwrap();
        assert_eq!(messages(&engine), before + 1, "a new answer in place of the old");
    }

    #[tokio::test]
    async fn prompt_variants_are_checked_against_a_hard_budget_each_column_with_its_own_text() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let params = ColumnParams { max_tokens: Some(16), ..Default::default() };
        let conv = engine.new_conversation_with(&["openai:gpt-4o".into(), "openrouter:openai/gpt-4o".into()], params).await.unwrap();
        let columns: Vec<i64> = engine.load_conversation(conv).await.unwrap().columns.iter().map(|c| c.id).collect();
        let long = "Tally every ledger line twice before the quarter closes. ".repeat(3000);
        let tokens = crate::tokens::count_text("openai:gpt-4o", &long).tokens;
        let long_cost = Decimal::from(tokens) * engine.price("openai:gpt-4o").unwrap().price.input;
        // One column sending the long text fits; both sending it do not.
        hard_budget(&engine, long_cost * Decimal::new(15, 1)).await;

        let both = engine.send_turn(conv, long.clone(), HashMap::new(), OverBudget::Refuse, sink()).await.expect_err("both columns with the long text cross it");
        assert!(both.is(AppCode::OverBudget), "{both:?}");
        assert_eq!(messages(&engine), 0, "nothing was sent");

        let own = HashMap::from([(columns[0], long.clone())]);
        let (_, running) = engine.send_turn(conv, "Hi".into(), own, OverBudget::Refuse, sink()).await.expect("only the direct column sends the long text");
        running.await.unwrap();
        assert_eq!(messages(&engine), 4, "two prompts and two answers");
    }

    /// Only the part an edit changed comes back; what it did not change is not sent again.
    #[tokio::test]
    async fn edits_return_only_what_they_changed() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let conv = engine.new_conversation_with(&["openai:gpt-4o-mini".into(), "openai:gpt-4o".into(), "anthropic:claude-haiku-4-5".into()], ColumnParams::default()).await.unwrap();
        let view = engine.load_conversation(conv).await.unwrap();
        let [a, b, c] = [view.columns[0].id, view.columns[1].id, view.columns[2].id];

        let renamed = engine.rename_conversation(conv, "  Pricing check ".into()).await.unwrap();
        assert_eq!(renamed.conversation_id, conv);
        assert_eq!(renamed.title.as_deref(), Some("Pricing check"));
        assert_eq!((renamed.sensitive, &renamed.totals, renamed.columns.len(), renamed.removed_columns.len(), &renamed.order), (None, &None, 0, 0, &None), "{renamed:?}");

        let paused = engine.set_column_paused(b, true).await.unwrap();
        assert_eq!(paused.columns.iter().map(|c| (c.id, c.paused)).collect::<Vec<_>>(), vec![(b, true)], "only the paused column");
        assert_eq!((&paused.title, &paused.order), (&None, &None));

        let params = engine.set_column_params(a, Some("Be brief.".into()), Some(0.5), Some(300), false).await.unwrap();
        assert_eq!(params.columns.len(), 1);
        assert_eq!((params.columns[0].id, params.columns[0].system.as_deref(), params.columns[0].max_tokens), (a, Some("Be brief."), Some(300)));
        let everywhere = engine.set_column_params(a, Some("Be brief.".into()), Some(0.5), Some(300), true).await.unwrap();
        assert_eq!(everywhere.columns.iter().map(|c| c.id).collect::<Vec<_>>(), vec![b, c], "column a had these settings already");

        let moved = engine.move_column(c, -1).await.unwrap();
        assert_eq!(moved.order, Some(vec![a, c, b]));
        let mut swapped: Vec<_> = moved.columns.iter().map(|c| c.id).collect();
        swapped.sort();
        assert_eq!(swapped, { let mut v = vec![b, c]; v.sort(); v }, "the two columns whose places changed");

        let removed = engine.remove_column(a).await.unwrap();
        assert_eq!((removed.removed_columns.clone(), removed.order.clone(), removed.columns.len()), (vec![a], Some(vec![c, b]), 0));

        let sensitive = engine.set_sensitive(conv, true).await.unwrap();
        assert_eq!((sensitive.sensitive, sensitive.columns.len()), (Some(true), 0));
        let added = engine.add_column(conv, "openrouter:openai/gpt-4o", true).await.unwrap();
        assert_eq!(added.sensitive, Some(false), "left sensitive to add a column via OpenRouter");
        assert_eq!(added.columns.len(), 1);
        assert_eq!(added.columns[0].target, "openrouter:openai/gpt-4o");
        assert_eq!(added.order, Some(vec![c, b, added.columns[0].id]));

        // Applied in order, the edits give what loading the conversation gives.
        let now = engine.load_conversation(conv).await.unwrap();
        assert_eq!(now.title, "Pricing check");
        assert!(!now.sensitive);
        assert_eq!(now.columns.iter().map(|c| c.id).collect::<Vec<_>>(), vec![c, b, added.columns[0].id]);

        // The JSON carries no turns.
        let json = serde_json::to_value(&paused).unwrap();
        assert!(json.get("turns").is_none(), "{json}");
    }

    #[tokio::test]
    async fn an_edit_of_what_does_not_exist_says_so_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let err = engine.set_column_paused(4242, true).await.expect_err("no such column");
        assert!(err.message.contains("Column 4242"), "{err:?}");
        let err = engine.rename_conversation(4242, "x".into()).await.expect_err("no such conversation");
        assert!(err.message.contains("Conversation 4242"), "{err:?}");
        let conv = engine.new_conversation_with(&["openai:gpt-4o-mini".into()], ColumnParams::default()).await.unwrap();
        let only = engine.load_conversation(conv).await.unwrap().columns[0].id;
        let err = engine.remove_column(only).await.expect_err("the last column stays");
        assert!(err.is(AppCode::Invalid), "{err:?}");
        assert_eq!(engine.load_conversation(conv).await.unwrap().columns.len(), 1);
    }

    #[test]
    fn default_targets_parse() {
        for t in DEFAULT_TARGETS {
            Target::parse(t).unwrap();
        }
    }
}
