//! Free loopback ports for the processes a test starts.
//!
//! A port is chosen here and bound later by a child process (herald, redis-server), so it must
//! not be taken in between. Ports handed out by binding port 0 come from the kernel's ephemeral
//! range, the same range every outgoing connection (a node's Redis link, a client socket) takes
//! its local port from — one of those can grab the port first. So ports are picked below that
//! range (Linux's default starts at 32768), each at most once per test process, and checked by
//! binding.

use std::net::TcpListener;
use std::sync::atomic::{AtomicU32, Ordering};

/// The lowest port handed out: above every port on the Fetch standard's "bad ports" list
/// (the highest is 10080), which Node's `fetch` and browsers refuse to connect to.
const LOW: u32 = 10_100;
/// One past the highest: below the kernel's ephemeral range.
const HIGH: u32 = 32_000;

/// How many ports this test process has handed out; each call moves on, so a port given to one
/// test is never given to another of the same process.
static HANDED_OUT: AtomicU32 = AtomicU32::new(0);

/// A TCP port on 127.0.0.1 that nothing listens on and no outgoing connection will take.
pub fn free_port() -> u16 {
    let span = HIGH - LOW;
    // Test binaries run one after another; starting each at its own offset keeps a port that a
    // previous binary's process may still be releasing out of the way.
    let start = std::process::id().wrapping_mul(7_919) % span;
    for _ in 0..span {
        let n = HANDED_OUT.fetch_add(1, Ordering::Relaxed);
        let port = LOW + (start + n) % span;
        if TcpListener::bind(("127.0.0.1", port as u16)).is_ok() {
            return port as u16;
        }
    }
    panic!("no free port between {LOW} and {HIGH} on 127.0.0.1");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_and_below_the_ephemeral_range() {
        let a = free_port();
        let b = free_port();
        assert_ne!(a, b);
        assert!((LOW..HIGH).contains(&u32::from(a)) && (LOW..HIGH).contains(&u32::from(b)));
    }
}
