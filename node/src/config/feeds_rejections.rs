//! `[[feeds]]` refusals: every bad value names its exact key and what to write.

use super::feeds_tests::{feed_with, invalid_key};

#[test]
fn each_bad_value_names_its_key() {
    let valid_to = "to = \"all\"";
    let cases: Vec<(String, &str, &str)> = vec![
        (
            "feeds = 5".to_owned(),
            "feeds",
            "expected an array of tables",
        ),
        (
            "[feeds]\nname = \"x\"".to_owned(),
            "feeds",
            "expected an array of tables",
        ),
        ("feeds = [5]".to_owned(), "feeds[0]", "expected a table"),
        (
            "[[feeds]]\nsource = { kind = \"redis-stream\", partitions = 1 }".to_owned(),
            "feeds[0].name",
            "missing: add name = ",
        ),
        (
            feed_with(valid_to).replace("\"f\"", "\"Stocks\""),
            "feeds[0].name",
            "expected 1 to 64 of a-z",
        ),
        (
            feed_with(valid_to).replace("\"f\"", "5"),
            "feeds[0].name",
            "expected a name",
        ),
        (
            feed_with(valid_to).replace("\"f\"", &format!("\"{}\"", "a".repeat(65))),
            "feeds[0].name",
            "expected 1 to 64",
        ),
        (
            format!("{}\n{}", feed_with(valid_to), feed_with(valid_to)),
            "feeds[1].name",
            "already the name of feeds[0]",
        ),
        (
            feed_with(valid_to)
                .replace("source = { kind = \"redis-stream\", partitions = 2 }\n", ""),
            "feeds[0].source",
            "missing: write source = ",
        ),
        (
            feed_with(valid_to).replace("redis-stream", "kafka"),
            "feeds[0].source",
            "unknown variant `kafka`",
        ),
        (
            feed_with(valid_to).replace("partitions = 2", "partitons = 2"),
            "feeds[0].source",
            "unknown field `partitons`",
        ),
        (
            feed_with(valid_to).replace("partitions = 2", "partitions = 0"),
            "feeds[0].source.partitions",
            "expected 1 to 1024, got 0",
        ),
        (
            feed_with(valid_to).replace("partitions = 2", "partitions = 5000"),
            "feeds[0].source.partitions",
            "expected 1 to 1024",
        ),
        (
            feed_with(valid_to).replace("partitions = 2", "partitions = -1"),
            "feeds[0].source",
            "invalid value",
        ),
        (
            feed_with(valid_to).replace(
                "kind = \"redis-stream\", partitions = 2",
                "kind = \"cosmos\", database = \"d\"",
            ),
            "feeds[0].source",
            "missing field `container`",
        ),
        (
            feed_with(valid_to).replace(
                "kind = \"redis-stream\", partitions = 2",
                "kind = \"cosmos\", database = \" \", container = \"c\"",
            ),
            "feeds[0].source.database",
            "is empty",
        ),
        (
            feed_with("to = \"all\"\nstart_from = \"yesterday\""),
            "feeds[0].start_from",
            "is not a time",
        ),
        (
            feed_with("to = \"all\"\nstart_from = 1"),
            "feeds[0].start_from",
            "expected a string",
        ),
        (
            feed_with(valid_to).replace("hub = \"h\"", "hub = \"1h\""),
            "feeds[0].hub",
            "expected a hub name",
        ),
        (
            feed_with(valid_to).replace("hub = \"h\"\n", ""),
            "feeds[0].hub",
            "missing: add hub = ",
        ),
        (
            feed_with(valid_to).replace("target = \"t\"", "target = \"a b\""),
            "feeds[0].target",
            "without spaces",
        ),
        (
            feed_with(valid_to).replace("target = \"t\"", "target = \"\""),
            "feeds[0].target",
            "without spaces",
        ),
        (
            feed_with(valid_to).replace("target = \"t\"\n", ""),
            "feeds[0].target",
            "missing: name the client method",
        ),
        (
            feed_with(valid_to).replace("target = \"t\"\n", "handler = \"http://app/x\"\n"),
            "feeds[0].to",
            "has no effect without target",
        ),
        (feed_with(""), "feeds[0].to", "missing: write to = \"all\""),
        (
            feed_with("to = \"everyone\""),
            "feeds[0].to",
            "write to = \"all\"",
        ),
        (
            feed_with("to = { group = \"{a}\", user = \"{b}\" }"),
            "feeds[0].to",
            "write to = \"all\"",
        ),
        (feed_with("to = {}"), "feeds[0].to", "write to = \"all\""),
        (
            feed_with("to = { group = \"{a\" }"),
            "feeds[0].to.group",
            "unclosed '{'",
        ),
        (
            feed_with("to = { user = \"\" }"),
            "feeds[0].to.user",
            "empty template",
        ),
        (
            feed_with("to = { user = 5 }"),
            "feeds[0].to.user",
            "expected a template string",
        ),
        (
            feed_with("to = \"all\"\nproject = \"symbol\""),
            "feeds[0].project",
            "expected a list of field names",
        ),
        (
            feed_with("to = \"all\"\nproject = [\"a\", \"a\"]"),
            "feeds[0].project",
            "expected distinct",
        ),
        (
            feed_with("to = \"all\"\nproject = [\"\"]"),
            "feeds[0].project",
            "non-empty",
        ),
        (
            feed_with("to = \"all\"\nhandler = \"ftp://x/y\""),
            "feeds[0].handler",
            "expected an absolute http://",
        ),
        (
            feed_with("to = \"all\"\nhandler = \"/api/x\""),
            "feeds[0].handler",
            "expected an absolute http://",
        ),
        (
            feed_with("to = \"all\"\nhandler = 1"),
            "feeds[0].handler",
            "expected an http:// or https:// URL",
        ),
        (
            feed_with("to = \"all\"\nbatch_size = 0"),
            "feeds[0].batch_size",
            "expected 1 to 10000, got 0",
        ),
        (
            feed_with("to = \"all\"\nbatch_size = 10001"),
            "feeds[0].batch_size",
            "expected 1 to 10000",
        ),
        (
            feed_with("to = \"all\"\nbatch_size = -3"),
            "feeds[0].batch_size",
            "expected 1 to 10000",
        ),
        (
            feed_with("to = \"all\"\nbatch_size = \"5\""),
            "feeds[0].batch_size",
            "expected a whole number",
        ),
    ];
    for (toml, expected_key, hint) in cases {
        let (key, message) = invalid_key(&toml);
        assert_eq!(key, expected_key, "{toml}: {message}");
        assert!(message.contains(hint), "{toml}: {message}");
        assert!(!message.contains('\n'), "{message}");
    }
}
