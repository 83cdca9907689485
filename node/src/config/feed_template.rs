//! Templates over document fields, as in `to = { group = "tenant-{owner.id}" }`: literal text
//! with `{dotted.path}` holes filled from a change's JSON document.
//!
//! Parsed once at startup so a malformed template is a config error, not a failure on every
//! change; rendering never panics, whatever the document.

use std::fmt;

use serde_json::Value;

/// A parsed template; `Display` gives back the text it was written as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    text: String,
    parts: Vec<Part>,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    /// Copied as is.
    Literal(String),
    /// A field reached by its dotted path (`a.b` is `document["a"]["b"]`).
    Field(Vec<String>),
}

impl Template {
    /// Parses `text`; the error says what is wrong and how to write it instead.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            rest = &rest[c.len_utf8()..];
            match c {
                '{' => {
                    let Some(end) = rest.find('}') else {
                        return Err(format!(
                            "unclosed '{{' in {text:?}: close it, as in \"{{symbol}}\""
                        ));
                    };
                    let path = &rest[..end];
                    rest = &rest[end + 1..];
                    if !literal.is_empty() {
                        parts.push(Part::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(Part::Field(parse_path(path, text)?));
                }
                '}' => {
                    return Err(format!(
                        "stray '}}' in {text:?}: fields are written as {{name}} or {{a.b}}"
                    ));
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        if parts.is_empty() {
            return Err("empty template: name a document field, as in \"{symbol}\"".to_owned());
        }
        Ok(Self {
            text: text.to_owned(),
            parts,
        })
    }

    /// The dotted paths of the fields the template reads, in order.
    pub fn fields(&self) -> impl Iterator<Item = String> + '_ {
        self.parts.iter().filter_map(|part| match part {
            Part::Field(path) => Some(path.join(".")),
            Part::Literal(_) => None,
        })
    }

    /// Fills the holes from `document`; `Err` carries the dotted path of the first field that
    /// is missing or neither a string nor a number (a group or user name must be text).
    pub fn render(&self, document: &Value) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Field(path) => {
                    let value = path
                        .iter()
                        .try_fold(document, |value, name| value.get(name.as_str()));
                    match value {
                        Some(Value::String(s)) => out.push_str(s),
                        Some(Value::Number(n)) => out.push_str(&n.to_string()),
                        _ => return Err(path.join(".")),
                    }
                }
            }
        }
        Ok(out)
    }
}

/// `a.b.c` into its names; each must be non-empty and free of braces and whitespace.
fn parse_path(path: &str, text: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = path.split('.').map(str::to_owned).collect();
    let bad = names
        .iter()
        .any(|n| n.is_empty() || n.contains('{') || n.chars().any(char::is_whitespace));
    if bad {
        return Err(format!(
            "bad field {{{path}}} in {text:?}: write a field name or a dotted path such as {{owner.id}}"
        ));
    }
    Ok(names)
}

impl fmt::Display for Template {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Template;

    #[test]
    fn parses_fields_and_literals() {
        let t = Template::parse("prefix-{a.b}-{c}").unwrap();
        assert_eq!(t.fields().collect::<Vec<_>>(), ["a.b", "c"]);
        assert_eq!(t.to_string(), "prefix-{a.b}-{c}");
        let doc = json!({"a": {"b": "x"}, "c": 7});
        assert_eq!(t.render(&doc).unwrap(), "prefix-x-7");
        let plain = Template::parse("{symbol}").unwrap();
        assert_eq!(plain.render(&json!({"symbol": "MSFT"})).unwrap(), "MSFT");
        let constant = Template::parse("everyone").unwrap();
        assert_eq!(constant.render(&json!(null)).unwrap(), "everyone");
        assert_eq!(
            Template::parse("{ü}").unwrap().render(&json!({"ü": 1.5})),
            Ok("1.5".to_owned())
        );
    }

    #[test]
    fn refuses_malformed_templates() {
        for (text, hint) in [
            ("", "empty template"),
            ("{a", "unclosed '{'"),
            ("a}", "stray '}'"),
            ("{}", "bad field {}"),
            ("{a..b}", "bad field {a..b}"),
            ("{a{b}", "bad field {a{b}"),
            ("{a b}", "bad field {a b}"),
            ("{.a}", "bad field {.a}"),
        ] {
            let err = Template::parse(text).unwrap_err();
            assert!(err.starts_with(hint), "{text:?}: {err}");
        }
    }

    #[test]
    fn missing_or_unsuitable_fields_are_named() {
        let t = Template::parse("{a.b}").unwrap();
        for doc in [
            json!({}),
            json!({"a": 1}),
            json!({"a": {"b": null}}),
            json!({"a": {"b": true}}),
            json!({"a": {"b": [1]}}),
            json!({"a": {"b": {"c": 1}}}),
            json!("text"),
            json!([1, 2]),
        ] {
            assert_eq!(t.render(&doc), Err("a.b".to_owned()), "{doc}");
        }
    }
}
