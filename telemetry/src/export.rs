//! The process's subscriber: human logs on stderr, and spans over OTLP/gRPC when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::record::DerivedOrRandomIds;

static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether spans leave this process; callers skip gathering what only a span would use.
pub fn exporting() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("OTLP exporter for {endpoint}: {source}")]
    Exporter {
        endpoint: String,
        source: opentelemetry_otlp::ExporterBuildError,
    },
}

/// Holds the exporter; [`Telemetry::shutdown`] flushes what is still buffered.
#[must_use = "dropping the handle without shutdown loses buffered spans"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Some(Err(e)) = self.provider.map(|p| p.shutdown()) {
            tracing::warn!(error = %e, "flushing spans at exit");
        }
    }
}

/// The process's resource: what `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME` say (the
/// SDK's detectors read them), with `service` as the service name only where neither names
/// one.
fn resource(service: &str) -> Resource {
    let builder = Resource::builder();
    let named = names_service(
        std::env::var("OTEL_SERVICE_NAME").ok().as_deref(),
        std::env::var("OTEL_RESOURCE_ATTRIBUTES").ok().as_deref(),
    );
    if named {
        builder.build()
    } else {
        builder.with_service_name(service.to_owned()).build()
    }
}

/// Whether the environment names the service: a non-empty `OTEL_SERVICE_NAME`, or a
/// `service.name` among `OTEL_RESOURCE_ATTRIBUTES` (`key=value` pairs, comma separated).
fn names_service(service_name: Option<&str>, resource_attributes: Option<&str>) -> bool {
    service_name.is_some_and(|s| !s.trim().is_empty())
        || resource_attributes.is_some_and(|attrs| {
            attrs
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .any(|(key, value)| key.trim() == "service.name" && !value.trim().is_empty())
        })
}

/// Installs the global subscriber. `RANDORI_LOG` filters (default `default_level`); spans of
/// randori's own crates are exported, not those of the libraries under them (the exporter's
/// own gRPC client among them). Call inside a Tokio runtime: the gRPC exporter needs one.
pub fn init(service: &str, default_level: &str) -> Result<Telemetry, TelemetryError> {
    let filter =
        EnvFilter::try_from_env("RANDORI_LOG").unwrap_or_else(|_| EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(filter);
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").unwrap_or_default();
    if endpoint.trim().is_empty() {
        tracing_subscriber::registry().with(logs).init();
        return Ok(Telemetry { provider: None });
    }
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
        .map_err(|source| TelemetryError::Exporter {
            endpoint: endpoint.clone(),
            source,
        })?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_id_generator(DerivedOrRandomIds::default())
        .with_resource(resource(service))
        .build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    // Target directives match by prefix: "randori" takes in every randori_* crate.
    let ours =
        tracing_subscriber::filter::Targets::new().with_target("randori", tracing::Level::INFO);
    let spans = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("randori"))
        .with_filter(ours);
    tracing_subscriber::registry().with(logs).with(spans).init();
    EXPORTING.store(true, Ordering::Relaxed);
    Ok(Telemetry {
        provider: Some(provider),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_s_service_name_wins_over_the_default() {
        assert!(!names_service(None, None));
        assert!(!names_service(
            Some(" "),
            Some("deployment.environment=prod")
        ));
        assert!(names_service(Some("randori-prod"), None));
        assert!(names_service(
            None,
            Some("deployment.environment=prod, service.name=coord-eu")
        ));
        assert!(!names_service(None, Some("service.name=")));
    }
}
