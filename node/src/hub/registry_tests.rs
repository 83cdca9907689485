use std::time::{Duration, Instant};

use super::*;

fn cid(s: &str) -> ConnectionId {
    s.parse().unwrap()
}

fn ids(v: &[&str]) -> Vec<ConnectionId> {
    v.iter().map(|s| cid(s)).collect()
}

fn registry() -> (Registry<()>, Instant) {
    let now = Instant::now();
    let mut r = Registry::new();
    r.add_connection(cid("a1"), Some("alice".into()), (), now);
    r.add_connection(cid("a2"), Some("alice".into()), (), now);
    r.add_connection(cid("b1"), Some("bob".into()), (), now);
    r.add_connection(cid("x1"), None, (), now);
    (r, now)
}

#[test]
fn scopes_select_the_right_connections() {
    let (mut r, _) = registry();
    r.add_to_group(&cid("a1"), "g").unwrap();
    r.add_to_group(&cid("b1"), "g").unwrap();
    assert_eq!(
        r.recipients(&Scope::All, &[]),
        ids(&["a1", "a2", "b1", "x1"])
    );
    assert_eq!(
        r.recipients(&Scope::User("alice".into()), &[]),
        ids(&["a1", "a2"])
    );
    assert_eq!(r.recipients(&Scope::User("nobody".into()), &[]), ids(&[]));
    assert_eq!(
        r.recipients(&Scope::Group("g".into()), &[]),
        ids(&["a1", "b1"])
    );
    assert_eq!(r.recipients(&Scope::Group("none".into()), &[]), ids(&[]));
    assert_eq!(
        r.recipients(&Scope::Connection(cid("x1")), &[]),
        ids(&["x1"])
    );
    assert_eq!(r.recipients(&Scope::Connection(cid("zz")), &[]), ids(&[]));
}

#[test]
fn exclusions_apply_to_every_scope() {
    let (mut r, _) = registry();
    r.add_to_group(&cid("a1"), "g").unwrap();
    r.add_to_group(&cid("b1"), "g").unwrap();
    let ex = ids(&["a1"]);
    assert_eq!(r.recipients(&Scope::All, &ex), ids(&["a2", "b1", "x1"]));
    assert_eq!(
        r.recipients(&Scope::User("alice".into()), &ex),
        ids(&["a2"])
    );
    assert_eq!(r.recipients(&Scope::Group("g".into()), &ex), ids(&["b1"]));
    assert_eq!(r.recipients(&Scope::Connection(cid("a1")), &ex), ids(&[]));
}

#[test]
fn group_membership_is_tracked_both_ways() {
    let (mut r, _) = registry();
    assert_eq!(r.add_to_group(&cid("a1"), "g"), Ok(true));
    assert_eq!(r.add_to_group(&cid("a1"), "g"), Ok(false));
    assert!(r.has_group("g"));
    assert_eq!(r.remove_from_group(&cid("a1"), "g"), Ok(true));
    assert_eq!(r.remove_from_group(&cid("a1"), "g"), Ok(false));
    assert!(!r.has_group("g"), "an empty group disappears");
    assert_eq!(
        r.add_to_group(&cid("zz"), "g"),
        Err(UnknownConnection(cid("zz")))
    );
    assert_eq!(
        r.remove_from_group(&cid("zz"), "g"),
        Err(UnknownConnection(cid("zz")))
    );
}

#[test]
fn removing_a_connection_cleans_every_index() {
    let (mut r, _) = registry();
    r.add_to_group(&cid("b1"), "g1").unwrap();
    r.add_to_group(&cid("b1"), "g2").unwrap();
    let entry = r.remove_connection(&cid("b1")).unwrap();
    assert_eq!(entry.user.as_deref(), Some("bob"));
    assert!(!r.has_user("bob"));
    assert!(!r.has_group("g1") && !r.has_group("g2"));
    assert!(!r.has_connection(&cid("b1")));
    assert!(r.remove_connection(&cid("b1")).is_none());
    assert_eq!(
        (r.connection_count(), r.user_count(), r.group_count()),
        (3, 1, 0)
    );
    r.remove_connection(&cid("a1"));
    assert!(r.has_user("alice"), "alice still has a2");
    r.remove_connection(&cid("a2"));
    assert!(!r.has_user("alice"));
}

#[test]
fn remove_from_all_groups() {
    let (mut r, _) = registry();
    r.add_to_group(&cid("a1"), "g1").unwrap();
    r.add_to_group(&cid("a1"), "g2").unwrap();
    r.add_to_group(&cid("b1"), "g2").unwrap();
    assert_eq!(r.remove_from_all_groups(&cid("a1")), Ok(2));
    assert!(!r.has_group("g1"));
    assert_eq!(r.recipients(&Scope::Group("g2".into()), &[]), ids(&["b1"]));
    assert_eq!(
        r.remove_from_all_groups(&cid("zz")),
        Err(UnknownConnection(cid("zz")))
    );
}

#[test]
fn user_groups_apply_to_current_and_future_connections() {
    let (mut r, now) = registry();
    r.add_user_to_group("alice", "vip", None);
    assert_eq!(
        r.recipients(&Scope::Group("vip".into()), &[]),
        ids(&["a1", "a2"])
    );
    assert!(r.user_in_group("alice", "vip", now));
    let joined = r.add_connection(cid("a3"), Some("alice".into()), (), now);
    assert_eq!(joined, vec!["vip".to_owned()]);
    assert_eq!(
        r.recipients(&Scope::Group("vip".into()), &[]),
        ids(&["a1", "a2", "a3"])
    );
    // A user with no connection yet can be added; the membership waits for them.
    r.add_user_to_group("carol", "vip", None);
    assert!(r.user_in_group("carol", "vip", now));
    r.add_connection(cid("c1"), Some("carol".into()), (), now);
    assert_eq!(
        r.recipients(&Scope::Group("vip".into()), &[]),
        ids(&["a1", "a2", "a3", "c1"])
    );
}

#[test]
fn removing_a_user_from_a_group_removes_their_connections() {
    let (mut r, now) = registry();
    r.add_user_to_group("alice", "vip", None);
    r.add_to_group(&cid("b1"), "vip").unwrap();
    assert!(r.remove_user_from_group("alice", "vip"));
    assert!(!r.user_in_group("alice", "vip", now));
    assert_eq!(r.recipients(&Scope::Group("vip".into()), &[]), ids(&["b1"]));
    assert!(
        !r.remove_user_from_group("alice", "vip"),
        "nothing left to remove"
    );
    let joined = r.add_connection(cid("a9"), Some("alice".into()), (), now);
    assert!(joined.is_empty());
    // A connection-level membership of the user also counts as membership to remove.
    r.add_to_group(&cid("b1"), "other").unwrap();
    assert!(r.remove_user_from_group("bob", "other"));
    assert!(!r.has_group("other"));
}

#[test]
fn remove_user_from_all_groups() {
    let (mut r, now) = registry();
    r.add_user_to_group("alice", "g1", None);
    r.add_user_to_group("alice", "g2", None);
    r.remove_user_from_all_groups("alice");
    assert!(!r.has_group("g1") && !r.has_group("g2"));
    assert!(!r.user_in_group("alice", "g1", now));
    assert!(
        r.add_connection(cid("a5"), Some("alice".into()), (), now)
            .is_empty()
    );
}

#[test]
fn user_group_memberships_expire() {
    let (mut r, now) = registry();
    let later = now + Duration::from_secs(10);
    r.add_user_to_group("alice", "temp", Some(later));
    r.add_user_to_group("alice", "perm", None);
    assert!(r.user_in_group("alice", "temp", now));
    assert_eq!(r.expire_user_groups(now), 0);
    assert_eq!(r.expire_user_groups(later), 1);
    assert!(!r.user_in_group("alice", "temp", later));
    assert!(!r.has_group("temp"));
    assert_eq!(
        r.recipients(&Scope::Group("perm".into()), &[]),
        ids(&["a1", "a2"])
    );
    // An expired membership is not applied to a connection that arrives before the sweep.
    r.add_user_to_group("bob", "soon", Some(later));
    assert!(
        r.add_connection(cid("b2"), Some("bob".into()), (), later)
            .is_empty()
    );
}

#[test]
fn re_adding_a_connection_replaces_it() {
    let (mut r, now) = registry();
    r.add_to_group(&cid("a1"), "g").unwrap();
    r.add_connection(cid("a1"), Some("bob".into()), (), now);
    assert!(!r.has_group("g"));
    assert_eq!(
        r.recipients(&Scope::User("alice".into()), &[]),
        ids(&["a2"])
    );
    assert_eq!(
        r.recipients(&Scope::User("bob".into()), &[]),
        ids(&["a1", "b1"])
    );
}

#[test]
fn a_connection_membership_makes_its_user_a_member() {
    let (mut r, now) = registry();
    assert!(!r.user_in_group("bob", "g", now));
    r.add_to_group(&cid("b1"), "g").unwrap();
    assert!(r.user_in_group("bob", "g", now));
    r.remove_connection(&cid("b1"));
    assert!(!r.user_in_group("bob", "g", now));
}
