//! Property tests of the backplane codec: every message round-trips, and decoding arbitrary
//! (or mangled) bytes never panics.

use proptest::collection::vec;
use proptest::prelude::*;

use super::*;

fn text() -> impl Strategy<Value = String> {
    ".{0,16}"
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        Just(Target::All),
        text().prop_map(Target::User),
        text().prop_map(Target::Group),
        text().prop_map(Target::Connection),
    ]
}

fn command_op() -> impl Strategy<Value = CommandOp> {
    prop_oneof![
        text().prop_map(|group| CommandOp::AddToGroup { group }),
        text().prop_map(|group| CommandOp::RemoveFromGroup { group }),
        Just(CommandOp::RemoveFromAllGroups),
        text().prop_map(|reason| CommandOp::Close { reason }),
        Just(CommandOp::Exists),
    ]
}

fn reply_outcome() -> impl Strategy<Value = ReplyOutcome> {
    prop_oneof![
        any::<bool>().prop_map(|changed| ReplyOutcome::Done { changed }),
        Just(ReplyOutcome::NotFound),
        text().prop_map(|message| ReplyOutcome::Failed { message }),
        text().prop_map(|message| ReplyOutcome::Unconfirmed { message }),
    ]
}

fn user_group_op() -> impl Strategy<Value = UserGroupOp> {
    prop_oneof![
        (text(), any::<Option<u64>>()).prop_map(|(group, expires_at_ms)| UserGroupOp::Add {
            group,
            expires_at_ms
        }),
        text().prop_map(|group| UserGroupOp::Remove { group }),
        Just(UserGroupOp::RemoveAll),
    ]
}

fn message() -> impl Strategy<Value = BackplaneMessage> {
    let deliver = (
        (text(), any::<u64>(), text(), target()),
        (
            vec(text(), 0..4),
            vec(any::<u8>(), 0..300),
            vec(any::<u8>(), 0..300),
        ),
    )
        .prop_map(
            |((origin, sequence, hub, target), (excluded, json, msgpack))| {
                BackplaneMessage::Deliver(Delivery {
                    origin,
                    sequence,
                    hub,
                    target,
                    excluded,
                    json,
                    msgpack,
                })
            },
        );
    let command = (text(), any::<u64>(), text(), text(), command_op()).prop_map(
        |(origin, request_id, hub, connection, op)| {
            BackplaneMessage::Command(Command {
                origin,
                request_id,
                hub,
                connection,
                op,
            })
        },
    );
    let reply = (any::<u64>(), reply_outcome()).prop_map(|(request_id, outcome)| {
        BackplaneMessage::Reply(Reply {
            request_id,
            outcome,
        })
    });
    let user_groups =
        (text(), text(), text(), user_group_op()).prop_map(|(origin, hub, user, change)| {
            BackplaneMessage::UserGroups(UserGroupsChange {
                origin,
                hub,
                user,
                change,
            })
        });
    let user_groups_acked = (any::<u64>(), text(), text(), text(), user_group_op()).prop_map(
        |(request_id, origin, hub, user, change)| BackplaneMessage::UserGroupsAcked {
            request_id,
            change: UserGroupsChange {
                origin,
                hub,
                user,
                change,
            },
        },
    );
    prop_oneof![deliver, command, reply, user_groups, user_groups_acked]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_message_round_trips(message in message()) {
        let bytes = encode(&message);
        prop_assert_eq!(bytes[0], CODEC_VERSION);
        prop_assert_eq!(decode(&bytes), Ok(message));
    }

    #[test]
    fn every_traced_message_round_trips(
        message in message(),
        traceparent in "[0-9a-f-]{0,60}",
        tracestate in "[ -~]{0,80}",
    ) {
        let trace = TraceContext { traceparent, tracestate };
        let bytes = encode_traced(&message, &trace);
        prop_assert_eq!(bytes[0], TRACED_CODEC_VERSION);
        prop_assert_eq!(
            decode_envelope(&bytes),
            Ok(Envelope { message, trace: Some(trace) })
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        let _ = decode(&bytes);
        let mut versioned = vec![CODEC_VERSION];
        versioned.extend_from_slice(&bytes);
        let _ = decode(&versioned);
        versioned[0] = TRACED_CODEC_VERSION;
        let _ = decode(&versioned);
    }

    #[test]
    fn mangled_messages_never_panic(
        message in message(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = encode(&message);
        for (at, byte) in flips {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        let _ = decode(&bytes);
        let _ = decode(&bytes[..cut.index(bytes.len())]);
    }
}
