//! Logs and traces: the process's `tracing` subscriber, and OpenTelemetry traces exported over
//! OTLP/HTTP when the standard `OTEL_*` variables ask for them.
//!
//! - [`otel_env`]: [`otel_env::TraceExport`] from `OTEL_EXPORTER_OTLP_ENDPOINT`
//!   and the other standard variables; a wrong value is an error naming the variable.
//! - [`export_queue`]: the bounded span processor in front of the exporter (drops are counted,
//!   never waited for).
//! - [`spans`]: every span Herald records, names and attributes in one place.
//! - [`propagation`]: W3C `traceparent` on HTTP and in backplane envelopes.
//! - [`json_log`]: `trace_id` / `span_id` in JSON log lines.
//!
//! Without an endpoint there is no OpenTelemetry layer at all: Herald's spans (all at `TRACE`
//! level, see [`spans`]) interest no layer and cost a cached check; envelopes stay version 1.

pub mod export_queue;
pub mod json_log;
pub mod otel_env;
pub mod propagation;
pub mod spans;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{Config, LogFormat};
use export_queue::{ExportQueue, QueueSettings, SpanCounters};
use otel_env::{OtelSettings, OtlpProtocol, RootSampler, SamplerSetting, TraceExport};

/// The installed logging and tracing; keep it until the process ends, then [`shutdown`] it
/// so the last spans are sent.
///
/// [`shutdown`]: Telemetry::shutdown
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
    counters: Option<Arc<SpanCounters>>,
}

impl Telemetry {
    /// The span counters, when traces are exported (for `/metrics`).
    pub fn span_counters(&self) -> Option<Arc<SpanCounters>> {
        self.counters.clone()
    }

    /// Sends the spans still queued (waiting at most a few seconds) and stops exporting.
    pub fn shutdown(&self) {
        if let Some(provider) = &self.provider
            && let Err(error) = provider.shutdown_with_timeout(Duration::from_secs(5))
        {
            tracing::warn!(%error, "could not send the last spans");
        }
    }
}

/// Installs the process-wide subscriber: logs on stderr as `log.format` and `log.level` say,
/// and, when `vars` configure an endpoint, the OpenTelemetry layer exporting Herald's spans.
/// `instance` is `service.instance.id` (the node id). Must run outside any async runtime (the
/// exporter's blocking HTTP client starts its own).
///
/// # Errors
/// An invalid `log.level`, an unusable `OTEL_*` variable (named), or an exporter that cannot be
/// built.
pub fn install(
    config: &Config,
    instance: &str,
    vars: impl IntoIterator<Item = (String, String)>,
) -> anyhow::Result<Telemetry> {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log.level).with_context(|| {
        format!(
            "config key log.level: invalid filter {:?}",
            config.log.level
        )
    })?;
    let export = otel_env::from_env(vars)?;
    let fmt = match config.log.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .event_format(json_log::WithTraceIds(
                tracing_subscriber::fmt::format().json(),
            ))
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let (otel, telemetry) = match &export {
        TraceExport::Off(_) => (
            None,
            Telemetry {
                provider: None,
                counters: None,
            },
        ),
        TraceExport::On(settings) => {
            let counters = Arc::new(SpanCounters::default());
            let provider = provider(settings, instance, counters.clone())?;
            let layer = tracing_opentelemetry::layer()
                .with_tracer(provider.tracer("herald"))
                .with_location(false)
                .with_threads(false)
                .with_target(false)
                .with_tracked_inactivity(false)
                .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                    meta.target().starts_with("herald")
                        && (meta.is_span() || *meta.level() <= tracing::Level::INFO)
                }));
            (
                Some(layer),
                Telemetry {
                    provider: Some(provider),
                    counters: Some(counters),
                },
            )
        }
    };
    tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init()
        .context("a tracing subscriber is already installed")?;
    match &export {
        TraceExport::Off(reason) => tracing::info!(
            "traces are not exported ({reason}); set OTEL_EXPORTER_OTLP_ENDPOINT to a collector's OTLP/HTTP address to export them"
        ),
        TraceExport::On(settings) => tracing::info!(
            endpoint = %settings.endpoint,
            protocol = ?settings.protocol,
            sampler = ?settings.sampler,
            service = %settings.service_name,
            instance,
            "exporting traces over OTLP/HTTP"
        ),
    }
    Ok(telemetry)
}

fn provider(
    settings: &OtelSettings,
    instance: &str,
    counters: Arc<SpanCounters>,
) -> anyhow::Result<SdkTracerProvider> {
    // reqwest 0.13 builds its TLS from the process's rustls provider, even for http:// use.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest_cosmos::blocking::Client::builder()
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
        .build()
        .context("cannot build the OTLP exporter's HTTP client")?;
    let protocol = match settings.protocol {
        OtlpProtocol::HttpProtobuf => opentelemetry_otlp::Protocol::HttpBinary,
        OtlpProtocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
    };
    let headers: HashMap<String, String> = settings
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(settings.endpoint.as_str())
        .with_protocol(protocol)
        .with_headers(headers)
        .with_timeout(settings.timeout)
        .build()
        .context(
            "cannot build the OTLP span exporter (check the OTEL_EXPORTER_OTLP_* variables)",
        )?;
    let queue = ExportQueue::start(
        exporter,
        QueueSettings {
            max_queue_size: settings.max_queue_size,
            max_export_batch_size: settings.max_export_batch_size,
            schedule_delay: settings.schedule_delay,
        },
        counters,
        settings.endpoint.to_string(),
    )
    .context("cannot start the trace export thread")?;
    let mut attributes: Vec<KeyValue> = settings
        .resource
        .iter()
        .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
        .collect();
    attributes.push(KeyValue::new("service.instance.id", instance.to_owned()));
    attributes.push(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    let resource = Resource::builder_empty()
        .with_service_name(settings.service_name.clone())
        .with_attributes(attributes)
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(queue)
        .with_sampler(sampler(settings.sampler))
        .with_resource(resource)
        .build())
}

fn sampler(setting: SamplerSetting) -> Sampler {
    let root = |root: RootSampler| match root {
        RootSampler::AlwaysOn => Sampler::AlwaysOn,
        RootSampler::AlwaysOff => Sampler::AlwaysOff,
        RootSampler::Ratio(r) => Sampler::TraceIdRatioBased(r),
    };
    match setting {
        SamplerSetting::AlwaysOn => Sampler::AlwaysOn,
        SamplerSetting::AlwaysOff => Sampler::AlwaysOff,
        SamplerSetting::Ratio(r) => Sampler::TraceIdRatioBased(r),
        SamplerSetting::ParentBased(r) => Sampler::ParentBased(Box::new(root(r))),
    }
}
