//! Spans written after the fact: a sweep, a run, a node or a job ends long after (and often in
//! another process than) where it began, so its span is built when it ends, from stored times,
//! with the id [`crate::ids`] derives for it.

use std::cell::Cell;
use std::time::SystemTime;

use opentelemetry::trace::{SpanBuilder, SpanContext, SpanId, SpanKind, Status, TraceId, Tracer};
use opentelemetry::{Context, KeyValue, global};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

thread_local! {
    /// Ids the next span built on this thread must take; set and cleared around one build.
    static CHOSEN: Cell<(Option<TraceId>, Option<SpanId>)> = const { Cell::new((None, None)) };
}

/// Random ids, except while [`write`] builds a span whose ids are derived.
#[derive(Debug, Default)]
pub(crate) struct DerivedOrRandomIds {
    random: RandomIdGenerator,
}

impl IdGenerator for DerivedOrRandomIds {
    fn new_trace_id(&self) -> TraceId {
        let (trace, span) = CHOSEN.get();
        CHOSEN.set((None, span));
        trace.unwrap_or_else(|| self.random.new_trace_id())
    }

    fn new_span_id(&self) -> SpanId {
        let (trace, span) = CHOSEN.get();
        CHOSEN.set((trace, None));
        span.unwrap_or_else(|| self.random.new_span_id())
    }
}

/// One ended span to write.
#[derive(Debug, Clone)]
pub struct FinishedSpan {
    pub name: &'static str,
    /// The span's own context: its trace is used when it has no parent.
    pub context: SpanContext,
    pub parent: Option<SpanContext>,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: Vec<KeyValue>,
    /// Set when the entity ended badly (a failed job, a failed run).
    pub error: Option<String>,
}

/// Hands the span to the exporter (a no-op while no exporter is installed).
pub fn write(span: FinishedSpan) {
    let tracer = global::tracer("randori");
    let parent = span
        .parent
        .map_or_else(Context::new, |p| crate::propagate::parent_context(&p));
    let builder = SpanBuilder::from_name(span.name)
        .with_kind(SpanKind::Internal)
        .with_start_time(span.start)
        .with_attributes(span.attributes);
    CHOSEN.set((Some(span.context.trace_id()), Some(span.context.span_id())));
    let mut built = tracer.build_with_context(builder, &parent);
    CHOSEN.set((None, None));
    if let Some(error) = span.error {
        opentelemetry::trace::Span::set_status(&mut built, Status::error(error));
    }
    opentelemetry::trace::Span::end_with_timestamp(&mut built, span.end);
}
