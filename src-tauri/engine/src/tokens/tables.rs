//! The encoders' tables: built from OpenAI's rank files at first use, then kept in the user's
//! cache folder so the next process (the app or `tally-cli`) only reads them back.
//!
//! Why: `bpe-openai` embeds its tables prebuilt, 47 MB in every binary (app and CLI), which made
//! the `.deb` 34–36 MiB. The rank files they are built from are 2.5 MB compressed
//! (`engine/data/tokens/`, copied from the `bpe-openai` 0.3.2 crate, which takes them from
//! OpenAI's `tiktoken`). Building the tables takes about 1.5 s for o200k_base and 0.5 s for
//! cl100k_base on this machine's kind, once per user; reading them back from the cache about as
//! long as `bpe-openai`'s own loading (measured in `BENCHMARKS.md`, "Footprint").
//!
//! The cache file carries a checksum of its contents and the version of the table format; a
//! file that is short, damaged or from another version is rebuilt, never trusted. Owns only the
//! loading: counting is `count.rs`. Must not: touch the network.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use bpe::byte_pair_encoding::{read_tiktoken, BytePairEncoding};
use bpe_openai::Tokenizer;

use super::Encoding;

/// The `bpe` crate's serialised layout is what the cache holds: its version is part of the file
/// name, so a new `bpe` never reads an old cache (a test checks this against Cargo.lock).
pub(crate) const BPE_VERSION: &str = "0.2.3";
const MAGIC: &[u8; 8] = b"TALLYBPE";

/// The hash factor `bpe-openai` uses for both encodings (no collisions among their tokens).
const HASH_FACTOR: u64 = 17846336922010275747;

static O200K_BASE: LazyLock<Tokenizer> = LazyLock::new(|| load(Encoding::O200kBase));
static CL100K_BASE: LazyLock<Tokenizer> = LazyLock::new(|| load(Encoding::Cl100kBase));

pub(crate) fn encoder(encoding: Encoding) -> &'static Tokenizer {
    match encoding {
        Encoding::O200kBase => &O200K_BASE,
        Encoding::Cl100kBase => &CL100K_BASE,
    }
}

fn rank_file(encoding: Encoding) -> &'static [u8] {
    match encoding {
        Encoding::O200kBase => include_bytes!("../../data/tokens/o200k_base.tiktoken.gz"),
        Encoding::Cl100kBase => include_bytes!("../../data/tokens/cl100k_base.tiktoken.gz"),
    }
}

/// The pre-tokenisation patterns of OpenAI's `tiktoken`, in the look-ahead-free form
/// `bpe-openai` uses (the second pattern's last character is a look-ahead and is dropped).
fn patterns(encoding: Encoding) -> Vec<(String, bool)> {
    let first = match encoding {
        Encoding::Cl100kBase => "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+$".to_string(),
        Encoding::O200kBase => [
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "\\p{N}{1,3}",
            " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*",
            "\\s*[\\r\\n]+",
            "\\s+$",
        ]
        .join("|"),
    };
    vec![(first, false), ("\\s+\\s".to_string(), true), ("\\s+".to_string(), false)]
}

/// Where the built tables are kept: `$TALLY_CACHE_DIR`, else the platform cache folder
/// (`~/.cache/dev.tally.desktop` on Linux), in `tokens/`.
pub fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("TALLY_CACHE_DIR").filter(|d| !d.is_empty()).map(PathBuf::from).or_else(|| dirs::cache_dir().map(|d| d.join(crate::paths::APP_ID)))?;
    Some(base.join("tokens"))
}

fn cache_file(dir: &Path, encoding: Encoding) -> PathBuf {
    dir.join(format!("{}.bpe-{BPE_VERSION}.bin", encoding.name()))
}

fn load(encoding: Encoding) -> Tokenizer {
    let _span = tracing::info_span!("tokens.load", encoding = encoding.name()).entered();
    let dir = cache_dir();
    let bpe = match dir.as_deref().and_then(|d| read_cache(&cache_file(d, encoding))) {
        Some(bpe) => bpe,
        None => {
            let bpe = build(encoding);
            if let Some(dir) = &dir {
                if let Err(e) = write_cache(dir, &cache_file(dir, encoding), &bpe) {
                    tracing::warn!(encoding = encoding.name(), "the token tables could not be cached in {}: {e}", dir.display());
                }
            }
            bpe
        }
    };
    let patterns = patterns(encoding);
    let patterns: Vec<(&str, bool)> = patterns.iter().map(|(p, l)| (p.as_str(), *l)).collect();
    // The patterns are constants checked by the tests; a failure here is a bug, not input.
    Tokenizer::new_lookahead(bpe, &patterns, false).expect("the tiktoken patterns compile")
}

/// Builds the tables from the embedded rank file (about a second; see the module docs).
pub(crate) fn build(encoding: Encoding) -> BytePairEncoding {
    let _span = tracing::info_span!("tokens.build", encoding = encoding.name()).entered();
    let mut text = String::new();
    // The rank files are embedded constants checked by the tests; failures here are bugs.
    flate2::read::GzDecoder::new(rank_file(encoding)).read_to_string(&mut text).expect("the embedded rank file is gzip text");
    let tokens = read_tiktoken(&text).expect("the embedded rank file is valid base64 lines");
    BytePairEncoding::from_dictionary(tokens, Some(HASH_FACTOR))
}

/// The cached tables, if the file is whole and of this version. `None` means: build them.
pub(crate) fn read_cache(path: &Path) -> Option<BytePairEncoding> {
    let _span = tracing::info_span!("tokens.read_cache").entered();
    let bytes = std::fs::read(path).ok()?;
    let (header, payload) = bytes.split_at_checked(16)?;
    let (magic, crc) = header.split_at(8);
    if magic != MAGIC || u32::from_le_bytes(crc[..4].try_into().ok()?) != crc32fast::hash(payload) || u32::from_le_bytes(crc[4..].try_into().ok()?) as usize != payload.len() {
        tracing::warn!("the cached token tables at {} are damaged; building them again", path.display());
        return None;
    }
    match rmp_serde::from_slice(payload) {
        Ok(bpe) => Some(bpe),
        Err(e) => {
            tracing::warn!("the cached token tables at {} could not be read ({e}); building them again", path.display());
            None
        }
    }
}

/// Writes the tables next to their final name and renames them into place, so a reader never
/// sees half a file (the app and the CLI may build them at the same time).
pub(crate) fn write_cache(dir: &Path, path: &Path, bpe: &BytePairEncoding) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let payload = rmp_serde::to_vec(bpe).map_err(std::io::Error::other)?;
    let len = u32::try_from(payload.len()).map_err(std::io::Error::other)?;
    let partial = path.with_extension(format!("partial-{}", std::process::id()));
    let written = std::fs::File::create(&partial).and_then(|mut f| {
        f.write_all(MAGIC)?;
        f.write_all(&crc32fast::hash(&payload).to_le_bytes())?;
        f.write_all(&len.to_le_bytes())?;
        f.write_all(&payload)?;
        f.sync_all()
    });
    match written.and_then(|_| std::fs::rename(&partial, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_format_names_the_bpe_version_in_cargo_lock() {
        let lock = include_str!("../../../../Cargo.lock");
        let locked = lock.split("[[package]]").find(|p| p.contains("\nname = \"bpe\"\n")).and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \""))).map(|v| v.trim_end_matches('"'));
        assert_eq!(locked, Some(BPE_VERSION), "bpe changed version: its serialised layout may have too. Update BPE_VERSION so old caches are rebuilt.");
    }

    #[test]
    fn a_damaged_or_foreign_cache_file_is_rebuilt_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.bin");
        assert!(read_cache(&path).is_none(), "missing");
        std::fs::write(&path, b"TALLYBPE").unwrap();
        assert!(read_cache(&path).is_none(), "short");
        std::fs::write(&path, b"something else entirely, long enough").unwrap();
        assert!(read_cache(&path).is_none(), "foreign");
        // A whole file with one byte flipped in its payload.
        let bpe = build(Encoding::Cl100kBase);
        write_cache(dir.path(), &path, &bpe).unwrap();
        assert!(read_cache(&path).is_some(), "a file just written reads back");
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_cache(&path).is_none(), "flipped byte");
        bytes.truncate(bytes.len() - 1);
        std::fs::write(&path, &bytes).unwrap();
        assert!(read_cache(&path).is_none(), "truncated");
    }

    #[test]
    fn tables_read_back_from_the_cache_count_like_freshly_built_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = cache_file(dir.path(), Encoding::Cl100kBase);
        let built = build(Encoding::Cl100kBase);
        write_cache(dir.path(), &path, &built).unwrap();
        let cached = read_cache(&path).expect("reads back");
        let text = "Tally counts tokens: naïve café, 价格, 👩‍💻, and    spaces.\n\nfn main() {}";
        for (a, b) in [(&built, &cached)] {
            let pieces: Vec<&str> = text.split(' ').collect();
            for piece in pieces {
                assert_eq!(a.count(piece.as_bytes()), b.count(piece.as_bytes()), "{piece}");
            }
        }
        assert!(!std::fs::read_dir(dir.path()).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().contains("partial")), "no partial file left behind");
    }
}
