//! The one object the HTTP layers ask "may this caller in?".

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use herald_proto::ids::HubName;
use serde_json::{Map, Value};
use url::Url;

use super::audience::{self, Target};
use super::token::{Claims, Hs256, unix_now};
use super::{AccessKey, AuthError, ClientIdentity, bearer_token};
use crate::config::Config;

/// Verifies and mints tokens for one Herald endpoint. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    /// The public base URL audiences are checked against.
    endpoint: Url,
    /// Where clients connect when it differs from `endpoint`; its audiences are accepted
    /// too, and client tokens are minted for it.
    client_endpoint: Option<Url>,
    /// `None` in anonymous mode: nothing is checked and nothing can be minted.
    key: Option<Hs256>,
}

/// An application server whose REST call was allowed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RestCaller {
    /// True when no access key is configured and the call was let in unchecked.
    pub anonymous: bool,
    /// The claims of the caller's token (empty when anonymous), for audit logging.
    pub claims: Map<String, Value>,
}

impl Authenticator {
    /// An authenticator for `endpoint`; with no key, every caller is let in (anonymous mode).
    pub fn new(endpoint: Url, key: Option<AccessKey>) -> Self {
        Self::build(endpoint, None, key.as_ref())
    }

    /// The authenticator the configuration describes: the endpoint, client endpoint and
    /// access key of its connection string, or anonymous mode without one.
    pub fn from_config(cfg: &Config) -> Self {
        let connection = cfg.connection_string.as_ref();
        Self::build(
            cfg.endpoint(),
            connection.and_then(|c| c.client_endpoint.clone()),
            connection.and_then(|c| c.access_key()),
        )
    }

    fn build(endpoint: Url, client_endpoint: Option<Url>, key: Option<&AccessKey>) -> Self {
        Self {
            inner: Arc::new(Inner {
                endpoint,
                client_endpoint,
                key: key.map(Hs256::new),
            }),
        }
    }

    /// True when no access key is configured, so nobody is authenticated.
    pub fn is_anonymous(&self) -> bool {
        self.inner.key.is_none()
    }

    /// The public base URL tokens are bound to.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// Checks the `Authorization` header of a REST call to `path` (e.g. `/api/v1/hubs/chat`;
    /// a query is ignored). Anonymous mode lets every call in.
    pub fn verify_rest(
        &self,
        authorization: Option<&str>,
        path: &str,
    ) -> Result<RestCaller, AuthError> {
        let Some(key) = &self.inner.key else {
            return Ok(RestCaller {
                anonymous: true,
                claims: Map::new(),
            });
        };
        let header = authorization
            .filter(|h| !h.trim().is_empty())
            .ok_or(AuthError::MissingToken)?;
        let token = bearer_token(header).ok_or_else(|| {
            AuthError::Malformed("the Authorization header is not \"Bearer <token>\"".to_owned())
        })?;
        let claims = key.verify(token)?;
        audience::check(&claims, &[&self.inner.endpoint], Target::Rest(path))?;
        Ok(RestCaller {
            anonymous: false,
            claims,
        })
    }

    /// Checks a client's token (from `access_token=` or a bearer header, already stripped)
    /// for `hub`. Anonymous mode ignores any token and returns a user-less identity.
    pub fn verify_client(
        &self,
        token: Option<&str>,
        hub: &HubName,
    ) -> Result<ClientIdentity, AuthError> {
        let Some(key) = &self.inner.key else {
            return Ok(ClientIdentity::default());
        };
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::MissingToken)?;
        let claims = key.verify(token)?;
        let mut bases = vec![&self.inner.endpoint];
        bases.extend(self.inner.client_endpoint.as_ref());
        audience::check(&claims, &bases, Target::Client(hub))?;
        Ok(ClientIdentity::from_claims(claims))
    }

    /// A client token for `hub`, as an application server's negotiate endpoint or
    /// `herald token` hands out: `aud` is the client URL, `nameid` the user.
    pub fn mint_client_token(
        &self,
        user: Option<&str>,
        hub: &HubName,
        ttl: Duration,
    ) -> Result<String, AuthError> {
        let base = self
            .inner
            .client_endpoint
            .as_ref()
            .unwrap_or(&self.inner.endpoint);
        let mut claims = time_claims(audience::expected(base, Target::Client(hub)), ttl);
        if let Some(user) = user.filter(|u| !u.is_empty()) {
            claims.insert("nameid".to_owned(), Value::from(user));
        }
        self.sign(&claims)
    }

    /// A REST token for `path` (e.g. `/api/v1/hubs/chat/:send`), as Azure's Management
    /// SDK would mint it.
    pub fn mint_rest_token(&self, path: &str, ttl: Duration) -> Result<String, AuthError> {
        let aud = audience::expected(&self.inner.endpoint, Target::Rest(path));
        self.sign(&time_claims(aud, ttl))
    }

    fn sign(&self, claims: &Claims) -> Result<String, AuthError> {
        self.inner
            .key
            .as_ref()
            .ok_or(AuthError::NoAccessKey)?
            .sign(claims)
    }
}

/// `aud`, `iat` and an `exp` `ttl` from now (rounded up to whole seconds).
fn time_claims(aud: String, ttl: Duration) -> Claims {
    let now = unix_now();
    let ttl_secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
    let mut claims = Map::new();
    claims.insert("aud".to_owned(), Value::from(aud));
    claims.insert("iat".to_owned(), Value::from(now));
    claims.insert("exp".to_owned(), Value::from(now.saturating_add(ttl_secs)));
    claims
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field(
                "client_endpoint",
                &self.inner.client_endpoint.as_ref().map(Url::as_str),
            )
            .field("anonymous", &self.is_anonymous())
            .finish()
    }
}

#[cfg(test)]
mod tests;
