//! Conversations, their columns and turns.

use std::collections::HashMap;

use tally_engine::export::{file_stem, ExportFormat};
use tally_engine::pricing::catalog_store::today;
use tally_engine::store::conversations;
use tally_engine::target::Target;
use tally_engine::turn::Sink;

use super::AppState;
use crate::error::AppError;

/// The columns a new conversation starts with: the same model direct and via OpenRouter.
pub const DEFAULT_TARGETS: &[&str] = &["openai:gpt-4o-mini", "openrouter:openai/gpt-4o-mini"];

impl AppState {
    pub async fn new_conversation(&self, targets: Option<Vec<String>>) -> Result<conversations::ConversationView, AppError> {
        let targets = targets.unwrap_or_else(|| DEFAULT_TARGETS.iter().map(|s| s.to_string()).collect());
        let targets = targets.iter().map(|t| Target::parse(t)).collect::<Result<Vec<_>, _>>()?;
        Ok(self
            .store()
            .run(move |c| {
                let id = conversations::create(c, conversations::NEW_TITLE, &targets)?;
                conversations::load(c, id)
            })
            .await?)
    }

    pub async fn set_sensitive(&self, id: i64, sensitive: bool) -> Result<conversations::ConversationView, AppError> {
        Ok(self
            .store()
            .run(move |c| {
                conversations::set_sensitive(c, id, sensitive)?;
                conversations::load(c, id)
            })
            .await?)
    }

    /// Adds a column. On a sensitive conversation a route via OpenRouter is refused, unless the
    /// user confirmed that the conversation stops being sensitive (`leave_sensitive`).
    pub async fn add_column(&self, conversation_id: i64, target: String, leave_sensitive: bool) -> Result<conversations::ConversationView, AppError> {
        let target = Target::parse(&target)?;
        Ok(self
            .store()
            .run(move |c| {
                if leave_sensitive && conversations::sensitive_refusal(&target).is_some() {
                    conversations::set_sensitive(c, conversation_id, false)?;
                }
                conversations::add_column(c, conversation_id, &target)?;
                conversations::load(c, conversation_id)
            })
            .await?)
    }

    pub async fn remove_column(&self, column_id: i64) -> Result<conversations::ConversationView, AppError> {
        Ok(self
            .store()
            .run(move |c| {
                let conversation_id = conversations::remove_column(c, column_id)?;
                conversations::load(c, conversation_id)
            })
            .await?)
    }

    /// Sends a turn; columns in `own` send their own prompt instead (prompt variants).
    pub async fn send_turn(&self, conversation_id: i64, prompt: String, own: HashMap<i64, String>, sink: Sink) -> Result<i64, AppError> {
        if prompt.trim().is_empty() {
            return Err(AppError::new("invalid", "Write a prompt first."));
        }
        let (turn_id, running) = self.turns.send_with(conversation_id, prompt, own, sink).await?;
        self.check_alerts_after(running);
        Ok(turn_id)
    }

    /// A new conversation for comparing prompt variants: every column of `conversation_id` that
    /// takes part (with its settings) once per variant, a column's variants side by side.
    pub async fn new_variants_conversation(&self, conversation_id: i64, variants: usize) -> Result<conversations::ConversationView, AppError> {
        if !(2..=6).contains(&variants) {
            return Err(AppError::new("invalid", "Compare 2 to 6 variants."));
        }
        Ok(self
            .store()
            .run(move |c| {
                let source = conversations::taking_part(c, conversation_id)?;
                if source.len() * variants > 8 {
                    return Err(tally_engine::store::StoreError::Invalid(format!(
                        "{} columns × {variants} variants would make {} columns; a comparison has at most 8. Pause some columns first.",
                        source.len(),
                        source.len() * variants
                    )));
                }
                let cols: Vec<_> = source.iter().flat_map(|(_, t, p)| (0..variants).map(move |_| (t.clone(), p.clone()))).collect();
                let id = conversations::create_with_columns(c, conversations::NEW_TITLE, &cols)?;
                conversations::load(c, id)
            })
            .await?)
    }

    /// Asks where to save the conversation (the system's save dialog) and writes it there as
    /// Markdown or JSON. `None` when the user cancelled.
    pub async fn export_conversation(&self, id: i64, format: ExportFormat) -> Result<Option<String>, AppError> {
        let view = self.store().run(move |c| conversations::load(c, id)).await?;
        let text = format.render(&view, &today());
        let name = format!("{}.{}", file_stem(&view.title), format.extension());
        let (label, ext) = match format {
            ExportFormat::Markdown => ("Markdown", "md"),
            ExportFormat::Json => ("JSON", "json"),
        };
        let dialog = self.file_dialog("Export conversation").set_file_name(&name).add_filter(label, &[ext]);
        let chosen = tokio::task::spawn_blocking(move || dialog.blocking_save_file()).await?;
        let Some(path) = chosen.and_then(|p| p.into_path().ok()) else { return Ok(None) };
        write_export(&path, &text)?;
        Ok(Some(path.display().to_string()))
    }
}

fn write_export(path: &std::path::Path, text: &str) -> Result<(), AppError> {
    super::write_whole(path, |file| std::io::Write::write_all(file, text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_is_written_whole_and_replaces_an_older_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.md");
        std::fs::write(&path, "old").unwrap();
        write_export(&path, "# New").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# New");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no partial file left behind");
        let err = write_export(&dir.path().join("missing/dir/chat.md"), "x").unwrap_err();
        assert!(err.message.contains("could not be written"), "{}", err.message);
    }

    #[test]
    fn default_targets_parse() {
        for t in DEFAULT_TARGETS {
            Target::parse(t).unwrap();
        }
    }
}
