//! `start_from`: "beginning", "now", or an RFC 3339 time, quoted or as a TOML date-time.
//!
//! `humantime` reads UTC times (`...Z`); numeric offsets (`+02:00`) are applied here, since
//! a time copied from a log or a database usually carries one.

use std::time::{Duration, SystemTime};

use super::feeds::StartFrom;

const HINT: &str =
    "write \"beginning\", \"now\" or an RFC 3339 time such as \"2024-05-01T12:00:00Z\"";

/// Parses a `start_from` value; the error says what to write instead.
pub(crate) fn parse_start_from(value: &toml::Value) -> Result<StartFrom, String> {
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) => d.to_string(),
        other => return Err(format!("expected a string, got {other}: {HINT}")),
    };
    match text.as_str() {
        "beginning" => Ok(StartFrom::Beginning),
        "now" => Ok(StartFrom::Now),
        _ => parse_rfc3339(&text)
            .map(StartFrom::Time)
            .ok_or_else(|| format!("{text:?} is not a time: {HINT}")),
    }
}

/// An RFC 3339 date-time with `Z` or a `±HH:MM` offset, with or without fractions.
fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if let Some(base) = text.strip_suffix(['Z', 'z']) {
        return humantime::parse_rfc3339(&format!("{}Z", base.replacen('t', "T", 1))).ok();
    }
    let split = text.len().checked_sub(6)?;
    let (base, offset) = (text.get(..split)?, text.get(split..)?);
    let bytes = offset.as_bytes();
    let sign = match bytes.first()? {
        b'+' => 1i64,
        b'-' => -1i64,
        _ => return None,
    };
    if bytes.get(3) != Some(&b':') {
        return None;
    }
    let hours: u64 = digits(offset.get(1..3)?)?;
    let minutes: u64 = digits(offset.get(4..6)?)?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let local = humantime::parse_rfc3339(&format!("{}Z", base.replacen('t', "T", 1))).ok()?;
    let shift = Duration::from_secs(hours * 3600 + minutes * 60);
    // Local time = UTC + offset, so UTC = local - offset.
    if sign > 0 {
        local.checked_sub(shift)
    } else {
        local.checked_add(shift)
    }
}

/// Exactly two ASCII digits.
fn digits(text: &str) -> Option<u64> {
    if text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::{StartFrom, parse_start_from};

    fn at(secs: u64, millis: u64) -> StartFrom {
        StartFrom::Time(SystemTime::UNIX_EPOCH + Duration::from_millis(secs * 1000 + millis))
    }

    fn parse(text: &str) -> Result<StartFrom, String> {
        parse_start_from(&toml::Value::String(text.to_owned()))
    }

    #[test]
    fn reads_keywords_and_times() {
        assert_eq!(parse("beginning"), Ok(StartFrom::Beginning));
        assert_eq!(parse("now"), Ok(StartFrom::Now));
        // 2024-05-01T12:00:00Z
        assert_eq!(parse("2024-05-01T12:00:00Z"), Ok(at(1_714_564_800, 0)));
        assert_eq!(
            parse("2024-05-01t12:00:00.250z"),
            Ok(at(1_714_564_800, 250))
        );
        assert_eq!(parse("2024-05-01T14:00:00+02:00"), Ok(at(1_714_564_800, 0)));
        assert_eq!(parse("2024-05-01T11:30:00-00:30"), Ok(at(1_714_564_800, 0)));
        let datetime: toml::Table = toml::from_str("t = 2024-05-01T12:00:00Z").unwrap();
        assert_eq!(parse_start_from(&datetime["t"]), Ok(at(1_714_564_800, 0)));
    }

    #[test]
    fn refuses_other_values() {
        for text in [
            "",
            "Now",
            "yesterday",
            "2024-05-01",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00+2:00",
            "2024-05-01T12:00:00+24:00",
            "2024-05-01T12:00:00+02-00",
            "2024-13-01T12:00:00Z",
            "é2024-05-01T12:00:00+02:00",
            "2024-05-01T12:00:0é",
            "2024-05-01T12:00:00+0é",
        ] {
            let err = parse(text).unwrap_err();
            assert!(
                err.contains("is not a time: write \"beginning\""),
                "{text}: {err}"
            );
        }
        let err = parse_start_from(&toml::Value::Integer(5)).unwrap_err();
        assert!(err.starts_with("expected a string, got 5"), "{err}");
    }
}
