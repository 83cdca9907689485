//! A minimal OTLP/HTTP trace sink for measuring tracing overhead: it accepts `POST /v1/traces`
//! on keep-alive connections, reads each body and answers `200` with an empty
//! `ExportTraceServiceResponse` (zero bytes of protobuf), counting requests and bytes. It does not
//! decode spans (the integration tests' receiver does that); it only has to be a collector that
//! never pushes back, so the cost measured is Herald's own.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What the sink has received so far.
#[derive(Debug, Default)]
pub struct SinkCounts {
    /// Export requests answered.
    pub requests: AtomicU64,
    /// Body bytes received.
    pub bytes: AtomicU64,
}

/// Accepts connections on `listener` forever, one thread per connection.
pub fn serve(listener: TcpListener, counts: Arc<SinkCounts>) -> std::io::Result<()> {
    for stream in listener.incoming() {
        let stream = stream?;
        let counts = Arc::clone(&counts);
        std::thread::spawn(move || {
            if let Err(e) = serve_connection(stream, &counts) {
                eprintln!("otlp sink: connection ended: {e}");
            }
        });
    }
    Ok(())
}

fn serve_connection(stream: TcpStream, counts: &SinkCounts) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line)? == 0 {
            return Ok(());
        }
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 {
                return Ok(());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "bad content-length")
                })?;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        counts.requests.fetch_add(1, Ordering::Relaxed);
        counts.bytes.fetch_add(length as u64, Ordering::Relaxed);
        writer.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
        )?;
    }
}
