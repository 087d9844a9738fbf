//! Where a refreshed OpenRouter price list is kept (`<data dir>/catalog/openrouter-models.json`),
//! and the refresh itself, which only happens when the user asks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::catalog::{parse_openrouter, Catalog, CatalogError};
use super::Price;

const SOURCE: &str = "OpenRouter models list, refreshed";

fn file(data_dir: &Path) -> PathBuf {
    data_dir.join("catalog").join("openrouter-models.json")
}

/// The embedded catalog, with the last refresh on top when there is a sound one. A damaged file is
/// set aside and the embedded prices are used, with a message saying so; it never stops start-up.
pub fn load(data_dir: &Path) -> (Catalog, Option<String>) {
    let catalog = Catalog::embedded();
    let path = file(data_dir);
    let Ok(text) = std::fs::read_to_string(&path) else { return (catalog, None) };
    match parse_openrouter(&text, SOURCE) {
        Ok((prices, as_of)) => (catalog.with_openrouter(prices, as_of.unwrap_or_default()), None),
        Err(e) => {
            let _ = std::fs::rename(&path, path.with_extension("json.damaged"));
            let date = catalog.info().openrouter_as_of;
            (catalog, Some(format!("The refreshed price list could not be read ({e}); Tally uses its built-in OpenRouter prices from {date}.")))
        }
    }
}

/// Today's date in UTC, YYYY-MM-DD (civil-from-days, Howard Hinnant's algorithm).
pub fn today() -> String {
    let days = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() / 86_400) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Fetches `GET {base_url}/models`, checks it, and keeps it for the next start. On any failure
/// nothing is written and the caller keeps the catalog it has.
pub async fn refresh(http: &reqwest::Client, base_url: &str, data_dir: &Path) -> Result<(HashMap<String, Price>, String), CatalogError> {
    let url = format!("{}/models", base_url.trim_end_matches('/'));
    let response = http.get(url).timeout(std::time::Duration::from_secs(60)).send().await.map_err(|e| CatalogError::Network(e.to_string()))?;
    if !response.status().is_success() {
        return Err(CatalogError::Status(response.status().as_u16()));
    }
    let text = response.text().await.map_err(|e| CatalogError::Network(e.to_string()))?;
    let (prices, _) = parse_openrouter(&text, SOURCE)?;
    let as_of = today();
    let mut value: serde_json::Value = serde_json::from_str(&text).map_err(|e| CatalogError::Unreadable(e.to_string()))?;
    value["as_of"] = serde_json::Value::String(as_of.clone());
    let path = file(data_dir);
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // Write beside, then rename: a crash mid-write never leaves a half file in place.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, value.to_string()).and_then(|()| std::fs::rename(&tmp, &path)).map_err(|e| CatalogError::Unreadable(format!("could not save it: {e}")))?;
    Ok((prices, as_of))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_a_plausible_date() {
        let t = today();
        assert_eq!(t.len(), 10);
        assert!(t.as_str() >= "2026-01-01", "{t}");
    }

    #[test]
    fn a_damaged_refresh_file_is_set_aside_and_the_embedded_prices_used() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("catalog")).unwrap();
        std::fs::write(file(dir.path()), "{\"data\": [").unwrap();
        let (catalog, warning) = load(dir.path());
        assert!(warning.unwrap().contains("built-in OpenRouter prices from 2026-08-19"));
        assert_eq!(catalog.info().openrouter_origin, "embedded");
        assert!(dir.path().join("catalog/openrouter-models.json.damaged").exists());
    }
}
