use super::*;

fn hub() -> HubName {
    "orders".parse().unwrap()
}

#[test]
fn every_recipient_form_is_understood() {
    let body = br#"[
        {"target": "a", "arguments": [1], "to": "all"},
        {"target": "b", "to": {"group": "g1"}},
        {"target": "c", "to": {"user": "u1"}},
        {"target": "d", "to": {"connection": "abc.n1"}},
        {"target": "e", "groupName": "g2"},
        {"target": "f", "userId": "u2", "groupName": null},
        {"target": "g", "connectionId": "xyz.n2"},
        {"target": "h"}
    ]"#;
    let pushes = parse_answer(&hub(), body).unwrap();
    let scopes: Vec<Scope> = pushes.iter().map(|p| p.scope.clone()).collect();
    assert_eq!(
        scopes,
        vec![
            Scope::All,
            Scope::Group("g1".into()),
            Scope::User("u1".into()),
            Scope::Connection("abc.n1".parse().unwrap()),
            Scope::Group("g2".into()),
            Scope::User("u2".into()),
            Scope::Connection("xyz.n2".parse().unwrap()),
            Scope::All,
        ]
    );
    assert_eq!(pushes[0].arguments, vec![serde_json::json!(1)]);
    assert!(pushes[1].arguments.is_empty());
    assert!(pushes.iter().all(|p| p.hub == hub()));
}

#[test]
fn an_empty_answer_sends_nothing() {
    assert!(parse_answer(&hub(), b"").unwrap().is_empty());
    assert!(parse_answer(&hub(), b" \n").unwrap().is_empty());
    assert!(parse_answer(&hub(), b"[]").unwrap().is_empty());
}

#[test]
fn malformed_answers_say_what_is_wrong() {
    for (body, expected) in [
        (&b"{"[..], "not JSON"),
        (b"{}", "not a JSON array"),
        (b"[1]", "message 0: not a JSON object"),
        (b"[{\"arguments\": []}]", "message 0: no target"),
        (b"[{\"target\": \"a b\"}]", "target must be a method name"),
        (
            b"[{\"target\": \"a\", \"arguments\": 5}]",
            "arguments must be an array",
        ),
        (b"[{\"target\": \"a\", \"to\": \"some\"}]", "to must be"),
        (
            b"[{\"target\": \"a\", \"to\": {\"room\": \"x\"}}]",
            "to.room is unknown",
        ),
        (
            b"[{\"target\": \"a\", \"to\": {\"group\": 5}}]",
            "group must be a string",
        ),
        (
            b"[{\"target\": \"a\", \"to\": {\"group\": \"\"}}]",
            "group is empty",
        ),
        (
            b"[{\"target\": \"a\", \"userId\": \"u\", \"groupName\": \"g\"}]",
            "not several",
        ),
        (
            b"[{\"target\": \"a\", \"to\": {\"connection\": \"\\u0001\"}}]",
            "invalid connection id",
        ),
    ] {
        let error = parse_answer(&hub(), body).unwrap_err();
        assert!(
            error.contains(expected),
            "{error:?} should contain {expected:?}"
        );
    }
}

#[test]
fn quotes_are_bounded() {
    let long = vec![b'x'; 2000];
    let quoted = quote(&long);
    assert!(quoted.len() < 600, "{}", quoted.len());
    assert!(quoted.ends_with("(2000 bytes)"));
    assert_eq!(quote(b"short"), "short");
}
