//! CSV export and import: every field survives, a fresh database reproduces the figures, and
//! importing the same file again (or into the database it came from) adds nothing.

mod common;

use common::{answer, conversation, d, db, write};
use tally_engine::ledger::csv::{export, import, CsvError, ImportSummary};
use tally_engine::ledger::period::Bucket;
use tally_engine::ledger::latency;
use tally_engine::ledger::stats::{self, Dimension};
use tally_engine::ledger::DayRange;

fn exported(db: &common::Db) -> Vec<u8> {
    let mut out = Vec::new();
    db.store.blocking(|c| Ok(export(c, &DayRange::all(), &mut out))).unwrap().unwrap();
    out
}

fn import_into(db: &common::Db, csv: &[u8]) -> Result<ImportSummary, CsvError> {
    db.store.blocking(|c| Ok(import(c, csv))).unwrap()
}

fn source() -> common::Db {
    let db = db();
    let a = conversation(&db.store, "Trip to Lisbon, \"cheap\"\nsecond line");
    let mut r = answer("2026-03-02T10:00:00.123Z", "openrouter:openai/gpt-4o-mini", Some("0.00021"), Some("0.00022155"), a);
    (r.cached_input_tokens, r.cache_write_tokens, r.reasoning_tokens, r.reported_cost, r.served_model, r.ttfb_ms) =
        (20, 5, 3, Some(d("0.00021")), Some("openai/gpt-4o-mini-2024-07-18".into()), Some(120));
    let mut unpriced = answer("2026-03-03T00:00:00.000Z", "openai:some-new-model", None, None, a);
    unpriced.estimated = true;
    write(&db.store, &[r, unpriced, answer("2026-04-01T00:00:00.000Z", "anthropic:claude-sonnet-4-5", Some("0.015"), None, a)]);
    db
}

#[test]
fn a_round_trip_into_a_fresh_database_reproduces_every_field_and_the_figures() {
    let src = source();
    let csv = exported(&src);
    let text = String::from_utf8(csv.clone()).unwrap();
    assert!(text.starts_with("uid,created_at,conversation_id,conversation_title,message_id,route,provider,model,served_model,"));
    assert!(text.contains("price_json") && text.contains("\"{\"\"input\"\":\"\"0.000001\"\""), "the price snapshot is in the file");

    let dst = db();
    assert_eq!(import_into(&dst, &csv).unwrap(), ImportSummary { read: 3, added: 3, duplicates: 0 });
    let all = DayRange::all();
    let (a, b) = (src.store.blocking(|c| stats::overview(c, &all, Bucket::Month)).unwrap(), dst.store.blocking(|c| stats::overview(c, &all, Bucket::Month)).unwrap());
    assert_eq!(a.totals, b.totals);
    assert_eq!((b.totals.cost, b.totals.effective_cost, b.totals.unpriced_answers), (d("0.01521"), d("0.01522155"), 1));
    assert_eq!(a.over_time, b.over_time);
    assert_eq!(a.by_model, b.by_model);
    let latency_of = |db: &common::Db| db.store.blocking(|c| latency::by_model_and_route(c, &DayRange::all())).unwrap();
    assert_eq!(latency_of(&src), latency_of(&dst));
    // The conversation is not in the new database: same title and figures, no id.
    assert_eq!(b.by_conversation[0].label, "Trip to Lisbon, \"cheap\"\nsecond line");
    assert_eq!((b.by_conversation[0].conversation_id, &b.by_conversation[0].totals), (None, &a.by_conversation[0].totals));

    // Exported again from the new database, the rows are the same but for the local ids
    // (conversation_id and message_id are empty there; the title is kept).
    let again = String::from_utf8(exported(&dst)).unwrap();
    let original: Vec<String> = csv::Reader::from_reader(text.as_bytes()).records().map(|r| r.unwrap().iter().skip(4).collect::<Vec<_>>().join("|")).collect();
    let copied: Vec<String> = csv::Reader::from_reader(again.as_bytes()).records().map(|r| r.unwrap().iter().skip(4).collect::<Vec<_>>().join("|")).collect();
    assert_eq!(original, copied);
}

#[test]
fn importing_the_same_file_twice_or_into_its_own_database_adds_nothing() {
    let src = source();
    let csv = exported(&src);
    assert_eq!(import_into(&src, &csv).unwrap(), ImportSummary { read: 3, added: 0, duplicates: 3 });
    let dst = db();
    import_into(&dst, &csv).unwrap();
    assert_eq!(import_into(&dst, &csv).unwrap().added, 0);
    let t = dst.store.blocking(|c| stats::totals(c, &DayRange::all())).unwrap();
    assert_eq!((t.answers, t.cost), (3, d("0.01521")), "the roll-ups did not count anything twice");
    let rows = dst.store.blocking(|c| stats::breakdown(c, &DayRange::all(), Dimension::Conversation, None)).unwrap();
    assert_eq!(rows.len(), 1);
}

#[test]
fn a_bad_line_says_which_and_leaves_the_database_as_it_was() {
    let src = source();
    let text = String::from_utf8(exported(&src)).unwrap();
    // The third row starts on line 6: each title spans two lines.
    let broken = text.replacen(",2026-04-01T00:00:00.000Z,", ",yesterday,", 1);
    let dst = db();
    let err = import_into(&dst, broken.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("Line 6") && err.to_string().contains("created_at"), "{err}");
    let t = dst.store.blocking(|c| stats::totals(c, &DayRange::all())).unwrap();
    assert_eq!(t.answers, 0, "nothing from the file was kept");
    let err = import_into(&dst, b"uid,created_at\nx,2026-01-01T00:00:00Z\n").unwrap_err();
    assert!(err.to_string().contains("Line 2"), "{err}");
}

#[test]
fn an_export_can_be_limited_to_a_range_and_an_empty_one_is_still_a_valid_file() {
    let src = source();
    let mut out = Vec::new();
    let n = src.store.blocking(|c| Ok(export(c, &DayRange::new(Some("2026-03-03"), Some("2026-04-01")), &mut out))).unwrap().unwrap();
    assert_eq!(n, 1);
    let mut empty = Vec::new();
    src.store.blocking(|c| Ok(export(c, &DayRange::new(Some("2030-01-01"), None), &mut empty))).unwrap().unwrap();
    assert_eq!(import_into(&db(), &empty).unwrap(), ImportSummary::default());
}

#[test]
fn cells_a_spreadsheet_would_run_are_written_as_text_and_read_back_as_they_were() {
    let src = db();
    let titles = ["=HYPERLINK(\"http://evil.example\",\"click\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "'quoted", "-5 apples", "- dash"];
    let mut rows = Vec::new();
    for (i, title) in titles.iter().enumerate() {
        let conv = conversation(&src.store, title);
        let mut r = answer(&format!("2026-03-02T10:00:{i:02}.000Z"), "openai:gpt-4o-mini", Some("0.001"), None, conv);
        r.served_model = Some(match i {
            0 => "\tTab".to_string(),
            1 => "\rReturn".to_string(),
            _ => format!("=cmd{i}"),
        });
        rows.push(r);
    }
    write(&src.store, &rows);
    let csv = exported(&src);
    let mut reader = csv::Reader::from_reader(csv.as_slice());
    let cells: Vec<(String, String)> = reader.records().map(|r| r.unwrap()).map(|r| (r[3].to_string(), r[8].to_string())).collect();
    for (title, served) in &cells {
        assert!(!served.starts_with(['=', '\t', '\r']), "{served:?}");
        let first = title.chars().next().unwrap();
        let runs = matches!(first, '=' | '+' | '@' | '\t' | '\r') || (first == '-' && !title[1..].starts_with(|c: char| c.is_ascii_digit()));
        assert!(!runs, "a spreadsheet would run {title:?}");
    }
    assert!(cells.iter().any(|(t, _)| t == "'=HYPERLINK(\"http://evil.example\",\"click\")"));
    assert!(cells.iter().any(|(t, _)| t == "-5 apples"), "a number-like cell is written as it is");
    assert!(cells.iter().any(|(t, _)| t == "''quoted"), "a leading quote of our own is kept apart from the one we add");

    let dst = db();
    assert_eq!(import_into(&dst, &csv).unwrap().added, titles.len() as u64);
    let rows = dst.store.blocking(|c| stats::breakdown(c, &DayRange::all(), Dimension::Conversation, None)).unwrap();
    let mut back: Vec<String> = rows.into_iter().map(|r| r.label).collect();
    back.sort();
    let mut expected: Vec<String> = titles.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(back, expected, "every title exactly as it was");
    let served: Vec<String> = dst.store.blocking(|c| {
        let mut s = c.prepare("SELECT served_model FROM usage ORDER BY created_at")?;
        let v = s.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
        Ok(v)
    }).unwrap();
    assert_eq!(&served[..3], ["\tTab", "\rReturn", "=cmd2"]);
}

#[test]
fn a_file_with_an_impossible_row_imports_nothing_and_says_which_row_and_why() {
    let src = source();
    let text = String::from_utf8(exported(&src)).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    let good: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let with = |changes: &[(&str, &str)]| -> Vec<u8> {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&header).unwrap();
        for (i, r) in good.iter().enumerate() {
            let mut cells: Vec<String> = r.iter().map(str::to_string).collect();
            if i == 2 {
                for (name, value) in changes {
                    cells[col(name)] = value.to_string();
                }
            }
            w.write_record(&cells).unwrap();
        }
        w.into_inner().unwrap()
    };
    for (changes, words) in [
        (vec![("cost", "-999.5")], "cost is -999.5: a cost cannot be negative"),
        (vec![("output_tokens", "18446744073709551615")], "output_tokens is 18446744073709551615, more than one answer can have"),
        (vec![("input_tokens", "1000000001")], "input_tokens is 1000000001"),
        (vec![("input_tokens", "10"), ("cached_input_tokens", "11"), ("cache_write_tokens", "0")], "cannot add up to more"),
        (vec![("output_tokens", "1"), ("reasoning_tokens", "2")], "reasoning_tokens (2) are part of output_tokens (1)"),
        (vec![("effective_cost", "2000000")], "more than one answer can cost"),
        (vec![("output_tokens", "-1")], "Line 6"),
    ] {
        let dst = db();
        let err = import_into(&dst, &with(&changes)).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("Line 6") && message.contains(words), "{changes:?}: {message}");
        let rows: i64 = dst.store.read(|c| Ok(c.query_row("SELECT count(*) FROM usage", [], |r| r.get(0))?)).unwrap();
        assert_eq!(rows, 0, "nothing imported from a file with an impossible row ({changes:?})");
    }
}
