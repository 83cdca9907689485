//! [`TraceExport`]: what the standard `OTEL_*` environment variables ask for. Traces are
//! configured by these variables only, as every OpenTelemetry SDK is, so a collector set up
//! for other services works for Herald unchanged.
//!
//! Read here, not left to the SDK, so that a wrong value stops the process with the
//! variable's name instead of being ignored.

use std::collections::BTreeMap;
use std::time::Duration;

/// A variable that holds a value Herald cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("environment variable {variable}: {message}")]
pub struct OtelEnvError {
    /// The variable.
    pub variable: &'static str,
    /// What is wrong and what to set instead.
    pub message: String,
}

/// Whether and where traces are exported.
#[derive(Debug, Clone, PartialEq)]
pub enum TraceExport {
    /// No exporter: no span is recorded, nothing is sent. The reason is logged at start.
    Off(&'static str),
    /// Export to an OTLP/HTTP collector.
    On(Box<OtelSettings>),
}

/// How an OTLP/HTTP export request is encoded (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// `http/protobuf`, the default.
    HttpProtobuf,
    /// `http/json`.
    HttpJson,
}

/// Which traces are recorded (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SamplerSetting {
    /// `always_on`.
    AlwaysOn,
    /// `always_off`.
    AlwaysOff,
    /// `traceidratio`: this fraction of traces.
    Ratio(f64),
    /// `parentbased_*`: follow the caller's decision; decide as the inner setting for a new trace.
    /// `parentbased_always_on` is the default.
    ParentBased(RootSampler),
}

/// What a parent-based sampler does for a trace that starts here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RootSampler {
    /// Record it.
    AlwaysOn,
    /// Do not record it.
    AlwaysOff,
    /// Record this fraction.
    Ratio(f64),
}

/// Everything the exporter needs, resolved from the variables.
#[derive(Debug, Clone, PartialEq)]
pub struct OtelSettings {
    /// Where spans are POSTed: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` as given, or
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`.
    pub endpoint: url::Url,
    /// The request encoding.
    pub protocol: OtlpProtocol,
    /// Extra request headers (`OTEL_EXPORTER_OTLP_HEADERS`, then `..._TRACES_HEADERS`).
    pub headers: BTreeMap<String, String>,
    /// How long one export request may take (`OTEL_EXPORTER_OTLP_TIMEOUT`, default 10 s).
    pub timeout: Duration,
    /// `service.name`: `OTEL_SERVICE_NAME`, else from `OTEL_RESOURCE_ATTRIBUTES`, else `herald`.
    pub service_name: String,
    /// `OTEL_RESOURCE_ATTRIBUTES` (without `service.name`).
    pub resource: BTreeMap<String, String>,
    /// The sampler.
    pub sampler: SamplerSetting,
    /// How long a span may wait before its batch is sent (`OTEL_BSP_SCHEDULE_DELAY`, 5 s).
    pub schedule_delay: Duration,
    /// Spans waiting for export at most; beyond it new spans are dropped and counted
    /// (`OTEL_BSP_MAX_QUEUE_SIZE`, 2048).
    pub max_queue_size: usize,
    /// Spans per export request at most (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, 512).
    pub max_export_batch_size: usize,
}

/// Reads the variables from `vars` (the process environment, or a test's).
///
/// # Errors
/// The first variable whose value is not usable.
pub fn from_env(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<TraceExport, OtelEnvError> {
    let vars: BTreeMap<String, String> = vars
        .into_iter()
        .filter(|(k, _)| k.starts_with("OTEL_"))
        .collect();
    let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    if let Some(value) = get("OTEL_SDK_DISABLED") {
        match value.to_ascii_lowercase().as_str() {
            "true" => return Ok(TraceExport::Off("OTEL_SDK_DISABLED=true")),
            "false" => {}
            _ => {
                return Err(error(
                    "OTEL_SDK_DISABLED",
                    format!("expected true or false, got {value:?}"),
                ));
            }
        }
    }
    if let Some(value) = get("OTEL_TRACES_EXPORTER") {
        match value {
            "otlp" => {}
            "none" => return Ok(TraceExport::Off("OTEL_TRACES_EXPORTER=none")),
            _ => {
                return Err(error(
                    "OTEL_TRACES_EXPORTER",
                    format!("only otlp and none are supported, got {value:?}"),
                ));
            }
        }
    }
    let endpoint = match (
        get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        get("OTEL_EXPORTER_OTLP_ENDPOINT"),
    ) {
        (Some(traces), _) => parse_endpoint("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces, false)?,
        (None, Some(base)) => parse_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", base, true)?,
        (None, None) => return Ok(TraceExport::Off("no OTEL_EXPORTER_OTLP_ENDPOINT is set")),
    };
    let (protocol_var, protocol) = match get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") {
        Some(p) => ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", Some(p)),
        None => (
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            get("OTEL_EXPORTER_OTLP_PROTOCOL"),
        ),
    };
    let protocol = match protocol.unwrap_or("http/protobuf") {
        "http/protobuf" => OtlpProtocol::HttpProtobuf,
        "http/json" => OtlpProtocol::HttpJson,
        "grpc" => {
            return Err(error(
                protocol_var,
                "grpc is not built into herald: use http/protobuf and the collector's OTLP/HTTP port (4318)".to_owned(),
            ));
        }
        other => {
            return Err(error(
                protocol_var,
                format!("expected http/protobuf or http/json, got {other:?}"),
            ));
        }
    };
    let mut headers = BTreeMap::new();
    for var in [
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    ] {
        if let Some(value) = get(var) {
            headers.extend(parse_pairs(var, value)?);
        }
    }
    let timeout = match get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") {
        Some(v) => millis("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", v)?,
        None => match get("OTEL_EXPORTER_OTLP_TIMEOUT") {
            Some(v) => millis("OTEL_EXPORTER_OTLP_TIMEOUT", v)?,
            None => Duration::from_secs(10),
        },
    };
    let mut resource = match get("OTEL_RESOURCE_ATTRIBUTES") {
        Some(v) => parse_pairs("OTEL_RESOURCE_ATTRIBUTES", v)?,
        None => BTreeMap::new(),
    };
    let from_resource = resource.remove("service.name");
    let service_name = get("OTEL_SERVICE_NAME")
        .map(str::to_owned)
        .or(from_resource)
        .unwrap_or_else(|| "herald".to_owned());
    let sampler = sampler(get("OTEL_TRACES_SAMPLER"), get("OTEL_TRACES_SAMPLER_ARG"))?;
    let schedule_delay = match get("OTEL_BSP_SCHEDULE_DELAY") {
        Some(v) => millis("OTEL_BSP_SCHEDULE_DELAY", v)?,
        None => Duration::from_secs(5),
    };
    let max_queue_size = count(
        "OTEL_BSP_MAX_QUEUE_SIZE",
        get("OTEL_BSP_MAX_QUEUE_SIZE"),
        2048,
    )?;
    let max_export_batch_size = count(
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        get("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
        512,
    )?
    .min(max_queue_size);
    Ok(TraceExport::On(Box::new(OtelSettings {
        endpoint,
        protocol,
        headers,
        timeout,
        service_name,
        resource,
        sampler,
        schedule_delay,
        max_queue_size,
        max_export_batch_size,
    })))
}

/// One line for `herald check` and the start-up log: where traces go, or why they do not.
pub fn describe(export: &TraceExport) -> String {
    match export {
        TraceExport::Off(reason) => format!("traces: not exported ({reason})"),
        TraceExport::On(s) => format!(
            "traces: exported to {} ({}, sampler {:?}, service.name {}, queue {} spans, batch {}, delay {:?})",
            s.endpoint,
            match s.protocol {
                OtlpProtocol::HttpProtobuf => "http/protobuf",
                OtlpProtocol::HttpJson => "http/json",
            },
            s.sampler,
            s.service_name,
            s.max_queue_size,
            s.max_export_batch_size,
            s.schedule_delay
        ),
    }
}

fn error(variable: &'static str, message: String) -> OtelEnvError {
    OtelEnvError { variable, message }
}

fn parse_endpoint(
    variable: &'static str,
    value: &str,
    base: bool,
) -> Result<url::Url, OtelEnvError> {
    let mut url = url::Url::parse(value).map_err(|e| {
        error(
            variable,
            format!("{value:?} is not a URL ({e}); e.g. http://otel-collector:4318"),
        )
    })?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(error(
            variable,
            format!("{value:?} must be an http:// or https:// URL (OTLP over HTTP)"),
        ));
    }
    if base {
        let path = format!("{}/v1/traces", url.path().trim_end_matches('/'));
        url.set_path(&path);
    }
    Ok(url)
}

fn millis(variable: &'static str, value: &str) -> Result<Duration, OtelEnvError> {
    value
        .parse::<u64>()
        .map(Duration::from_millis)
        .map_err(|_| error(variable, format!("expected milliseconds, got {value:?}")))
}

fn count(
    variable: &'static str,
    value: Option<&str>,
    default: usize,
) -> Result<usize, OtelEnvError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| error(variable, format!("expected a positive number, got {v:?}"))),
    }
}

/// `key=value,key2=value2`, values percent-decoded (the W3C Baggage form the spec uses).
fn parse_pairs(
    variable: &'static str,
    value: &str,
) -> Result<BTreeMap<String, String>, OtelEnvError> {
    let mut pairs = BTreeMap::new();
    for item in value.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let Some((key, raw)) = item.split_once('=') else {
            return Err(error(
                variable,
                format!("{item:?} is not key=value (entries are separated by commas)"),
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(error(variable, format!("{item:?} has an empty key")));
        }
        let decoded = percent_decode(raw.trim()).ok_or_else(|| {
            error(
                variable,
                format!("the value of {key} is not valid percent-encoded UTF-8"),
            )
        })?;
        pairs.insert(key.to_owned(), decoded);
    }
    Ok(pairs)
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn sampler(name: Option<&str>, arg: Option<&str>) -> Result<SamplerSetting, OtelEnvError> {
    let ratio = || -> Result<f64, OtelEnvError> {
        match arg {
            None => Ok(1.0),
            Some(v) => v
                .parse::<f64>()
                .ok()
                .filter(|r| (0.0..=1.0).contains(r))
                .ok_or_else(|| {
                    error(
                        "OTEL_TRACES_SAMPLER_ARG",
                        format!("expected a ratio between 0 and 1, got {v:?}"),
                    )
                }),
        }
    };
    Ok(match name.unwrap_or("parentbased_always_on") {
        "always_on" => SamplerSetting::AlwaysOn,
        "always_off" => SamplerSetting::AlwaysOff,
        "traceidratio" => SamplerSetting::Ratio(ratio()?),
        "parentbased_always_on" => SamplerSetting::ParentBased(RootSampler::AlwaysOn),
        "parentbased_always_off" => SamplerSetting::ParentBased(RootSampler::AlwaysOff),
        "parentbased_traceidratio" => SamplerSetting::ParentBased(RootSampler::Ratio(ratio()?)),
        other => {
            return Err(error(
                "OTEL_TRACES_SAMPLER",
                format!(
                    "{other:?} is not supported; use always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio"
                ),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Result<TraceExport, OtelEnvError> {
        from_env(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        )
    }

    fn on(pairs: &[(&str, &str)]) -> OtelSettings {
        match env(pairs).unwrap() {
            TraceExport::On(settings) => *settings,
            off => panic!("expected an exporter, got {off:?}"),
        }
    }

    #[test]
    fn no_endpoint_means_no_exporter() {
        assert_eq!(
            env(&[]).unwrap(),
            TraceExport::Off("no OTEL_EXPORTER_OTLP_ENDPOINT is set")
        );
        assert!(matches!(
            env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_SDK_DISABLED", "TRUE")
            ])
            .unwrap(),
            TraceExport::Off(_)
        ));
        assert!(matches!(
            env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_TRACES_EXPORTER", "none")
            ])
            .unwrap(),
            TraceExport::Off(_)
        ));
    }

    #[test]
    fn defaults_follow_the_specification() {
        let s = on(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]);
        assert_eq!(s.endpoint.as_str(), "http://collector:4318/v1/traces");
        assert_eq!(s.protocol, OtlpProtocol::HttpProtobuf);
        assert_eq!(s.timeout, Duration::from_secs(10));
        assert_eq!(s.service_name, "herald");
        assert_eq!(
            s.sampler,
            SamplerSetting::ParentBased(RootSampler::AlwaysOn)
        );
        assert_eq!(s.schedule_delay, Duration::from_secs(5));
        assert_eq!((s.max_queue_size, s.max_export_batch_size), (2048, 512));
    }

    #[test]
    fn the_traces_endpoint_is_used_as_given_and_a_base_gets_the_signal_path() {
        let s = on(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://ignored:4318"),
            (
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                "https://x.example/custom",
            ),
        ]);
        assert_eq!(s.endpoint.as_str(), "https://x.example/custom");
        let s = on(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/prefix/")]);
        assert_eq!(s.endpoint.as_str(), "http://c:4318/prefix/v1/traces");
    }

    #[test]
    fn headers_resource_and_service_name() {
        let s = on(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b, x=1"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x=2"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "deployment.environment=prod,service.name=from-attrs",
            ),
        ]);
        assert_eq!(s.headers.get("api-key").map(String::as_str), Some("a b"));
        assert_eq!(s.headers.get("x").map(String::as_str), Some("2"));
        assert_eq!(s.service_name, "from-attrs");
        assert_eq!(
            s.resource.get("deployment.environment").map(String::as_str),
            Some("prod")
        );
        assert!(!s.resource.contains_key("service.name"));
        let s = on(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"),
            ("OTEL_SERVICE_NAME", "push"),
        ]);
        assert_eq!(s.service_name, "push");
    }

    #[test]
    fn samplers_and_batching() {
        let s = on(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "64"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ]);
        assert_eq!(
            s.sampler,
            SamplerSetting::ParentBased(RootSampler::Ratio(0.25))
        );
        assert_eq!(s.schedule_delay, Duration::from_millis(100));
        assert_eq!((s.max_queue_size, s.max_export_batch_size), (64, 64));
        assert_eq!(s.protocol, OtlpProtocol::HttpJson);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let base = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318");
        for (pairs, variable) in [
            (
                vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
            (
                vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://c")],
                "OTEL_EXPORTER_OTLP_ENDPOINT",
            ),
            (
                vec![base, ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")],
                "OTEL_EXPORTER_OTLP_PROTOCOL",
            ),
            (
                vec![base, ("OTEL_EXPORTER_OTLP_HEADERS", "novalue")],
                "OTEL_EXPORTER_OTLP_HEADERS",
            ),
            (
                vec![base, ("OTEL_TRACES_SAMPLER", "jaeger_remote")],
                "OTEL_TRACES_SAMPLER",
            ),
            (
                vec![
                    base,
                    ("OTEL_TRACES_SAMPLER", "traceidratio"),
                    ("OTEL_TRACES_SAMPLER_ARG", "2"),
                ],
                "OTEL_TRACES_SAMPLER_ARG",
            ),
            (
                vec![base, ("OTEL_BSP_SCHEDULE_DELAY", "5s")],
                "OTEL_BSP_SCHEDULE_DELAY",
            ),
            (
                vec![base, ("OTEL_BSP_MAX_QUEUE_SIZE", "0")],
                "OTEL_BSP_MAX_QUEUE_SIZE",
            ),
            (
                vec![base, ("OTEL_SDK_DISABLED", "yes")],
                "OTEL_SDK_DISABLED",
            ),
        ] {
            let e = env(&pairs).unwrap_err();
            assert_eq!(e.variable, variable, "{pairs:?}");
            assert!(
                e.to_string()
                    .starts_with(&format!("environment variable {variable}: ")),
                "{e}"
            );
        }
    }
}
