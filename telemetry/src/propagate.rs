//! W3C trace context in both directions: the `traceparent` a job row stores and the map a
//! lease carries to the worker.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanContext, TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;

/// The W3C headers (`traceparent`, `tracestate`) naming `span` as the parent.
pub fn inject(span: &SpanContext) -> HashMap<String, String> {
    let mut headers = HashMap::new();
    let cx = Context::new().with_remote_span_context(span.clone());
    TraceContextPropagator::new().inject_context(&cx, &mut headers);
    headers
}

/// The parent named by W3C headers; None when they are missing or malformed.
pub fn extract(headers: &HashMap<String, String>) -> Option<SpanContext> {
    let cx = TraceContextPropagator::new().extract(headers);
    let span = cx.span().span_context().clone();
    span.is_valid().then_some(span)
}

/// The `traceparent` header alone, as a job row stores it.
pub fn traceparent(span: &SpanContext) -> String {
    inject(span).remove("traceparent").unwrap_or_default()
}

/// The parent a stored `traceparent` names.
pub fn parse_traceparent(value: &str) -> Option<SpanContext> {
    extract(&HashMap::from([(
        "traceparent".to_owned(),
        value.to_owned(),
    )]))
}

/// A context holding `span` as the remote parent, for `tracing` spans to join.
pub fn parent_context(span: &SpanContext) -> Context {
    Context::new().with_remote_span_context(span.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{Entity, context_of, trace_id};
    use uuid::Uuid;

    #[test]
    fn a_context_survives_the_round_trip_and_garbage_is_refused() {
        let id = Uuid::now_v7();
        let span = context_of(trace_id(id), Entity::Node, id);
        let back = extract(&inject(&span)).expect("valid context");
        assert_eq!(back.trace_id(), span.trace_id());
        assert_eq!(back.span_id(), span.span_id());
        assert!(back.is_sampled());
        let stored = traceparent(&span);
        assert!(stored.starts_with("00-"), "{stored}");
        assert_eq!(
            parse_traceparent(&stored).map(|s| s.span_id()),
            Some(span.span_id())
        );
        assert!(parse_traceparent("00-zz-<script>-01").is_none());
        assert!(extract(&HashMap::new()).is_none());
    }
}
