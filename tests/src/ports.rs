//! Free loopback ports for the processes a test starts.

use std::net::TcpListener;

/// A TCP port on 127.0.0.1 that nothing listened on a moment ago.
///
/// The port is found by binding port 0 and releasing it, so another process could take it
/// before herald binds it; the kernel hands out ports in a rotating order, which makes that
/// unlikely.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("local address of a bound listener")
        .port()
}
