//! How long the SSE framing takes on one huge line (a base64 image in a single event):
//! an 8 MB `data:` line arriving in network-sized chunks, framed and checked.
//!
//! cargo run --release -p tally-engine --example bench_sse

use std::collections::VecDeque;
use std::time::Instant;

use tally_engine::providers::{Framer, DEFAULT_MAX_EVENT_BYTES};

fn main() {
    const LINE: usize = 8 * 1024 * 1024;
    let mut body = Vec::with_capacity(LINE + 64);
    body.extend_from_slice(b"data: {\"choices\":[{\"delta\":{\"content\":\"");
    body.extend((0..LINE).map(|i| b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[i % 64]));
    body.extend_from_slice(b"\"}}]}\n\ndata: [DONE]\n\n");
    for chunk in [1024usize, 16 * 1024, 64 * 1024] {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            let mut framer = Framer::new(DEFAULT_MAX_EVENT_BYTES);
            let mut out = VecDeque::new();
            for piece in body.chunks(chunk) {
                framer.push(piece, &mut out).expect("within the limit");
            }
            framer.finish(&mut out);
            let ms = start.elapsed().as_secs_f64() * 1000.0;
            assert_eq!(out.len(), 2);
            assert!(out[0].data.len() > LINE);
            best = best.min(ms);
        }
        println!("8 MiB line in {chunk}-byte chunks: {best:.1} ms (best of 5)");
    }
}
