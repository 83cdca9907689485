//! The publisher: REST broadcasts at a fixed rate (open loop: sends are scheduled on a clock,
//! not after the previous answer) over a few keep-alive HTTP/1.1 connections, each argument
//! stamped with its actual send time.

use crate::flavor::Flavor;
use crate::http_wire;
use crate::stamp;
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Keep-alive connections the publisher spreads its requests over (requests in flight at most).
const CONNECTIONS: usize = 8;

/// What a publishing run achieved.
#[derive(Debug, Clone, Copy, Default)]
pub struct Published {
    /// Broadcasts the server accepted (2xx).
    pub accepted: u64,
    /// Broadcasts that failed (non-2xx or i/o).
    pub failed: u64,
    /// Wall time from first scheduled send to last answer, seconds.
    pub seconds: f64,
}

/// A publishing plan.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Server kind (path and body shape).
    pub flavor: Flavor,
    /// Where to POST.
    pub server: SocketAddr,
    /// Broadcasts per second.
    pub rate: f64,
    /// How long.
    pub duration: Duration,
    /// Argument size in bytes.
    pub argument_size: usize,
}

/// Broadcasts per `plan` (run inside a `LocalSet`).
pub async fn publish(plan: Plan) -> anyhow::Result<Published> {
    let total = (plan.rate * plan.duration.as_secs_f64()).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / plan.rate.max(0.001));
    let start = Instant::now();
    let next = Rc::new(Cell::new(0u64));
    let accepted = Rc::new(Cell::new(0u64));
    let failed = Rc::new(Cell::new(0u64));
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS.min(total.max(1) as usize) {
        let mut stream = TcpStream::connect(plan.server).await?;
        stream.set_nodelay(true)?;
        let (next, accepted, failed) = (next.clone(), accepted.clone(), failed.clone());
        tasks.push(tokio::task::spawn_local(async move {
            let host = plan.server.to_string();
            let path = plan.flavor.broadcast_path();
            let mut buf = Vec::new();
            loop {
                let i = next.get();
                if i >= total {
                    break;
                }
                next.set(i + 1);
                tokio::time::sleep_until(start + interval.mul_f64(i as f64)).await;
                let body =
                    Flavor::broadcast_body(&stamp::make(stamp::now_micros(), plan.argument_size));
                let req = http_wire::request(
                    "POST",
                    &path,
                    &host,
                    "Content-Type: application/json\r\n",
                    &body,
                );
                match http_wire::exchange(&mut stream, &req, &mut buf).await {
                    Ok(r) if (200..300).contains(&r.status) => accepted.set(accepted.get() + 1),
                    Ok(_) => failed.set(failed.get() + 1),
                    Err(_) => {
                        failed.set(failed.get() + 1);
                        return;
                    }
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    Ok(Published {
        accepted: accepted.get(),
        failed: failed.get(),
        seconds: start.elapsed().as_secs_f64(),
    })
}
