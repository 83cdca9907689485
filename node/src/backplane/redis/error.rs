//! Why the backplane or a command connection could not start.

use std::time::Duration;

/// A Redis connection that could not be set up. `target` is shown with passwords hidden.
#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    /// The URL names something the redis crate cannot use (e.g. `rediss://` without TLS support).
    #[error("redis.url {target} cannot be used: {source}: fix redis.url")]
    Invalid {
        target: String,
        source: redis::RedisError,
    },
    /// Redis refused or dropped the connection.
    #[error("cannot connect to redis at {target}: {source}: {}", advice(source))]
    Connect {
        target: String,
        source: redis::RedisError,
    },
    /// A TLS file named in `[redis]` could not be read.
    #[error("config key {key}: cannot read {path}: {source}: mount the file there or fix the path")]
    TlsFile {
        key: &'static str,
        path: String,
        source: std::io::Error,
    },
    /// No answer in time.
    #[error("no answer from redis at {target} within {}: check the address, or raise redis.connect_timeout", humantime::format_duration(*after))]
    Timeout { target: String, after: Duration },
    /// `start` was called outside a tokio runtime, so there is nowhere to run the supervisor.
    #[error(
        "the redis backplane was started outside a tokio runtime: start it from the server's runtime"
    )]
    NoRuntime,
}

/// What to do about a failed connection, from the cause the redis crate (or rustls) reports.
pub(crate) fn advice(source: &redis::RedisError) -> &'static str {
    let text = source.to_string();
    let has = |needle: &str| text.contains(needle);
    if has("WRONGPASS")
        || has("AuthenticationFailed")
        || has("invalid password")
        || has("invalid username-password")
    {
        "WRONGPASS: redis refused the password; check redis.password (or the password in redis.url) and the user"
    } else if has("NOAUTH") || has("Authentication required") {
        "NOAUTH: this redis requires a password; set redis.password (\"env:NAME\" reads a Secret) or put it in redis.url"
    } else if has("UnknownIssuer") || has("BadSignature") || has("invalid peer certificate") {
        "certificate not trusted: the server's certificate is not signed by a trusted CA; set redis.tls_ca_file to the CA that signed it"
    } else if has("NotValidForName") || has("not valid for name") {
        "certificate not valid for this host name: connect with the name the certificate was issued for (see its subject alternative names)"
    } else if has("Expired") || has("expired") {
        "certificate expired: renew the server's certificate"
    } else if has("CertificateRequired") || has("certificate required") {
        "the server requires a client certificate: set redis.tls_cert_file and redis.tls_key_file"
    } else if has("InvalidContentType") || has("corrupt message") || has("received corrupt") {
        "the server did not answer TLS: use redis:// for a plain port, rediss:// for a TLS port"
    } else {
        "check that redis runs there and that redis.url (address, credentials, redis:// or rediss://) is right"
    }
}
