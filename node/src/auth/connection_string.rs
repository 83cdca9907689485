//! Azure-style connection strings: `Endpoint=https://host;AccessKey=...;Version=1.0;`.
//!
//! Keys are case-insensitive and may come in any order; the trailing `;` is optional.
//! `Port=` replaces the endpoint's port, `ClientEndpoint=` is the URL clients are sent to
//! when it differs (a reverse proxy or CDN in front of Herald) and `ServerEndpoint=` is
//! accepted and ignored, since application servers talk to Herald over REST only.

use std::fmt;
use std::str::FromStr;

use url::Url;

use super::AccessKey;

/// A parsed connection string. `Debug` and `Display` redact the access key.
#[derive(Clone, Debug)]
pub struct ConnectionString {
    /// The public base URL of this Herald (with `Port=` applied): token audiences are
    /// checked against it, never against the request's Host header.
    pub endpoint: Url,
    /// Where clients connect, when not at `endpoint`; client tokens are minted for it.
    pub client_endpoint: Option<Url>,
    /// The HMAC secret; `None` means nobody is authenticated (anonymous mode).
    access_key: Option<AccessKey>,
    /// `Version=`, kept only to echo it back; Azure SDKs send "1.0".
    pub version: String,
}

/// Why a connection string was refused. Messages never repeat the access key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionStringError {
    #[error(
        "connection string: missing Endpoint=...: write it as \"Endpoint=https://host;AccessKey=<key>;Version=1.0;\""
    )]
    MissingEndpoint,
    #[error(
        "connection string: part {0} has no '=': write each part as Key=Value, separated by ';'"
    )]
    NotKeyValue(usize),
    #[error("connection string: {0} is given twice: keep only one")]
    Duplicate(String),
    #[error(
        "connection string: {key} must be an absolute http:// or https:// URL without query, got {value:?} ({reason})"
    )]
    BadUrl {
        key: &'static str,
        value: String,
        reason: String,
    },
    #[error("connection string: Port must be a number between 1 and 65535, got {0:?}")]
    BadPort(String),
    #[error(
        "connection string: AccessKey is empty: paste the key, or leave AccessKey out to run without authentication"
    )]
    EmptyAccessKey,
    #[error(
        "connection string: AuthType={0} is not supported: Herald checks AccessKey tokens only, so remove AuthType and set AccessKey=<key>"
    )]
    UnsupportedAuthType(String),
}

impl ConnectionString {
    /// A connection string for `endpoint`, signing with `access_key` when there is one.
    pub fn new(endpoint: Url, access_key: Option<AccessKey>) -> Self {
        Self {
            endpoint,
            client_endpoint: None,
            access_key,
            version: "1.0".to_owned(),
        }
    }

    /// The HMAC secret, if authentication is on.
    pub fn access_key(&self) -> Option<&AccessKey> {
        self.access_key.as_ref()
    }
}

impl FromStr for ConnectionString {
    type Err = ConnectionStringError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut fields = Fields::default();
        for (index, part) in s.split(';').enumerate() {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let (key, value) = part
                .split_once('=')
                .ok_or(ConnectionStringError::NotKeyValue(index + 1))?;
            fields.set(key.trim(), value.trim())?;
        }
        fields.build()
    }
}

impl fmt::Display for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Endpoint={};", trimmed(&self.endpoint))?;
        if let Some(client) = &self.client_endpoint {
            write!(f, "ClientEndpoint={};", trimmed(client))?;
        }
        if self.access_key.is_some() {
            f.write_str("AccessKey=<redacted>;")?;
        }
        write!(f, "Version={};", self.version)
    }
}

/// A URL as text without the trailing '/' that `Url` adds to an empty path.
fn trimmed(url: &Url) -> &str {
    url.as_str().trim_end_matches('/')
}

/// The raw values seen so far, each at most once.
#[derive(Default)]
struct Fields<'a> {
    endpoint: Option<&'a str>,
    access_key: Option<&'a str>,
    version: Option<&'a str>,
    port: Option<&'a str>,
    client_endpoint: Option<&'a str>,
    server_endpoint: Option<&'a str>,
    auth_type: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn set(&mut self, key: &str, value: &'a str) -> Result<(), ConnectionStringError> {
        let (slot, name) = match key.to_ascii_lowercase().as_str() {
            "endpoint" => (&mut self.endpoint, "Endpoint"),
            "accesskey" => (&mut self.access_key, "AccessKey"),
            "version" => (&mut self.version, "Version"),
            "port" => (&mut self.port, "Port"),
            "clientendpoint" => (&mut self.client_endpoint, "ClientEndpoint"),
            "serverendpoint" => (&mut self.server_endpoint, "ServerEndpoint"),
            "authtype" => (&mut self.auth_type, "AuthType"),
            // Entra ID settings (ClientId, TenantId, ...) and future keys: not ours to judge.
            _ => return Ok(()),
        };
        if slot.replace(value).is_some() {
            return Err(ConnectionStringError::Duplicate(name.to_owned()));
        }
        Ok(())
    }

    fn build(self) -> Result<ConnectionString, ConnectionStringError> {
        if let Some(auth_type) = self.auth_type
            && !auth_type.eq_ignore_ascii_case("accesskey")
        {
            return Err(ConnectionStringError::UnsupportedAuthType(
                auth_type.to_owned(),
            ));
        }
        let raw_endpoint = self
            .endpoint
            .filter(|e| !e.is_empty())
            .ok_or(ConnectionStringError::MissingEndpoint)?;
        let mut endpoint = http_url("Endpoint", raw_endpoint)?;
        if let Some(port) = self.port {
            let number = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| ConnectionStringError::BadPort(port.to_owned()))?;
            endpoint
                .set_port(Some(number))
                .map_err(|()| ConnectionStringError::BadPort(port.to_owned()))?;
        }
        let client_endpoint = self
            .client_endpoint
            .map(|c| http_url("ClientEndpoint", c))
            .transpose()?;
        if let Some(server) = self.server_endpoint {
            http_url("ServerEndpoint", server)?;
        }
        let access_key = match self.access_key {
            None => None,
            Some(key) => Some(AccessKey::new(key).ok_or(ConnectionStringError::EmptyAccessKey)?),
        };
        Ok(ConnectionString {
            endpoint,
            client_endpoint,
            access_key,
            version: self.version.unwrap_or("1.0").to_owned(),
        })
    }
}

/// Parses an endpoint URL: http(s), with a host, no credentials, query or fragment.
fn http_url(key: &'static str, value: &str) -> Result<Url, ConnectionStringError> {
    let bad = |reason: &str| ConnectionStringError::BadUrl {
        key,
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(value).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad("the scheme must be http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConnectionStringError::BadUrl {
            key,
            value: "<hidden>".to_owned(),
            reason: "it must not carry a user name or password".to_owned(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests;
