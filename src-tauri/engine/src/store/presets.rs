//! Presets: a named set of columns (targets with their own parameters) saved from a
//! conversation, from which new conversations start. Saving under an existing name replaces it.

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::conversations::{self, ColumnParams};
use super::StoreError;
use crate::target::Target;

#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
pub struct Preset {
    #[ts(type = "number")]
    pub id: i64,
    pub name: String,
    /// `route:model` per column, in order.
    pub targets: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct PresetColumn {
    target: String,
    #[serde(default)]
    params: ColumnParams,
}

/// Saves the conversation's columns (not removed ones; paused ones too, as they are) as `name`.
pub fn save_from(conn: &Connection, conversation_id: i64, name: &str) -> Result<Preset, StoreError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(StoreError::Invalid("A preset needs a name of 1 to 60 characters.".into()));
    }
    let columns: Vec<PresetColumn> = conversations::columns(conn, conversation_id)?
        .into_iter()
        .map(|(_, target, params)| PresetColumn { target: target.to_string(), params })
        .collect();
    if columns.is_empty() {
        return Err(StoreError::Invalid("This conversation has no columns to save.".into()));
    }
    let json = serde_json::to_string(&columns).map_err(|e| StoreError::Invalid(e.to_string()))?;
    conn.execute(
        "INSERT INTO presets (name, columns_json) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET columns_json = excluded.columns_json",
        params![name, json],
    )?;
    let id = conn.query_row("SELECT id FROM presets WHERE name = ?1", [name], |r| r.get(0))?;
    Ok(Preset { id, name: name.to_string(), targets: columns.into_iter().map(|c| c.target).collect() })
}

/// Every preset, by name.
pub fn list(conn: &Connection) -> Result<Vec<Preset>, StoreError> {
    let mut stmt = conn.prepare("SELECT id, name, columns_json FROM presets ORDER BY name COLLATE NOCASE")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, name, json) = row?;
        let targets = parse_columns(&json).into_iter().map(|c| c.target).collect();
        out.push(Preset { id, name, targets });
    }
    Ok(out)
}

pub fn delete(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM presets WHERE id = ?1", [id])?;
    Ok(())
}

/// Starts a new conversation with the preset's columns and their parameters; returns its id.
/// A column whose route this version of Tally no longer knows is left out.
pub fn start_conversation(conn: &mut Connection, id: i64) -> Result<i64, StoreError> {
    let json: String = conn
        .query_row("SELECT columns_json FROM presets WHERE id = ?1", [id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::NotFound(format!("Preset {id}")))?;
    let columns: Vec<(Target, ColumnParams)> =
        parse_columns(&json).into_iter().filter_map(|c| Target::parse(&c.target).ok().map(|t| (t, c.params))).collect();
    conversations::create_with_columns(conn, conversations::NEW_TITLE, &columns)
}

/// A damaged row reads as no columns rather than failing the whole list.
fn parse_columns(json: &str) -> Vec<PresetColumn> {
    serde_json::from_str(json).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{view, Store};

    #[test]
    fn a_preset_keeps_targets_order_and_each_columns_parameters() {
        let (_dir, store) = Store::throwaway();
        store
            .blocking(|c| {
                let targets = [Target::parse("openai:gpt-4o").unwrap(), Target::parse("anthropic:claude-sonnet-4-5").unwrap(), Target::parse("openrouter:openai/gpt-4o").unwrap()];
                let conv = conversations::create(c, "x", &targets)?;
                let cols = conversations::columns(c, conv)?;
                conversations::set_params(c, cols[1].0, Some("Be brief.".into()), Some(0.2), Some(300))?;
                conversations::remove_column(c, cols[2].0)?;
                let preset = save_from(c, conv, "  Claude vs GPT  ")?;
                assert_eq!(preset.name, "Claude vs GPT");
                assert_eq!(preset.targets, ["openai:gpt-4o", "anthropic:claude-sonnet-4-5"], "removed columns are not saved");

                let started = start_conversation(c, preset.id)?;
                let view = view::load(c, started)?;
                let got: Vec<_> = view.columns.iter().map(|col| (col.target.as_str(), col.system.as_deref(), col.max_tokens)).collect();
                assert_eq!(got, [("openai:gpt-4o", None, None), ("anthropic:claude-sonnet-4-5", Some("Be brief."), Some(300))]);
                assert_eq!(view.turns.len(), 0);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn saving_under_an_existing_name_replaces_it_and_delete_removes_it() {
        let (_dir, store) = Store::throwaway();
        store
            .blocking(|c| {
                let a = conversations::create(c, "a", &[Target::parse("openai:gpt-4o").unwrap()])?;
                let b = conversations::create(c, "b", &[Target::parse("groq:llama-3.3-70b-versatile").unwrap()])?;
                let first = save_from(c, a, "Mine")?;
                let second = save_from(c, b, "Mine")?;
                assert_eq!(first.id, second.id);
                let all = list(c)?;
                assert_eq!(all.len(), 1);
                assert_eq!(all[0].targets, ["groq:llama-3.3-70b-versatile"]);
                assert!(matches!(save_from(c, a, "   "), Err(StoreError::Invalid(_))));
                delete(c, first.id)?;
                assert!(list(c)?.is_empty());
                assert!(matches!(start_conversation(c, first.id), Err(StoreError::NotFound(_))));
                Ok(())
            })
            .unwrap();
    }
}
