//! Where a refreshed OpenRouter price list is kept (`<data dir>/catalog/openrouter-models.json`),
//! and the direct list prices read from LiteLLM's price map (`<data dir>/catalog/direct-prices.json`),
//! and the refreshes themselves, which only happen when the user asks.
//!
//! A refresh must not be able to empty the catalog: an answer over [`MAX_REFRESH_BYTES`] is
//! refused while it is being read, and one that would drop more than [`MAX_DROP_PERCENT`] of
//! the priced models is refused after parsing ([`check_refresh`], shared by every price
//! refresh). A refresh that is kept moves the list it replaces to `openrouter-models.previous.json`,
//! which [`restore_previous`] puts back. The file kept holds only what pricing reads (each
//! model's id and `pricing`), so it loads in milliseconds at every CLI start.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::catalog::{parse_direct, parse_openrouter, Catalog, CatalogError, DirectFile};
use super::Price;

const SOURCE: &str = "OpenRouter models list, refreshed";

/// The largest price list a refresh reads (OpenRouter's is about 1 MB).
pub const MAX_REFRESH_BYTES: usize = 20 * 1024 * 1024;
/// The largest share of the priced models a refresh may drop.
pub const MAX_DROP_PERCENT: usize = 20;

/// LiteLLM's published price map: where direct list prices are refreshed from unless the user
/// gives another address.
pub const LITELLM_URL: &str = "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json";

fn direct_file(data_dir: &Path) -> PathBuf {
    data_dir.join("catalog").join("direct-prices.json")
}

fn file(data_dir: &Path) -> PathBuf {
    data_dir.join("catalog").join("openrouter-models.json")
}

fn previous_file(data_dir: &Path) -> PathBuf {
    data_dir.join("catalog").join("openrouter-models.previous.json")
}

/// Refuses a refreshed list that prices far fewer models than the one it would replace.
pub fn check_refresh(before: usize, after: usize) -> Result<(), CatalogError> {
    if after * 100 < before * (100 - MAX_DROP_PERCENT) {
        return Err(CatalogError::TooManyDropped { before, after, percent: MAX_DROP_PERCENT });
    }
    Ok(())
}

/// Reads a response body, refusing it once it passes `limit` bytes (a declared length over the
/// limit is refused before anything is read).
pub async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<String, CatalogError> {
    let too_large = || CatalogError::TooLarge { limit_mb: limit / (1024 * 1024) };
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| CatalogError::Network(e.to_string()))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    String::from_utf8(body).map_err(|e| CatalogError::Unreadable(e.to_string()))
}

/// Writes `text` to `path` through a file beside it, so a crash never leaves half a file.
fn write_atomically(path: &Path, text: &str) -> Result<(), CatalogError> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // Flushed to disk before the rename: after a crash the old file or the new one is there.
    let tmp = path.with_extension("json.tmp");
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    };
    write().map_err(|e| CatalogError::Unreadable(format!("could not save it: {e}")))
}

/// The models list as kept: only each model's id and `pricing`, with the date.
fn compact(value: &serde_json::Value, as_of: &str) -> String {
    let data: Vec<serde_json::Value> = value["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| serde_json::json!({ "id": m["id"], "pricing": m["pricing"] }))
        .collect();
    serde_json::json!({ "as_of": as_of, "data": data }).to_string()
}

/// Puts back the price list a refresh replaced — the built-in one after a first refresh — and
/// keeps the one it replaces as the previous one, so this can be undone. Returns the catalog to
/// use (the user's overrides go on top, as at start-up).
pub fn restore_previous(data_dir: &Path) -> Result<Catalog, CatalogError> {
    let (current, previous) = (file(data_dir), previous_file(data_dir));
    if !previous.exists() {
        // The first refresh replaced the built-in list: going back is going back to that.
        if !current.exists() {
            return Err(CatalogError::NoPrevious);
        }
        std::fs::rename(&current, &previous).map_err(|e| CatalogError::Unreadable(format!("could not restore it: {e}")))?;
        return Ok(Catalog::embedded());
    }
    let text = std::fs::read_to_string(&previous).map_err(|_| CatalogError::NoPrevious)?;
    let (prices, as_of) = parse_openrouter(&text, SOURCE)?;
    let swap = previous.with_extension("json.swap");
    if current.exists() {
        std::fs::rename(&current, &swap).map_err(|e| CatalogError::Unreadable(format!("could not restore it: {e}")))?;
    }
    std::fs::rename(&previous, &current).map_err(|e| CatalogError::Unreadable(format!("could not restore it: {e}")))?;
    if swap.exists() {
        let _ = std::fs::rename(&swap, &previous);
    }
    Ok(Catalog::embedded().with_openrouter(prices, as_of.unwrap_or_default()))
}

/// The embedded catalog, with the last refresh on top when there is a sound one. A damaged file is
/// set aside and the embedded prices are used, with a message saying so; it never stops start-up.
pub fn load(data_dir: &Path) -> (Catalog, Option<String>) {
    let (catalog, warning) = load_openrouter(data_dir);
    let path = direct_file(data_dir);
    let Ok(text) = std::fs::read_to_string(&path) else { return (catalog, warning) };
    match parse_direct(&text) {
        Ok(direct) => (catalog.with_direct(direct), warning),
        Err(e) => {
            let _ = std::fs::rename(&path, path.with_extension("json.damaged"));
            let date = catalog.info().direct_as_of;
            let note = format!("The refreshed direct prices could not be read ({e}); Tally uses its built-in direct prices from {date}.");
            (catalog, Some(warning.map_or(note.clone(), |w| format!("{w} {note}"))))
        }
    }
}

fn load_openrouter(data_dir: &Path) -> (Catalog, Option<String>) {
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

/// Checks a price-map address the user typed (surrounding spaces dropped).
pub fn normalise_price_map_url(url: &str) -> Result<String, CatalogError> {
    let url = url.trim();
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(url.to_string()),
        _ => Err(CatalogError::PriceMapUrl(url.to_string())),
    }
}

/// Fetches LiteLLM's price map from `url` (see [`LITELLM_URL`]), reads it into direct list
/// prices (twins found among `current`'s OpenRouter ids), checks it like an OpenRouter refresh
/// (size cap, [`check_refresh`] against the direct prices in use), and keeps it for the next
/// start. On any failure nothing is written and the caller keeps the prices it has.
pub async fn refresh_direct(http: &reqwest::Client, url: &str, data_dir: &Path, current: &Catalog) -> Result<DirectFile, CatalogError> {
    let url = normalise_price_map_url(url)?;
    let response = http.get(&url).timeout(std::time::Duration::from_secs(60)).send().await.map_err(|e| CatalogError::PriceMapNetwork(e.to_string()))?;
    if !response.status().is_success() {
        return Err(CatalogError::PriceMapStatus(response.status().as_u16()));
    }
    let text = read_capped(response, MAX_REFRESH_BYTES).await.map_err(|e| match e {
        CatalogError::Network(e) => CatalogError::PriceMapNetwork(e),
        CatalogError::Unreadable(e) => CatalogError::PriceMapUnreadable(e),
        other => other,
    })?;
    let host = reqwest::Url::parse(&url).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    let source = if url == LITELLM_URL { "LiteLLM price map, refreshed".to_string() } else { format!("LiteLLM price map from {host}, refreshed") };
    let file = super::litellm::parse(&text, &current.openrouter_ids(), &source, &today())?;
    check_refresh(current.direct_count(), file.models.len())?;
    let body = serde_json::to_string_pretty(&file).map_err(|e| CatalogError::PriceMapUnreadable(e.to_string()))?;
    write_atomically(&direct_file(data_dir), &body)?;
    Ok(file)
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

/// Fetches `GET {base_url}/models`, checks it (size, readable, not dropping more than
/// [`MAX_DROP_PERCENT`] of the models priced now), and keeps it for the next start, the list it
/// replaces kept as the previous one. On any failure nothing is written and the caller keeps the
/// catalog it has.
pub async fn refresh(http: &reqwest::Client, base_url: &str, data_dir: &Path) -> Result<(HashMap<String, Price>, String), CatalogError> {
    let url = format!("{}/models", base_url.trim_end_matches('/'));
    let response = http.get(url).timeout(std::time::Duration::from_secs(60)).send().await.map_err(|e| CatalogError::Network(e.to_string()))?;
    if !response.status().is_success() {
        return Err(CatalogError::Status(response.status().as_u16()));
    }
    let text = read_capped(response, MAX_REFRESH_BYTES).await?;
    let as_of = today();
    let (prices, _) = parse_openrouter(&text, &format!("{SOURCE} ({as_of})"))?;
    let (current, _) = load(data_dir);
    check_refresh(current.info().openrouter_models as usize, prices.len())?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| CatalogError::Unreadable(e.to_string()))?;
    let path = file(data_dir);
    if path.exists() {
        std::fs::copy(&path, previous_file(data_dir)).map_err(|e| CatalogError::Unreadable(format!("could not keep the previous list: {e}")))?;
    }
    write_atomically(&path, &compact(&value, &as_of))?;
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
    fn a_refresh_may_drop_up_to_a_fifth_of_the_models_and_no_more() {
        assert_eq!(check_refresh(409, 328), Ok(()));
        assert_eq!(check_refresh(409, 327), Err(CatalogError::TooManyDropped { before: 409, after: 327, percent: 20 }));
        assert_eq!(check_refresh(409, 1), Err(CatalogError::TooManyDropped { before: 409, after: 1, percent: 20 }));
        assert_eq!(check_refresh(0, 5), Ok(()));
        assert!(check_refresh(409, 1).unwrap_err().to_string().contains("prices 1 models where the current one prices 409"));
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
