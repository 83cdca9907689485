//! The Server-Sent Events transport (server to client; the client sends with POST). Text only,
//! so JSON protocol only. One long response per connection; when it ends, the connection ends.

use actix_web::HttpResponse;
use actix_web::http::header;
use bytes::{Bytes, BytesMut};
use herald_proto::negotiate::TransportType;

use super::attachment::Attachment;
use crate::session::handle::SessionHandle;
use crate::session::link::Frame;
use crate::session::outbox::{Attached, Next};

/// Most bytes gathered into one chunk of the response when frames are queued.
const MAX_CHUNK_BYTES: usize = 64 * 1024;

/// Where the response stream is.
enum State {
    /// Headers and the opening comment not sent yet.
    Start {
        session: SessionHandle,
        attachment: Attachment,
    },
    /// Waiting for the outbox.
    Attaching {
        session: SessionHandle,
        attachment: Attachment,
    },
    /// Streaming frames.
    Streaming {
        attached: Attached,
        _attachment: Attachment,
    },
}

/// The event-stream response for `session`.
pub fn respond(session: SessionHandle) -> HttpResponse {
    let attachment = Attachment::new(&session, TransportType::ServerSentEvents, false);
    session.metrics.sse_stream();
    let stream = futures_util::stream::unfold(
        Some(State::Start {
            session,
            attachment,
        }),
        |state| async move {
            match state? {
                // A comment first, so clients see the stream open before the first message.
                State::Start {
                    session,
                    attachment,
                } => Some((
                    Ok(Bytes::from_static(b":\r\n\r\n")),
                    Some(State::Attaching {
                        session,
                        attachment,
                    }),
                )),
                State::Attaching {
                    session,
                    attachment,
                } => {
                    let attached = session.outbox.attach(attachment.generation()).await?;
                    next_chunk(attached, attachment).await
                }
                State::Streaming {
                    attached,
                    _attachment,
                } => next_chunk(attached, _attachment).await,
            }
        },
    );
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream)
}

async fn next_chunk(
    mut attached: Attached,
    attachment: Attachment,
) -> Option<(Result<Bytes, actix_web::Error>, Option<State>)> {
    let Next::Frame(first) = attached.next().await else {
        return None;
    };
    let mut chunk = BytesMut::new();
    encode_event(&first, &mut chunk);
    while chunk.len() < MAX_CHUNK_BYTES {
        let Some(frame) = attached.try_frame() else {
            break;
        };
        encode_event(&frame, &mut chunk);
    }
    Some((
        Ok(chunk.freeze()),
        Some(State::Streaming {
            attached,
            _attachment: attachment,
        }),
    ))
}

/// One SSE event per frame: every line of the frame in its own `data:` field.
pub fn encode_event(frame: &Frame, out: &mut BytesMut) {
    for line in frame.as_bytes().split(|b| *b == b'\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytestring::ByteString;

    #[test]
    fn frames_become_data_events() {
        let mut out = BytesMut::new();
        encode_event(
            &Frame::Text(ByteString::from_static("{\"type\":6}\u{1e}")),
            &mut out,
        );
        assert_eq!(&out[..], b"data: {\"type\":6}\x1e\r\n\r\n");
        out.clear();
        encode_event(&Frame::Text(ByteString::from_static("a\nb\r\nc")), &mut out);
        assert_eq!(&out[..], b"data: a\r\ndata: b\r\ndata: c\r\n\r\n");
    }
}
