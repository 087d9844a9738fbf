//! Which process writes a streaming answer: recorded with each answer while it streams, so that
//! [`super::recovery`] can tell an answer whose process is gone from one still being written.

use std::sync::OnceLock;

/// This process, as recorded with the answers it streams: `boot id/pid/start time`.
pub fn this_process() -> &'static str {
    static ME: OnceLock<String> = OnceLock::new();
    ME.get_or_init(|| identity(std::process::id()).unwrap_or_else(|| format!("?/{}/?", std::process::id())))
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok().map(|s| s.trim().to_string())
}

/// `(state, start time in clock ticks since boot)` of a running process, from `/proc/PID/stat`.
fn stat(pid: u32) -> Option<(char, String)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields are counted after its ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some((fields.first()?.chars().next()?, fields.get(19)?.to_string()))
}

fn identity(pid: u32) -> Option<String> {
    Some(format!("{}/{pid}/{}", boot_id()?, stat(pid)?.1))
}

/// Whether the process that recorded `owner` still runs. An owner this platform cannot check
/// is presumed alive (its answers are left for a process that can tell); no owner (an answer
/// from before owners were recorded) is presumed gone.
pub fn is_alive(owner: Option<&str>) -> bool {
    let Some(owner) = owner else { return false };
    let mut parts = owner.splitn(3, '/');
    let (Some(boot), Some(pid), Some(start)) = (parts.next(), parts.next(), parts.next()) else { return false };
    let Ok(pid) = pid.parse::<u32>() else { return false };
    if boot == "?" || start == "?" {
        return true;
    }
    match (boot_id(), stat(pid)) {
        (None, _) => true,
        (Some(now), _) if now != boot => false,
        // A zombie (killed, not yet reaped) writes nothing more.
        (Some(_), Some((state, started))) => started == start && state != 'Z' && state != 'X',
        (Some(_), None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reused_pid_or_other_boot_is_not() {
        let me = this_process();
        assert!(is_alive(Some(me)), "{me}");
        let parts: Vec<&str> = me.split('/').collect();
        assert!(!is_alive(Some(&format!("{}/{}/1", parts[0], parts[1]))), "another start time is another process");
        assert!(!is_alive(Some(&format!("00000000-0000-0000-0000-000000000000/{}/{}", parts[1], parts[2]))), "another boot");
        assert!(!is_alive(None));
        assert!(!is_alive(Some("garbage")));
    }
}
