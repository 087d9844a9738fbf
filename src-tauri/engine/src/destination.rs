//! Where a key would be sent, and which base-URL changes need the user's yes before they take
//! effect (issue 14, "keys go only where the user said"). Pure: no keyring, no settings, no
//! window. The application layer ([`crate::app`]) asks [`confirmation`] before it saves a base
//! URL; the app shell shows the answer in a native dialog opened from Rust, so script in the page
//! can neither skip nor answer it.
//!
//! Two things need a yes:
//! - **a stored key moves**: a key is stored (or would be sent) for this base URL and the change
//!   points it at another destination — host and port, compared after normalisation by the
//!   WHATWG URL parser (`url` crate): lower case, IDN to punycode, IPv4 in any notation
//!   (`0x7f.1`, `2130706433`) to dotted decimal, explicit default ports dropped; a trailing dot
//!   is removed here (`api.openai.com.` is `api.openai.com`). The host is what the URL really
//!   connects to: in `http://127.0.0.1@evil.com`, `127.0.0.1` is a user name and the host is
//!   `evil.com`.
//! - **plain http to a host that is not this machine or a private network**: `http://` (not
//!   `https://`) to anything other than loopback (127.0.0.0/8, ::1, `localhost`) or private
//!   addresses (10/8, 172.16/12, 192.168/16, fc00::/7, fe80::/10; an IPv4-mapped IPv6 address
//!   counts as its IPv4 address), with or without a key stored: a key saved later would go out
//!   unencrypted without another question. A name is never assumed private because of what it
//!   might resolve to: `gpu.local` (mDNS) is answered by whoever replies on the local network, and
//!   `intranet.example` by DNS, so both are asked about once. Only the literal name `localhost`
//!   counts as loopback.
//!
//! A change that keeps the same scheme and destination (another path on the same server) asks
//! nothing: what the user already agreed to does not change.

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Whether a key goes with the requests to a base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// None is stored, and none comes with the change.
    None,
    /// One is stored (or would be sent) for the old base URL: changing the URL moves it.
    Stored,
    /// The user gives a new key with the new base URL, in the same step (a custom endpoint):
    /// nothing stored moves, but the key travels to the new URL.
    New,
}

/// What the user must agree to before a base URL change is saved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmation {
    /// The key stored for this base URL would from now on be sent to `host`.
    KeyMoves { host: String },
    /// Requests would go over plain http to `host`, which is neither this machine nor a private
    /// network; `with_key` when a key would travel with them.
    PlainHttp { host: String, with_key: bool },
}

/// A yes-or-no question as the dialog asks it, in words for someone who is not a developer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The dialog's title and first line (tests find the dialog window by it).
    pub title: String,
    pub message: String,
    /// The button that makes the change; the other one is always "Cancel".
    pub confirm: String,
}

impl Confirmation {
    /// The host as the dialog names it (`api.example.com`, `api.example.com:8443`, `[2001:db8::1]`).
    pub fn host(&self) -> &str {
        match self {
            Confirmation::KeyMoves { host } | Confirmation::PlainHttp { host, .. } => host,
        }
    }

    /// The question to ask; `whose` names the key's owner ("OpenAI", or a custom endpoint's name).
    pub fn question(&self, whose: &str) -> Question {
        match self {
            Confirmation::KeyMoves { host } => Question {
                title: format!("Send your {whose} key to {host}?"),
                message: format!(
                    "Tally will send the key you saved for {whose} to {host} from now on, with every request. \
                     Only continue if you trust {host} with that key. If you did not just type this address, press Cancel."
                ),
                confirm: "Send the key there".into(),
            },
            Confirmation::PlainHttp { host, with_key: true } => Question {
                title: format!("Send your {whose} key unencrypted to {host}?"),
                message: format!(
                    "This address starts with http://, not https://, and {host} is not this computer or a private network. \
                     Your {whose} key, your prompts and the answers would travel over the internet unencrypted: anyone on the way could read them. \
                     If you did not just type this address, press Cancel."
                ),
                confirm: "Send it unencrypted".into(),
            },
            Confirmation::PlainHttp { host, with_key: false } => Question {
                title: format!("Use an unencrypted connection to {host}?"),
                message: format!(
                    "This address starts with http://, not https://, and {host} is not this computer or a private network. \
                     Your prompts, the answers and any {whose} key you save later would travel over the internet unencrypted: anyone on the way could read them. \
                     If you did not just type this address, press Cancel."
                ),
                confirm: "Use it unencrypted".into(),
            },
        }
    }

    /// What the user is told when they said no: what did not happen, and that nothing changed.
    pub fn refusal(&self, whose: &str) -> String {
        match self {
            Confirmation::KeyMoves { host } => {
                format!("Not saved: you did not agree to send your {whose} key to {host}. Nothing was changed.")
            }
            Confirmation::PlainHttp { host, .. } => {
                format!("Not saved: you did not agree to an unencrypted connection to {host}. Nothing was changed; use an https:// address if {host} has one.")
            }
        }
    }
}

/// Where requests to a base URL connect: the normalised host and the port (default filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Destination {
    host: String,
    port: Option<u16>,
    plain_http: bool,
    local: bool,
}

impl Destination {
    fn of(url: &str) -> Option<Destination> {
        let u = Url::parse(url.trim()).ok()?;
        let port = u.port_or_known_default();
        let (host, local) = match u.host()? {
            Host::Domain(d) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                let local = d == "localhost";
                (d, local)
            }
            Host::Ipv4(ip) => (ip.to_string(), private_v4(ip)),
            Host::Ipv6(ip) => (format!("[{ip}]"), private_v6(ip)),
        };
        if host.is_empty() {
            return None;
        }
        Some(Destination { host, port, plain_http: u.scheme() == "http", local })
    }

    /// How a person sees it: the host, with the port only when it is not the scheme's default.
    fn shown(&self) -> String {
        match (self.port, self.plain_http) {
            (Some(80), true) | (Some(443), false) | (None, _) => self.host.clone(),
            (Some(p), _) => format!("{}:{p}", self.host),
        }
    }

    fn same_place(&self, other: &Destination) -> bool {
        self.host == other.host && self.port == other.port
    }
}

/// Loopback or a private network (RFC 1918).
fn private_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback() || ip.is_private()
}

/// Loopback, unique local (fc00::/7) or link-local (fe80::/10); an IPv4-mapped address as its
/// IPv4 address.
fn private_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return private_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_loopback() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
}

/// What, if anything, the user must confirm before the base URL `old` becomes `new`, with
/// `key` going with the requests. `old` is `None` when there was no base URL (a custom endpoint
/// being added). A URL that does not parse as `old` counts as another destination; `new` must
/// already be checked (it is the URL about to be saved): one that does not parse is asked about
/// as it is written, never let through.
pub fn confirmation(old: Option<&str>, new: &str, key: KeyState) -> Option<Confirmation> {
    let Some(to) = Destination::of(new) else {
        return Some(Confirmation::KeyMoves { host: new.trim().to_string() });
    };
    let from = old.and_then(Destination::of);
    let same_place = from.as_ref().is_some_and(|f| f.same_place(&to));
    let already_plain = same_place && from.as_ref().is_some_and(|f| f.plain_http);
    if to.plain_http && !to.local && !already_plain {
        return Some(Confirmation::PlainHttp { host: to.shown(), with_key: key != KeyState::None });
    }
    (key == KeyState::Stored && !same_place).then(|| Confirmation::KeyMoves { host: to.shown() })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: KeyState = KeyState::Stored;
    const NO_KEY: KeyState = KeyState::None;

    fn moves(host: &str) -> Option<Confirmation> {
        Some(Confirmation::KeyMoves { host: host.into() })
    }

    #[test]
    fn a_stored_key_moving_to_another_host_is_asked_about_and_names_the_host() {
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "https://api.example.com/v1", KEY), moves("api.example.com"));
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "https://api.example.com:8443/v1", KEY), moves("api.example.com:8443"));
        // Loopback too: another program on this machine would receive the key.
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "http://127.0.0.1:8787/v1", KEY), moves("127.0.0.1:8787"));
        // Going back to the default is a move as well (a gateway's key would go to OpenAI).
        assert_eq!(confirmation(Some("http://10.0.0.5:8000/v1"), "https://api.openai.com/v1", KEY), moves("api.openai.com"));
    }

    #[test]
    fn no_key_same_place_or_a_new_path_asks_nothing() {
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "https://api.example.com/v1", NO_KEY), None);
        assert_eq!(confirmation(Some("http://127.0.0.1:8787/v1"), "http://localhost:9999/v1", NO_KEY), None);
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "https://api.openai.com/v2", KEY), None);
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "https://api.openai.com/v1", KEY), None);
    }

    #[test]
    fn hosts_are_compared_after_normalisation() {
        // Case, a trailing dot and an explicit default port are the same place.
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "https://API.OpenAI.com/v1", KEY), None);
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "https://api.openai.com./v1", KEY), None);
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "https://api.openai.com:443/v1", KEY), None);
        assert_eq!(confirmation(Some("http://127.0.0.1/v1"), "http://127.0.0.1:80/v1", KEY), None);
        // Another port on the same host is another place.
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "https://api.openai.com:8443/v1", KEY), moves("api.openai.com:8443"));
        // IDN: compared and named in punycode, so a look-alike letter cannot pass for the real host.
        assert_eq!(confirmation(Some("https://bücher.example/v1"), "https://xn--bcher-kva.example/v1", KEY), None);
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "https://аpi.openai.com/v1", KEY), moves("xn--pi-6kc.openai.com"));
        // IPv4 written in hex or as one decimal number is the dotted address.
        assert_eq!(confirmation(Some("http://127.0.0.1/v1"), "http://0x7f.1/v1", KEY), None);
        assert_eq!(confirmation(Some("http://127.0.0.1/v1"), "http://2130706433/v1", KEY), None);
        assert_eq!(confirmation(Some("http://[::1]:8080/v1"), "http://[0:0:0:0:0:0:0:1]:8080/v1", KEY), None);
    }

    #[test]
    fn a_user_name_that_looks_like_a_host_is_not_the_host() {
        assert_eq!(
            confirmation(Some("http://127.0.0.1:8787/v1"), "http://127.0.0.1@evil.com/v1", KEY),
            Some(Confirmation::PlainHttp { host: "evil.com".into(), with_key: true })
        );
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "https://api.openai.com@evil.com/v1", KEY), moves("evil.com"));
        assert_eq!(confirmation(Some("https://api.openai.com/v1"), "https://api.openai.com:pw@api.openai.com/v1", KEY), None);
    }

    #[test]
    fn plain_http_to_a_public_host_is_asked_about_with_or_without_a_key() {
        assert_eq!(
            confirmation(Some("https://api.openai.com/v1"), "http://api.example.com/v1", NO_KEY),
            Some(Confirmation::PlainHttp { host: "api.example.com".into(), with_key: false })
        );
        // Same host, https → http: the key does not move, but it would travel unencrypted.
        assert_eq!(
            confirmation(Some("https://api.example.com/v1"), "http://api.example.com/v1", KEY),
            Some(Confirmation::PlainHttp { host: "api.example.com".into(), with_key: true })
        );
        assert_eq!(
            confirmation(None, "http://8.8.8.8:8000/v1", NO_KEY),
            Some(Confirmation::PlainHttp { host: "8.8.8.8:8000".into(), with_key: false })
        );
        // Already plain http there (agreed before): another path asks nothing.
        assert_eq!(confirmation(Some("http://api.example.com/v1"), "http://api.example.com/v2", KEY), None);
    }

    #[test]
    fn loopback_and_private_addresses_may_use_plain_http() {
        for url in [
            "http://127.0.0.1:8787/v1",
            "http://127.5.6.7/v1",
            "http://localhost:11434/v1",
            "http://LOCALHOST./v1",
            "http://[::1]:8080/v1",
            "http://[::ffff:127.0.0.1]/v1",
            "http://10.0.0.5:8000/v1",
            "http://172.16.0.1/v1",
            "http://172.31.255.255/v1",
            "http://192.168.1.20:1234/v1",
            "http://[fd12:3456::1]/v1",
            "http://[fe80::1]/v1",
            "http://0x7f.1/v1",
            "http://2130706433/v1",
        ] {
            assert_eq!(confirmation(Some("https://api.openai.com/v1"), url, NO_KEY), None, "{url}");
        }
    }

    #[test]
    fn names_and_public_addresses_near_the_private_ranges_are_not_private() {
        for (url, host) in [
            ("http://172.32.0.1/v1", "172.32.0.1"),
            ("http://172.15.255.255/v1", "172.15.255.255"),
            ("http://192.169.0.1/v1", "192.169.0.1"),
            ("http://11.0.0.1/v1", "11.0.0.1"),
            ("http://[fec0::1]/v1", "[fec0::1]"),
            ("http://[2001:db8::1]/v1", "[2001:db8::1]"),
            ("http://[::ffff:8.8.8.8]/v1", "[::ffff:8.8.8.8]"),
            ("http://gpu-box.local:11434/v1", "gpu-box.local:11434"),
            ("http://localhost.evil.com/v1", "localhost.evil.com"),
            ("http://127.0.0.1.nip.io/v1", "127.0.0.1.nip.io"),
        ] {
            assert_eq!(
                confirmation(Some("https://api.openai.com/v1"), url, NO_KEY),
                Some(Confirmation::PlainHttp { host: host.into(), with_key: false }),
                "{url}"
            );
        }
    }

    #[test]
    fn a_new_endpoint_with_a_key_already_stored_is_a_move() {
        assert_eq!(confirmation(None, "https://gateway.example/v1", KEY), moves("gateway.example"));
        assert_eq!(confirmation(None, "https://gateway.example/v1", NO_KEY), None);
        assert_eq!(confirmation(None, "http://10.0.0.5:8000/v1", NO_KEY), None);
    }

    #[test]
    fn a_new_key_given_with_the_url_moves_nothing_but_is_named_over_plain_http() {
        assert_eq!(confirmation(None, "https://gateway.example/v1", KeyState::New), None);
        assert_eq!(confirmation(Some("https://old.example/v1"), "https://gateway.example/v1", KeyState::New), None);
        assert_eq!(
            confirmation(None, "http://gateway.example/v1", KeyState::New),
            Some(Confirmation::PlainHttp { host: "gateway.example".into(), with_key: true })
        );
        assert_eq!(confirmation(None, "http://192.168.1.9:8000/v1", KeyState::New), None);
    }

    #[test]
    fn an_unreadable_old_url_counts_as_another_place() {
        assert_eq!(confirmation(Some("not a url"), "https://api.openai.com/v1", KEY), moves("api.openai.com"));
        assert_eq!(confirmation(Some("not a url"), "https://api.openai.com/v1", NO_KEY), None);
    }

    #[test]
    fn the_question_and_the_refusal_name_the_host_and_whose_key() {
        let q = Confirmation::KeyMoves { host: "api.example.com".into() }.question("OpenAI");
        assert_eq!(q.title, "Send your OpenAI key to api.example.com?");
        assert!(q.message.contains("the key you saved for OpenAI to api.example.com"), "{}", q.message);
        let q = Confirmation::PlainHttp { host: "1.2.3.4:8000".into(), with_key: true }.question("lab");
        assert_eq!(q.title, "Send your lab key unencrypted to 1.2.3.4:8000?");
        let q = Confirmation::PlainHttp { host: "1.2.3.4".into(), with_key: false }.question("lab");
        assert_eq!(q.title, "Use an unencrypted connection to 1.2.3.4?");
        let no = Confirmation::KeyMoves { host: "evil.com".into() }.refusal("OpenAI");
        assert!(no.contains("evil.com") && no.contains("Nothing was changed"), "{no}");
    }
}
