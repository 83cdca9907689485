//! [`ExportQueue`]: the span processor between finished spans and the OTLP exporter.
//!
//! A finished span is offered to a bounded queue and never waited for: when the queue is full
//! (the collector is slow or down) the span is dropped and counted, so delivery never blocks
//! on tracing. One thread of its own takes spans off the queue and sends them in batches of
//! at most `max_export_batch_size`, at the latest `schedule_delay` after the first span of a
//! batch arrived. A failed export drops its batch (counted) and is logged at most once a
//! minute, with a line when export works again.
//!
//! The SDK's `BatchSpanProcessor` works the same way but keeps its dropped-span count
//! private; an SRE must see drops as a metric (`herald_trace_spans_dropped_total`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

/// How often a failing export is logged at most.
const FAILURE_LOG_INTERVAL: Duration = Duration::from_secs(60);

/// What happened to finished spans; read by the node's `/metrics`.
#[derive(Debug, Default)]
pub struct SpanCounters {
    /// Accepted by the collector.
    pub exported: AtomicU64,
    /// Dropped because the queue was full.
    pub dropped_queue_full: AtomicU64,
    /// Dropped because their export request failed.
    pub dropped_export_failed: AtomicU64,
    /// Export requests that failed.
    pub export_errors: AtomicU64,
}

/// Sizes and timing of the queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    /// Spans waiting at most.
    pub max_queue_size: usize,
    /// Spans per export request at most.
    pub max_export_batch_size: usize,
    /// The longest a span waits for its batch to be sent.
    pub schedule_delay: Duration,
}

enum Work {
    Span(Box<SpanData>),
    /// Export everything queued so far, then answer.
    Flush(SyncSender<OTelSdkResult>),
    /// Export everything queued so far, shut the exporter down, answer and stop.
    Shutdown(SyncSender<OTelSdkResult>),
    /// The provider's resource (`service.name`, ...), for the exporter to send with the spans.
    Resource(Box<opentelemetry_sdk::Resource>),
}

/// The span processor; see the module docs.
#[derive(Debug)]
pub struct ExportQueue {
    work: SyncSender<Work>,
    counters: Arc<SpanCounters>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Work::Span(_) => "Span",
            Work::Flush(_) => "Flush",
            Work::Shutdown(_) => "Shutdown",
            Work::Resource(_) => "Resource",
        })
    }
}

impl ExportQueue {
    /// Starts the export thread. `endpoint` only names the collector in log lines.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn start<E: SpanExporter + 'static>(
        exporter: E,
        settings: QueueSettings,
        counters: Arc<SpanCounters>,
        endpoint: String,
    ) -> std::io::Result<Self> {
        let (work, queue) = sync_channel(settings.max_queue_size);
        let worker = Worker {
            exporter,
            settings,
            counters: counters.clone(),
            endpoint,
            failing_since: None,
            last_failure_log: None,
        };
        let thread = std::thread::Builder::new()
            .name("herald-trace-export".to_owned())
            .spawn(move || worker.run(queue))?;
        Ok(Self {
            work,
            counters,
            thread: Mutex::new(Some(thread)),
        })
    }

    fn control(
        &self,
        make: fn(SyncSender<OTelSdkResult>) -> Work,
        timeout: Duration,
    ) -> OTelSdkResult {
        let (answer, answered) = sync_channel(1);
        self.work
            .send(make(answer))
            .map_err(|_| OTelSdkError::AlreadyShutdown)?;
        answered
            .recv_timeout(timeout)
            .map_err(|_| OTelSdkError::Timeout(timeout))?
    }
}

impl SpanProcessor for ExportQueue {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        match self.work.try_send(Work::Span(Box::new(span))) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.counters
                    .dropped_queue_full
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Disconnected(_)) => {}
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.control(Work::Flush, Duration::from_secs(30))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) else {
            return Err(OTelSdkError::AlreadyShutdown);
        };
        let result = self.control(Work::Shutdown, timeout);
        if result.is_ok() {
            let _ = thread.join();
        }
        result
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        // Sent before any span: the provider sets it while it is built.
        let _ = self.work.send(Work::Resource(Box::new(resource.clone())));
    }
}

struct Worker<E> {
    exporter: E,
    settings: QueueSettings,
    counters: Arc<SpanCounters>,
    endpoint: String,
    /// When the current run of failed exports began.
    failing_since: Option<Instant>,
    last_failure_log: Option<Instant>,
}

impl<E: SpanExporter> Worker<E> {
    fn run(mut self, queue: Receiver<Work>) {
        let mut batch: Vec<SpanData> = Vec::with_capacity(self.settings.max_export_batch_size);
        // When the oldest span of `batch` must be sent.
        let mut due: Option<Instant> = None;
        loop {
            let received = match due {
                Some(at) => queue.recv_timeout(at.saturating_duration_since(Instant::now())),
                None => queue.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match received {
                Ok(Work::Span(span)) => {
                    batch.push(*span);
                    due.get_or_insert_with(|| Instant::now() + self.settings.schedule_delay);
                    if batch.len() >= self.settings.max_export_batch_size {
                        // A failure is counted and logged by `export`.
                        let _ = self.export(&mut batch);
                        due = None;
                    }
                }
                // The queue is in order: every span finished before the request is in `batch`.
                Ok(Work::Flush(answer)) => {
                    let result = self.export(&mut batch);
                    due = None;
                    let _ = answer.send(result);
                }
                Ok(Work::Shutdown(answer)) => {
                    let drained = self.export(&mut batch);
                    let result = drained.and(self.exporter.shutdown());
                    let _ = answer.send(result);
                    return;
                }
                Ok(Work::Resource(resource)) => self.exporter.set_resource(&resource),
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.export(&mut batch);
                    due = None;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.export(&mut batch);
                    let _ = self.exporter.shutdown();
                    return;
                }
            }
        }
    }

    fn export(&mut self, batch: &mut Vec<SpanData>) -> OTelSdkResult {
        if batch.is_empty() {
            return Ok(());
        }
        let spans = std::mem::take(batch);
        let count = spans.len() as u64;
        let result = futures_executor::block_on(self.exporter.export(spans));
        match &result {
            Ok(()) => {
                self.counters.exported.fetch_add(count, Ordering::Relaxed);
                if let Some(since) = self.failing_since.take() {
                    tracing::info!(
                        endpoint = %self.endpoint,
                        failing_for = ?since.elapsed(),
                        "trace export works again"
                    );
                }
            }
            Err(error) => {
                self.counters
                    .dropped_export_failed
                    .fetch_add(count, Ordering::Relaxed);
                self.counters.export_errors.fetch_add(1, Ordering::Relaxed);
                let now = Instant::now();
                self.failing_since.get_or_insert(now);
                let log = self
                    .last_failure_log
                    .is_none_or(|last| now.duration_since(last) >= FAILURE_LOG_INTERVAL);
                if log {
                    self.last_failure_log = Some(now);
                    tracing::warn!(
                        endpoint = %self.endpoint,
                        spans = count,
                        %error,
                        "cannot export traces; their spans are dropped (herald_trace_spans_dropped_total) until the collector answers: check OTEL_EXPORTER_OTLP_ENDPOINT and that the collector is up (logged at most once a minute)"
                    );
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use opentelemetry::InstrumentationScope;
    use opentelemetry::trace::{
        SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
    };
    use opentelemetry_sdk::trace::{SpanEvents, SpanLinks};

    use super::*;

    #[derive(Debug, Clone, Default)]
    struct Recorder {
        spans: Arc<Mutex<Vec<String>>>,
        batches: Arc<Mutex<Vec<usize>>>,
        fail: Arc<AtomicBool>,
        /// Held by the test to make exports wait.
        gate: Arc<Mutex<()>>,
    }

    impl SpanExporter for Recorder {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            let _gate = self.gate.lock().unwrap();
            if self.fail.load(Ordering::SeqCst) {
                return Err(OTelSdkError::InternalFailure("collector down".to_owned()));
            }
            self.batches.lock().unwrap().push(batch.len());
            self.spans
                .lock()
                .unwrap()
                .extend(batch.into_iter().map(|s| s.name.into_owned()));
            Ok(())
        }
    }

    fn span(name: &str, sampled: bool) -> SpanData {
        let flags = if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        };
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(1u128),
                SpanId::from(1u64),
                flags,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: name.to_owned().into(),
            start_time: std::time::SystemTime::now(),
            end_time: std::time::SystemTime::now(),
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("test").build(),
        }
    }

    fn queue(
        recorder: &Recorder,
        size: usize,
        batch: usize,
        delay: Duration,
    ) -> (ExportQueue, Arc<SpanCounters>) {
        let counters = Arc::new(SpanCounters::default());
        let settings = QueueSettings {
            max_queue_size: size,
            max_export_batch_size: batch,
            schedule_delay: delay,
        };
        let queue = ExportQueue::start(
            recorder.clone(),
            settings,
            counters.clone(),
            "test".to_owned(),
        )
        .unwrap();
        (queue, counters)
    }

    #[test]
    fn spans_are_sent_in_batches_and_flushed() {
        let recorder = Recorder::default();
        let (queue, counters) = queue(&recorder, 100, 4, Duration::from_secs(3600));
        for i in 0..10 {
            queue.on_end(span(&format!("s{i}"), true));
        }
        queue.on_end(span("unsampled", false));
        queue.force_flush().unwrap();
        let spans = recorder.spans.lock().unwrap().clone();
        assert_eq!(spans, (0..10).map(|i| format!("s{i}")).collect::<Vec<_>>());
        assert!(recorder.batches.lock().unwrap().iter().all(|n| *n <= 4));
        assert_eq!(counters.exported.load(Ordering::SeqCst), 10);
        queue.shutdown().unwrap();
        assert!(
            queue.shutdown().is_err(),
            "a second shutdown is refused, not hung"
        );
    }

    #[test]
    fn a_batch_leaves_after_the_schedule_delay() {
        let recorder = Recorder::default();
        let (queue, counters) = queue(&recorder, 100, 512, Duration::from_millis(20));
        queue.on_end(span("one", true));
        let deadline = Instant::now() + Duration::from_secs(10);
        while counters.exported.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "the span was never sent");
            std::thread::yield_now();
        }
        queue.shutdown().unwrap();
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let recorder = Recorder::default();
        let gate = recorder.gate.lock().unwrap();
        let (queue, counters) = queue(&recorder, 2, 1, Duration::from_millis(1));
        // The worker takes at most one span and blocks in export on the gate; the queue holds
        // two more; everything after that is dropped, without on_end ever waiting.
        for i in 0..50 {
            queue.on_end(span(&format!("s{i}"), true));
        }
        let dropped = counters.dropped_queue_full.load(Ordering::SeqCst);
        assert!(dropped >= 47, "dropped {dropped}");
        drop(gate);
        queue.force_flush().unwrap();
        let sent = counters.exported.load(Ordering::SeqCst);
        assert_eq!(sent + dropped, 50);
        queue.shutdown().unwrap();
    }

    #[test]
    fn failed_exports_count_their_spans_as_dropped() {
        let recorder = Recorder::default();
        recorder.fail.store(true, Ordering::SeqCst);
        let (queue, counters) = queue(&recorder, 100, 10, Duration::from_secs(3600));
        for i in 0..3 {
            queue.on_end(span(&format!("s{i}"), true));
        }
        assert!(queue.force_flush().is_err());
        assert_eq!(counters.dropped_export_failed.load(Ordering::SeqCst), 3);
        assert_eq!(counters.export_errors.load(Ordering::SeqCst), 1);
        recorder.fail.store(false, Ordering::SeqCst);
        queue.on_end(span("after", true));
        queue.force_flush().unwrap();
        assert_eq!(counters.exported.load(Ordering::SeqCst), 1);
        queue.shutdown().unwrap();
    }
}
