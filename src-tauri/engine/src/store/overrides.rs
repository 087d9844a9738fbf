//! The user's price overrides, one per target, kept in SQLite and loaded into the catalog.

use rusqlite::{params, Connection};

use super::StoreError;
use crate::pricing::{Catalog, Price};
use crate::target::Target;

pub fn list(conn: &Connection) -> Result<Vec<(Target, Price)>, StoreError> {
    let mut stmt = conn.prepare("SELECT target, price_json FROM price_overrides ORDER BY target")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (target, json) = row?;
        // A row that no longer parses is skipped rather than stopping the app.
        if let (Ok(t), Ok(p)) = (Target::parse(&target), serde_json::from_str::<Price>(&json)) {
            out.push((t, p));
        }
    }
    Ok(out)
}

pub fn set(conn: &Connection, target: &Target, price: &Price) -> Result<(), StoreError> {
    let json = serde_json::to_string(price).map_err(|e| StoreError::Invalid(e.to_string()))?;
    conn.execute(
        "INSERT INTO price_overrides (target, price_json) VALUES (?1, ?2)
         ON CONFLICT (target) DO UPDATE SET price_json = excluded.price_json, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        params![target.to_string(), json],
    )?;
    Ok(())
}

pub fn delete(conn: &Connection, target: &Target) -> Result<(), StoreError> {
    conn.execute("DELETE FROM price_overrides WHERE target = ?1", [target.to_string()])?;
    Ok(())
}

/// Applies every stored override to `catalog`.
pub fn apply(conn: &Connection, mut catalog: Catalog) -> Result<Catalog, StoreError> {
    for (target, price) in list(conn)? {
        catalog.set_override(&target, Some(price));
    }
    Ok(catalog)
}
