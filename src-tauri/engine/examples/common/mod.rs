//! What the benches' local servers share.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Reads one whole HTTP request (head and `content-length` body) from `sock`, calling
/// `on_first_byte` when its first bytes arrive. `false` when the peer closed first.
pub async fn read_request(sock: &mut TcpStream, buf: &mut [u8], mut on_first_byte: impl FnMut()) -> bool {
    let mut got = Vec::new();
    loop {
        let n = sock.read(buf).await.unwrap_or(0);
        if n == 0 {
            return false;
        }
        if got.is_empty() {
            on_first_byte();
        }
        got.extend_from_slice(&buf[..n]);
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).to_ascii_lowercase();
            let len: usize = head.lines().find_map(|l| l.strip_prefix("content-length:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
            if got.len() >= end + 4 + len {
                return true;
            }
        }
    }
}
