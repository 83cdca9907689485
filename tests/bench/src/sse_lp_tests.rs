//! Tests of the SSE and long-polling wire code and clients.

use super::*;

fn events(parser: &mut EventParser, input: &[u8]) -> Result<Vec<Vec<u8>>, WireError> {
    let mut out = Vec::new();
    parser.feed(input, |e| out.push(e.to_vec()))?;
    Ok(out)
}

#[test]
fn events_as_herald_writes_them_split_anywhere() {
    let wire = b":\r\n\r\ndata: {}\x1e\r\n\r\ndata: a\x1eb\x1e\r\n\r\ndata: x\r\ndata: y\r\n\r\n";
    let want: Vec<Vec<u8>> = vec![b"{}\x1e".to_vec(), b"a\x1eb\x1e".to_vec(), b"x\ny".to_vec()];
    for split in 0..wire.len() {
        let mut parser = EventParser::default();
        let mut got = events(&mut parser, &wire[..split]).unwrap();
        got.extend(events(&mut parser, &wire[split..]).unwrap());
        assert_eq!(got, want, "split at {split}");
    }
}

#[test]
fn events_lf_only_fields_and_comments() {
    let mut parser = EventParser::default();
    let got = events(
        &mut parser,
        b": hi\nevent: e\ndata:no-space\ndatabase: x\nid: 1\n\ndata\n\n\n",
    )
    .unwrap();
    assert_eq!(got, vec![b"no-space".to_vec()]);
}

#[test]
fn event_garbage_is_ignored_or_an_error_never_a_panic() {
    let mut parser = EventParser::default();
    assert_eq!(
        events(&mut parser, b"\xff\xfe\x00garbage\n\n:\x1e\n").unwrap(),
        Vec::<Vec<u8>>::new()
    );
    let mut parser = EventParser::default();
    let long = vec![b'a'; MAX_LINE + 1];
    assert_eq!(events(&mut parser, &long), Err(WireError::TooLong));
}

#[test]
fn chunked_body_split_anywhere() {
    let wire = b"5\r\n:\r\n\r\n\r\nb;ext=1\r\ndata: {}\x1e\r\n\r\n0\r\n\r\n";
    for split in 0..wire.len() {
        let mut decoder = ChunkDecoder::default();
        let mut out = Vec::new();
        let first = decoder.feed(&wire[..split], &mut out).unwrap();
        let done = decoder.feed(&wire[split..], &mut out).unwrap();
        assert!(done || first, "split at {split}");
        assert_eq!(out, b":\r\n\r\ndata: {}\x1e\r\n", "split at {split}");
    }
}

#[test]
fn chunked_garbage_is_an_error() {
    let mut out = Vec::new();
    assert_eq!(
        ChunkDecoder::default().feed(b"zz\r\n", &mut out),
        Err(WireError::ChunkSize)
    );
    assert_eq!(
        ChunkDecoder::default().feed(b"1\r\nabc", &mut out),
        Err(WireError::ChunkEnd)
    );
    assert_eq!(
        ChunkDecoder::default().feed(&[b'1'; 300], &mut out),
        Err(WireError::ChunkSize)
    );
    assert_eq!(
        ChunkDecoder::default().feed(b"ffffffffffffffffffff\r\n", &mut out),
        Err(WireError::ChunkSize)
    );
    assert_eq!(
        ChunkDecoder::default().feed(b"fffffff\r\n", &mut out),
        Err(WireError::TooLong)
    );
}

#[test]
fn poll_answers() {
    assert_eq!(parse_poll(200, b""), Ok(PollAnswer::Records(vec![])));
    assert_eq!(
        parse_poll(200, b"{}\x1e{\"type\":6}\x1e"),
        Ok(PollAnswer::Records(vec![&b"{}"[..], &b"{\"type\":6}"[..]]))
    );
    assert_eq!(parse_poll(204, b""), Ok(PollAnswer::Closed));
    assert_eq!(
        parse_poll(200, b"{}\x1e{\"ty"),
        Err(WireError::Unterminated)
    );
    assert_eq!(parse_poll(404, b"nope"), Err(WireError::Status(404)));
    assert_eq!(parse_poll(500, b"\xff"), Err(WireError::Status(500)));
}

#[test]
fn close_and_handshake_records() {
    assert!(is_close(b"{\"type\":7,\"error\":\"x\"}"));
    assert!(!is_close(b"{\"type\":6}"));
    assert!(check_handshake(b"{}").is_ok());
    assert!(check_handshake(b"{\"error\":\"no\"}").is_err());
    assert!(check_handshake(b"\x00").is_err());
}

#[test]
fn sse_stream_counts_records_after_the_handshake() {
    let mut sse = SseStream {
        chunked: true,
        chunks: ChunkDecoder::default(),
        body: Vec::new(),
        events: EventParser::default(),
        handshaken: false,
        closed: false,
    };
    let body = b":\r\n\r\ndata: {}\x1e\r\n\r\ndata: {\"type\":1,\"arguments\":[\"@@0000000000000005\"]}\x1e{\"type\":1,\"arguments\":[\"@@0000000000000009\"]}\x1e\r\n\r\n";
    let mut wire = format!("{:x}\r\n", body.len()).into_bytes();
    wire.extend_from_slice(body);
    wire.extend_from_slice(b"\r\n");
    let mut seen = Vec::new();
    sse.feed(&wire, &mut |r| stamp::scan(r, |t| seen.push(t)))
        .unwrap();
    assert!(sse.handshaken && !sse.closed);
    assert_eq!(seen, [5, 9]);
    sse.feed(b"15\r\ndata: {\"type\":7}\x1e\r\n\r\n\r\n", &mut |_| {})
        .unwrap();
    assert!(sse.closed);
    assert!(sse.feed(b"zz\r\n", &mut |_| {}).is_err());
}
