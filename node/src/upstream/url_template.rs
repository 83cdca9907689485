//! [`UrlTemplate`]: where upstream requests go, with `{hub}`, `{category}` and `{event}`.
//!
//! Azure substitutes the three placeholders with `Uri.EscapeDataString` of each value (every
//! byte outside `A-Z a-z 0-9 - . _ ~` percent-encoded), so a method name can never add path
//! segments or a query; Herald does the same. Azure's Key Vault references
//! (`{@Microsoft.KeyVault(...)}`) are not supported: any other `{...}` is refused.
//!
//! Function keys travel in the query (`?code=...`), so `Debug` and `Display` replace the
//! query (and any user info) with `<redacted>`.

use std::fmt;
use std::str::FromStr;

use url::Url;

use super::Category;

/// The placeholders a template may use, in the order the docs list them.
const PLACEHOLDERS: [&str; 3] = ["hub", "category", "event"];

/// What a redacted part of a URL is shown as.
const REDACTED: &str = "<redacted>";

/// A validated upstream URL template, e.g. `https://fn.example.com/api/{hub}/{category}/{event}`.
#[derive(Clone, PartialEq, Eq)]
pub struct UrlTemplate(String);

/// Why a URL template was refused. Messages never repeat the template, which may hold a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlTemplateError {
    #[error(
        "unknown placeholder {{{0}}}: use only {{hub}}, {{category}} and {{event}} (lowercase)"
    )]
    UnknownPlaceholder(String),
    #[error(
        "Key Vault references ({{@Microsoft.KeyVault(...)}}) are not supported: write the secret itself into the template"
    )]
    KeyVaultReference,
    #[error(
        "unbalanced '{{' or '}}' at byte {0}: braces may only enclose {{hub}}, {{category}} or {{event}}"
    )]
    UnbalancedBrace(usize),
    #[error(
        "not an absolute http:// or https:// URL once placeholders are filled in ({0}): write it like \"https://host/api/{{hub}}/{{category}}/{{event}}\""
    )]
    NotHttpUrl(String),
}

impl UrlTemplate {
    /// The template as written (query included: keep it out of logs).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The URL for one event; each value is percent-encoded as Azure does.
    pub fn expand(
        &self,
        hub: &str,
        category: Category,
        event: &str,
    ) -> Result<Url, UrlTemplateError> {
        let text = substitute(&self.0, |name| match name {
            "hub" => Some(escape_data(hub)),
            "category" => Some(category.as_str().to_owned()),
            "event" => Some(escape_data(event)),
            _ => None,
        })?;
        http_url(&text)
    }
}

impl FromStr for UrlTemplate {
    type Err = UrlTemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let template = s.trim();
        let sample = substitute(template, |name| match name {
            "hub" => Some("hub".to_owned()),
            "category" => Some(Category::Messages.as_str().to_owned()),
            "event" => Some("event".to_owned()),
            _ => None,
        })?;
        http_url(&sample)?;
        Ok(Self(template.to_owned()))
    }
}

impl fmt::Display for UrlTemplate {
    /// The template with its query and user info redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.0))
    }
}

impl fmt::Debug for UrlTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UrlTemplate({self})")
    }
}

/// A URL fit for logs and error messages: query and user info redacted, fragment dropped.
pub(crate) fn redacted_url(url: &Url) -> String {
    redact(url.as_str())
}

/// Replaces every `{name}` using `value`; unknown names and stray braces are errors.
fn substitute(
    template: &str,
    value: impl Fn(&str) -> Option<String>,
) -> Result<String, UrlTemplateError> {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    let mut offset = 0;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err(UrlTemplateError::UnbalancedBrace(offset + open));
        }
        let after = &rest[open + 1..];
        let close = after
            .find(['{', '}'])
            .filter(|&i| after[i..].starts_with('}'))
            .ok_or(UrlTemplateError::UnbalancedBrace(offset + open))?;
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(unknown(name));
        }
        let filled = value(name).ok_or_else(|| unknown(name))?;
        out.push_str(&rest[..open]);
        out.push_str(&filled);
        let consumed = open + 1 + close + 1;
        offset += consumed;
        rest = &rest[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The error for `{name}`; only short plain names are repeated, anything else may be secret.
fn unknown(name: &str) -> UrlTemplateError {
    if name.starts_with('@') {
        return UrlTemplateError::KeyVaultReference;
    }
    let plain = name.len() <= 32
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    UrlTemplateError::UnknownPlaceholder(if plain {
        name.to_owned()
    } else {
        "…".to_owned()
    })
}

/// Parses an absolute http(s) URL with a host.
fn http_url(text: &str) -> Result<Url, UrlTemplateError> {
    let url = Url::parse(text).map_err(|e| UrlTemplateError::NotHttpUrl(e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(UrlTemplateError::NotHttpUrl(format!(
            "the scheme is {:?}",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(UrlTemplateError::NotHttpUrl("there is no host".to_owned()));
    }
    Ok(url)
}

/// .NET's `Uri.EscapeDataString`: every UTF-8 byte but the RFC 3986 unreserved ones as `%XX`.
fn escape_data(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `scheme://host/path` with user info and query shown as `<redacted>`, fragment dropped.
fn redact(url: &str) -> String {
    let url = url.split('#').next().unwrap_or(url);
    let (before_query, query) = match url.split_once('?') {
        Some((before, _)) => (before, true),
        None => (url, false),
    };
    let mut out = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://{REDACTED}@{host}{path}"),
                None => before_query.to_owned(),
            }
        }
        None => before_query.to_owned(),
    };
    if query {
        out.push('?');
        out.push_str(REDACTED);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(s: &str) -> UrlTemplate {
        s.parse().unwrap()
    }

    #[test]
    fn expands_like_azure() {
        let t = template("http://host.com/{hub}/api/{category}/{event}");
        let url = t
            .expand("chat", Category::Connections, "connected")
            .unwrap();
        assert_eq!(
            url.as_str(),
            "http://host.com/chat/api/connections/connected"
        );
        let url = t.expand("chat", Category::Messages, "broadcast").unwrap();
        assert_eq!(url.as_str(), "http://host.com/chat/api/messages/broadcast");
        let url = t.expand("chat", Category::Messages, "a/b?c d#é").unwrap();
        assert_eq!(
            url.as_str(),
            "http://host.com/chat/api/messages/a%2Fb%3Fc%20d%23%C3%A9"
        );
        let t = template("https://f.example/runtime/webhooks/signalr?code=s3cret&e={event}");
        let url = t.expand("chat", Category::Messages, "x&y").unwrap();
        assert_eq!(url.query(), Some("code=s3cret&e=x%26y"));
        let fixed = template(" https://f.example/api ");
        assert_eq!(fixed.as_str(), "https://f.example/api");
    }

    #[test]
    fn refuses_bad_templates() {
        let err = |s: &str| s.parse::<UrlTemplate>().unwrap_err();
        assert_eq!(
            err("http://h/{Hub}"),
            UrlTemplateError::UnknownPlaceholder("Hub".into())
        );
        assert_eq!(
            err("http://h/?code={@Microsoft.KeyVault(SecretUri=x)}"),
            UrlTemplateError::KeyVaultReference
        );
        assert_eq!(
            err("http://h/{a b}"),
            UrlTemplateError::UnknownPlaceholder("…".into())
        );
        assert_eq!(err("http://h/{hub"), UrlTemplateError::UnbalancedBrace(9));
        assert_eq!(err("http://h/hub}"), UrlTemplateError::UnbalancedBrace(12));
        assert_eq!(
            err("http://h/{{hub}}"),
            UrlTemplateError::UnbalancedBrace(9)
        );
        assert!(matches!(
            err("ftp://h/{hub}"),
            UrlTemplateError::NotHttpUrl(_)
        ));
        assert!(matches!(err("/api/{hub}"), UrlTemplateError::NotHttpUrl(_)));
        assert!(matches!(err(""), UrlTemplateError::NotHttpUrl(_)));
        assert!(
            err("http://h/{nope}")
                .to_string()
                .starts_with("unknown placeholder {nope}: use only {hub}")
        );
    }

    #[test]
    fn display_and_debug_hide_secrets() {
        let t = template("https://user:pw@f.example/api/{hub}?code=s3cret#frag");
        assert_eq!(
            t.to_string(),
            "https://<redacted>@f.example/api/{hub}?<redacted>"
        );
        assert_eq!(
            format!("{t:?}"),
            "UrlTemplate(https://<redacted>@f.example/api/{hub}?<redacted>)"
        );
        let url = Url::parse("https://f.example/a%20b?code=s3cret").unwrap();
        assert_eq!(redacted_url(&url), "https://f.example/a%20b?<redacted>");
        assert_eq!(
            redacted_url(&Url::parse("http://h:81/x").unwrap()),
            "http://h:81/x"
        );
    }
}
