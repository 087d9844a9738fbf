//! How WebKitGTK draws the window on Linux, and how its JavaScript engine collects garbage,
//! chosen before it starts.
//!
//! WebKitGTK composites the page through OpenGL. With no GPU (a virtual machine, a remote
//! desktop, Xvfb) that OpenGL is Mesa's software rasteriser, llvmpipe, and compositing cost more
//! than the page itself: with 8 answers streaming at 62 tokens/s, llvmpipe's threads used 24–29 s
//! of CPU in a 45 s run, frames came 180 ms apart and the window finished a second after the
//! provider. Painting without compositing, on the same machine: frames 36 ms apart, done 0.25 s
//! after the provider (BENCHMARKS.md, "Drawing without a GPU"). With a GPU, compositing is
//! WebKit's well-trodden path and costs little, so it is left alone.

/// What the machine offers, as far as the choice goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// `/dev/dri/renderD*` exists: a GPU that OpenGL can render on.
    pub gpu_render_node: bool,
    /// `LIBGL_ALWAYS_SOFTWARE` is set to something other than `0`/`false`: Mesa renders in software.
    pub software_gl_forced: bool,
    /// The user set `WEBKIT_DISABLE_COMPOSITING_MODE` themselves (any value): theirs to decide.
    pub user_chose: bool,
}

/// Whether to turn WebKit's compositing off: only when OpenGL can only be software, and the
/// user has not chosen.
pub fn disable_compositing(facts: Facts) -> bool {
    !facts.user_chose && (!facts.gpu_render_node || facts.software_gl_forced)
}

/// Reads the facts from this machine.
#[cfg(target_os = "linux")]
fn facts() -> Facts {
    let gpu_render_node = std::fs::read_dir("/dev/dri")
        .map(|dir| dir.flatten().any(|e| e.file_name().to_string_lossy().starts_with("renderD")))
        .unwrap_or(false);
    let software_gl_forced = std::env::var("LIBGL_ALWAYS_SOFTWARE").is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"));
    let user_chose = std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_some();
    Facts { gpu_render_node, software_gl_forced, user_chose }
}

/// Options of the page's JavaScript engine (JavaScriptCore, which reads `JSC_<name>` from the
/// environment of the web process), each set unless the user set it.
///
/// - `useGenerationalGC=0`: every garbage collection a full one. By default most are "eden"
///   collections of new objects only, and what a streamed turn leaves behind (replaced text,
///   parsed batches, discarded nodes) has lived long enough to wait for a full one, which came
///   every few turns: the page's memory rose by 15–30 MiB a turn and fell back every 3–5 turns.
///   With full collections only it stays level from turn to turn (BENCHMARKS.md, session 12).
/// - `heapGrowthMaxIncrease=0.5` and `largeHeapSize=16 MiB`: collect once the heap has grown
///   by half of what was live, at least 16 MiB. By default, on a machine with 16 GB of RAM or
///   more, the heap may grow to 4× what is live (at least 32 MiB) before a collection: while 8
///   answers stream the page's heap peaked at ~50 MiB for ~15 MiB live, and WebKit's allocator
///   kept the high-water mark. With these it peaks at ~26 MiB; after 10 turns the page holds
///   ~195 MiB instead of 225–237 (the same turns opened from the history: 167), and it grows
///   from turn 1 to turn 10 by about what the text kept costs (BENCHMARKS.md, session 13). On
///   a smaller machine the engine already grows its heap to only 2× what is live.
///
/// Frames while 8 answers stream are unchanged by either: the collector marks concurrently, off
/// the page's thread, and a collection of this small heap takes a few milliseconds.
const JSC_OPTIONS: [(&str, &str); 3] = [("JSC_useGenerationalGC", "0"), ("JSC_heapGrowthMaxIncrease", "0.5"), ("JSC_largeHeapSize", "16777216")];

/// Chooses before anything starts a thread (the environment is read by WebKit's processes,
/// which inherit it); returns the facts and the choice, to be logged once logging is up.
#[cfg(target_os = "linux")]
pub fn choose() -> (Facts, bool) {
    let facts = facts();
    let off = disable_compositing(facts);
    // Before any thread exists: `run()` calls this first.
    if off {
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    // The user's own setting, if any, wins.
    for (name, value) in JSC_OPTIONS {
        if std::env::var_os(name).is_none() {
            std::env::set_var(name, value);
        }
    }
    (facts, off)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compositing_is_turned_off_only_where_opengl_can_only_be_software() {
        let gpu = Facts { gpu_render_node: true, software_gl_forced: false, user_chose: false };
        assert!(!disable_compositing(gpu), "a GPU keeps WebKit's default");
        assert!(disable_compositing(Facts { gpu_render_node: false, ..gpu }), "no render node: llvmpipe");
        assert!(disable_compositing(Facts { software_gl_forced: true, ..gpu }), "software GL forced");
        let chosen = Facts { gpu_render_node: false, software_gl_forced: true, user_chose: true };
        assert!(!disable_compositing(chosen), "the user's own setting wins");
    }
}
