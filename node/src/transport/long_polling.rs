//! The long-polling transport (server to client; the client sends with POST). Each GET takes
//! what is queued, or waits for it up to the poll timeout. The connection's first poll returns
//! at once and empty: the client uses it only to learn that the connection is up.

use std::time::Duration;

use actix_web::HttpResponse;
use bytes::BytesMut;
use herald_proto::negotiate::TransportType;

use super::attachment::Attachment;
use crate::session::handle::SessionHandle;
use crate::session::link::Frame;
use crate::session::outbox::Next;

/// Most bytes returned by one poll when many frames are queued (the rest waits for the next).
const MAX_POLL_BYTES: usize = 1024 * 1024;

/// Answers one poll.
pub async fn poll(session: SessionHandle, poll_timeout: Duration) -> HttpResponse {
    let first = session.is_first_poll();
    let attachment = Attachment::new(&session, TransportType::LongPolling, true);
    let metrics = &session.metrics;
    if first {
        metrics.long_poll("first");
        return HttpResponse::Ok().finish();
    }
    let Some(mut attached) = session.outbox.attach(attachment.generation()).await else {
        // A newer poll arrived while this one waited for its turn.
        metrics.long_poll("superseded");
        return HttpResponse::NoContent().finish();
    };
    let next = tokio::select! {
        next = attached.next() => next,
        _ = actix_web::rt::time::sleep(poll_timeout) => {
            metrics.long_poll("timeout");
            return HttpResponse::Ok().finish();
        }
    };
    match next {
        Next::Frame(frame) => {
            let binary = matches!(frame, Frame::Binary(_));
            let mut body = BytesMut::from(frame.as_bytes());
            while body.len() < MAX_POLL_BYTES {
                let Some(frame) = attached.try_frame() else {
                    break;
                };
                body.extend_from_slice(frame.as_bytes());
            }
            let content_type = if binary {
                "application/octet-stream"
            } else {
                "text/plain; charset=utf-8"
            };
            HttpResponse::Ok()
                .content_type(content_type)
                .body(body.freeze())
        }
        // Superseded by a newer poll, or the connection closed: the spec's 204.
        Next::Superseded => {
            metrics.long_poll("superseded");
            HttpResponse::NoContent().finish()
        }
        Next::Closed => {
            metrics.long_poll("closed");
            HttpResponse::NoContent().finish()
        }
    }
}
