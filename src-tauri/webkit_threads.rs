//! WebKitGTK's real-time threads, made ordinary again.
//!
//! WebKitGTK 2.50 (Debian 12's) gives some of its threads real-time priority (`SCHED_RR`):
//! in the app's process the threads that receive messages from the page's process
//! ("ReceiveQueue"), in the page's process its event dispatcher. It does so directly where it may
//! (as root), else through RealtimeKit, which many desktops run. A real-time thread always runs
//! before ordinary ones on its core. When one of them waits for a lock of WebKit's allocator
//! held by an ordinary thread on the same core (the window's main thread), it spins calling
//! `sched_yield()`, which never gives way to an ordinary thread: the holder waits until the
//! kernel moves it to another core. Measured while 8 answers streamed at 62 tokens/s on 2 cores
//! (`PROBE_SCHED=1 frame_probe`, BENCHMARKS.md, session 14): the window's main thread waited
//! for a core 57–159 ms at a time while a ReceiveQueue thread ran as long, nearly all of it in
//! `sched_yield` and the allocator's `pas_lock_lock_slow` (perf), and the page missed its frames
//! meanwhile: one gap of 64–124 ms in 3 of 19 runs. WebKit has since removed its real-time
//! threads on Linux for this reason (WebKit bugs 319535 and 321012, 2026).
//!
//! Until the WebKit that users have does the same, a background thread of the app sets every
//! real-time thread of the app and of the processes it started back to the ordinary policy
//! (`SCHED_OTHER`), once a second: they are made when the window opens, and again only if
//! WebKit promotes them again (when the page becomes visible). Lowering a thread's policy needs
//! no privilege for one's own processes. It changes nothing else: WebKit itself demotes these
//! threads when RealtimeKit's CPU limit is reached.

use std::time::Duration;

/// How often the threads are looked at.
const EVERY: Duration = Duration::from_secs(1);

/// Starts the background thread that keeps this process's threads and its descendants' ordinary.
pub fn keep_ordinary() {
    let spawned = std::thread::Builder::new().name("keep-ordinary".into()).spawn(|| {
        let mut logged = 0;
        loop {
            let demoted = demote_all(std::process::id());
            if !demoted.is_empty() && logged < 20 {
                logged += 1;
                tracing::info!(threads = ?demoted, "WebKit's real-time threads set back to ordinary scheduling");
            }
            std::thread::sleep(EVERY);
        }
    });
    if let Err(e) = spawned {
        tracing::warn!("WebKit's real-time threads will stay real-time: {e}");
    }
}

/// Sets every real-time thread of `pid` and of its descendants to `SCHED_OTHER`; returns the
/// ones changed, as "process/thread" names.
pub fn demote_all(pid: u32) -> Vec<String> {
    let mut demoted = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for tid in tasks(p) {
            if is_realtime(tid) && demote(tid) {
                demoted.push(format!("{}/{}", comm(p, p), comm(p, tid)));
            }
        }
        todo.extend(children(p));
    }
    demoted
}

/// Whether the thread runs under a real-time policy (`SCHED_FIFO` or `SCHED_RR`).
pub fn is_realtime(tid: u32) -> bool {
    // SAFETY: sched_getscheduler only reads the policy of the thread with this id; an id that
    // is gone gives -1.
    let policy = unsafe { libc::sched_getscheduler(tid as libc::pid_t) };
    policy >= 0 && matches!(policy & !libc::SCHED_RESET_ON_FORK, libc::SCHED_FIFO | libc::SCHED_RR)
}

fn demote(tid: u32) -> bool {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param for SCHED_OTHER (priority 0) that outlives the call.
    unsafe { libc::sched_setscheduler(tid as libc::pid_t, libc::SCHED_OTHER, &param) == 0 }
}

fn tasks(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect()
}

fn children(pid: u32) -> Vec<u32> {
    tasks(pid)
        .into_iter()
        .flat_map(|tid| std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/children")).unwrap_or_default().split_whitespace().filter_map(|c| c.parse().ok()).collect::<Vec<u32>>())
        .collect()
}

fn comm(pid: u32, tid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/comm")).unwrap_or_default().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A thread made real-time (where this test may: as root, or with an RLIMIT_RTPRIO) is found
    /// and made ordinary; ordinary threads are left alone.
    #[test]
    fn real_time_threads_are_made_ordinary() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            tx.send(unsafe { libc::gettid() } as u32).unwrap();
            let _ = stop_rx.recv();
        });
        let tid = rx.recv().unwrap();
        assert!(!is_realtime(tid), "a new thread is ordinary");
        let param = libc::sched_param { sched_priority: 1 };
        // SAFETY: as in `demote`.
        let promoted = unsafe { libc::sched_setscheduler(tid as libc::pid_t, libc::SCHED_RR, &param) } == 0;
        if promoted {
            assert!(is_realtime(tid));
            let demoted = demote_all(std::process::id());
            assert_eq!(demoted.len(), 1, "only the real-time thread: {demoted:?}");
            assert!(!is_realtime(tid), "made ordinary");
        } else {
            // Not allowed to make a thread real-time here: nothing to find, nothing changed.
            assert!(demote_all(std::process::id()).is_empty());
            eprintln!("real_time_threads_are_made_ordinary: this user may not make a thread real-time; only the search was checked");
        }
        stop_tx.send(()).unwrap();
        worker.join().unwrap();
    }
}
