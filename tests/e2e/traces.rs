//! Traces across processes: an OTLP receiver started here gets spans from a coordinator
//! process and a worker process for one node's evaluation, and they form one tree.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;

use crate::harness::*;
use crate::sweeps::{spec, submit_spec, wait_completed};

/// One received span and the `service.name` of the process that sent it.
#[derive(Clone)]
struct Received {
    service: String,
    span: Span,
}

impl Received {
    fn attribute(&self, key: &str) -> Option<String> {
        let kv = self.span.attributes.iter().find(|kv| kv.key == key)?;
        Some(match kv.value.as_ref()?.value.as_ref()? {
            Value::StringValue(s) => s.clone(),
            Value::IntValue(i) => i.to_string(),
            Value::DoubleValue(d) => d.to_string(),
            Value::BoolValue(b) => b.to_string(),
            other => format!("{other:?}"),
        })
    }
}

#[derive(Clone, Default)]
struct Collector {
    spans: Arc<Mutex<Vec<Received>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut spans = self.spans.lock().unwrap();
        for resource_spans in request.into_inner().resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|r| &r.attributes)
                .find(|kv| kv.key == "service.name")
                .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    Value::StringValue(s) => Some(s.clone()),
                    _ => None,
                })
                .unwrap_or_default();
            for scope in resource_spans.scope_spans {
                for span in scope.spans {
                    spans.push(Received {
                        service: service.clone(),
                        span,
                    });
                }
            }
        }
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

async fn start_receiver() -> (SocketAddr, Collector) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let collector = Collector::default();
    let service = TraceServiceServer::new(collector.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    (addr, collector)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_evaluation_is_one_trace_from_sweep_to_container() {
    let (receiver, collector) = start_receiver().await;
    let endpoint = format!("http://{receiver}");
    let otel = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];
    // The OpenTelemetry conventions name the services: the coordinator by its resource
    // attributes, the worker by OTEL_SERVICE_NAME (each process's own name otherwise).
    let coordinator_otel = [
        otel[0],
        otel[1],
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "deployment.environment=test,service.name=coordinator-eu",
        ),
    ];
    let worker_otel = [otel[0], otel[1], ("OTEL_SERVICE_NAME", "worker-eu")];
    let url = fresh_database("traces").await;
    let (_coordinator, addr) = coordinator_with_env(&url, "127.0.0.1:0", &[], &coordinator_otel);
    let _worker = worker(
        addr,
        WorkerOpts {
            name: &unique("traced"),
            slots: 1,
            extra_env: &worker_otel,
            ..Default::default()
        },
    );
    let mut client = control(addr).await;
    let sweep_id = submit_spec(&mut client, &spec("traced", &["taxi-fare"], &[0], 1)).await;
    wait_completed(&mut client, &sweep_id, Duration::from_secs(300)).await;

    let wanted = [
        ("coordinator-eu", "sweep"),
        ("coordinator-eu", "run"),
        ("coordinator-eu", "node"),
        ("coordinator-eu", "operator"),
        ("coordinator-eu", "job"),
        ("coordinator-eu", "queued"),
        ("coordinator-eu", "leased"),
        ("coordinator-eu", "grading"),
        ("worker-eu", "container"),
        ("worker-eu", "create"),
        ("worker-eu", "start"),
        ("worker-eu", "run"),
        ("worker-eu", "collect"),
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let spans = loop {
        let spans = collector.spans.lock().unwrap().clone();
        let missing: Vec<_> = wanted
            .iter()
            .filter(|(service, name)| {
                !spans
                    .iter()
                    .any(|r| r.service == *service && r.span.name == *name)
            })
            .collect();
        if missing.is_empty() {
            break spans;
        }
        if tokio::time::Instant::now() > deadline {
            let got: Vec<_> = spans.iter().map(|r| (&r.service, &r.span.name)).collect();
            panic!("spans never exported: {missing:?}; received: {got:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let one = |service: &str, name: &str| {
        let found: Vec<&Received> = spans
            .iter()
            .filter(|r| r.service == service && r.span.name == name)
            .collect();
        assert_eq!(found.len(), 1, "{service} {name} spans: {}", found.len());
        found[0].clone()
    };
    let sweep = one("coordinator-eu", "sweep");
    let node = one("coordinator-eu", "node");
    let container = one("worker-eu", "container");

    // One trace: the sweep's id is its trace id, and the worker's spans are in it.
    let sweep_uuid = uuid::Uuid::parse_str(&sweep_id).unwrap();
    assert_eq!(sweep.span.trace_id, sweep_uuid.as_bytes().to_vec());
    for r in &spans {
        assert_eq!(
            r.span.trace_id, node.span.trace_id,
            "{} {} is in another trace",
            r.service, r.span.name
        );
    }
    // The container's parent chain reaches the node, then the run, then the sweep.
    let by_id: HashMap<&[u8], &Received> = spans
        .iter()
        .map(|r| (r.span.span_id.as_slice(), r))
        .collect();
    let mut chain = Vec::new();
    let mut at = &container;
    while !at.span.parent_span_id.is_empty() {
        at = by_id
            .get(at.span.parent_span_id.as_slice())
            .unwrap_or_else(|| panic!("{}'s parent was never exported", at.span.name));
        chain.push(at.span.name.clone());
    }
    assert_eq!(chain, ["job", "node", "run", "sweep"]);
    for child in ["create", "start", "run", "collect"] {
        let r = one("worker-eu", child);
        assert_eq!(r.span.parent_span_id, container.span.span_id, "{child}");
    }
    let grading = one("coordinator-eu", "grading");
    let job = one("coordinator-eu", "job");
    assert_eq!(grading.span.parent_span_id, job.span.span_id);
    let operator = one("coordinator-eu", "operator");
    assert_eq!(operator.span.parent_span_id, node.span.span_id);

    // The attributes a reader filters by.
    assert_eq!(node.attribute("task").as_deref(), Some("taxi-fare"));
    assert_eq!(node.attribute("policy").as_deref(), Some("greedy"));
    assert_eq!(node.attribute("seed").as_deref(), Some("0"));
    assert_eq!(node.attribute("operator").as_deref(), Some("draft"));
    assert!(node.attribute("node.id").is_some());
    assert!(node.attribute("node.status").is_some());
    assert!(
        job.attribute("worker")
            .is_some_and(|w| w.starts_with("traced"))
    );
    assert_eq!(container.attribute("exit_code").as_deref(), Some("0"));
    assert_eq!(
        container.attribute("node.id"),
        node.attribute("node.id"),
        "the container names its node"
    );
}
