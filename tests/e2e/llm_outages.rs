//! LLM endpoints that fail as real ones do, and what a sweep does about it: an outage (429s,
//! then 500s, then answers slower than the timeout) is waited out, with the runs shown as
//! waiting, and no run fails; a refusal and an empty answer make buggy nodes; a refused key
//! pauses the sweep with the key to fix and spends no node; a failed run is retried without
//! asking any answered call again.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use randori_proto::v1 as pb;

use crate::harness::*;
use crate::llm_runs::{PROGRAM, answer, is_analysis};
use crate::sweeps::{spec, submit_spec, wait_completed, wait_status};

/// How the stand-in answers a request.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Program,
    RateLimited,
    Broken,
    /// Answers after 3 s, past the runs' 1 s timeout.
    Stall,
    Unauthorized,
    /// `content: null` with a refusal.
    Refusal,
    Empty,
}

#[derive(Default)]
struct StandIn {
    /// The mode of every request, unless `script` has one for an operator call.
    mode: Mutex<Option<Mode>>,
    /// Modes for the next operator calls, in order.
    script: Mutex<VecDeque<Mode>>,
    requests: AtomicUsize,
    operator_requests: AtomicUsize,
    analyses: AtomicUsize,
    /// Requests answered with anything but a completion.
    failed: AtomicUsize,
}

impl StandIn {
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = Some(mode);
    }
}

async fn stand_in(State(s): State<Arc<StandIn>>, Json(body): Json<serde_json::Value>) -> Response {
    s.requests.fetch_add(1, Ordering::SeqCst);
    let analysis = is_analysis(&body);
    let scripted = match analysis {
        true => None,
        false => s.script.lock().unwrap().pop_front(),
    };
    let mode = scripted.unwrap_or_else(|| s.mode.lock().unwrap().unwrap_or(Mode::Program));
    let fail = |status: StatusCode, message: &str| {
        s.failed.fetch_add(1, Ordering::SeqCst);
        (
            status,
            Json(serde_json::json!({"error": {"message": message}})),
        )
            .into_response()
    };
    match mode {
        Mode::RateLimited => return fail(StatusCode::TOO_MANY_REQUESTS, "Rate limit reached"),
        Mode::Broken => return fail(StatusCode::INTERNAL_SERVER_ERROR, "engine restarting"),
        Mode::Unauthorized => return fail(StatusCode::UNAUTHORIZED, "Incorrect API key provided"),
        Mode::Stall => {
            s.failed.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        _ => {}
    }
    let content = match (analysis, mode) {
        (true, _) => {
            s.analyses.fetch_add(1, Ordering::SeqCst);
            r#"{"is_bug": false, "summary": "Mean fare.", "metric": 1.5}"#.to_owned()
        }
        (false, Mode::Refusal) => {
            s.operator_requests.fetch_add(1, Ordering::SeqCst);
            return Json(serde_json::json!({
                "model": body["model"],
                "choices": [{"message": {"role": "assistant", "content": null,
                             "refusal": "I can't help with that."}, "finish_reason": "stop"}],
            }))
            .into_response();
        }
        (false, Mode::Empty) => {
            s.operator_requests.fetch_add(1, Ordering::SeqCst);
            String::new()
        }
        (false, _) => {
            s.operator_requests.fetch_add(1, Ordering::SeqCst);
            format!("Mean fare.\n```python\n{PROGRAM}```")
        }
    };
    answer(&body, &content).into_response()
}

async fn serve() -> (String, Arc<StandIn>) {
    let state = Arc::new(StandIn::default());
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(stand_in))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), state)
}

/// The `[operator]` table of an openai run against the stand-in, with `more` keys.
fn openai(base_url: &str, more: serde_json::Value) -> serde_json::Value {
    let mut o = serde_json::json!({
        "backend": "openai", "model": "gpt-4o-mini", "base_url": base_url,
        "timeout": "1s", "backoff_cap": "2s",
    });
    o.as_object_mut()
        .unwrap()
        .extend(more.as_object().unwrap().clone());
    o
}

async fn node_count(db: &sqlx::PgPool, sweep_id: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM nodes n JOIN runs r ON r.id = n.run_id WHERE r.sweep_id = $1::uuid",
    )
    .bind(sweep_id)
    .fetch_one(db)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_is_waited_out_and_no_run_fails() {
    let (url, llm) = serve().await;
    let cluster = cluster("llm_outage", "10s").await;
    let _w = docker_worker(cluster.addr, &unique("llm-outage"), 2);
    let mut client = control(cluster.addr).await;
    let mut sweep = spec("outage", &["taxi-fare"], &[0, 1, 2], 3);
    sweep.policy = serde_json::json!({"greedy": {"num_drafts": 2}});
    sweep.operator = openai(&url, serde_json::json!({}));

    // 429s, then 500s, then answers past the timeout, 5 s each; then the endpoint recovers.
    llm.set(Mode::RateLimited);
    let id = submit_spec(&mut client, &sweep).await;
    let outage = {
        let llm = llm.clone();
        tokio::spawn(async move {
            for next in [Mode::Broken, Mode::Stall, Mode::Program] {
                tokio::time::sleep(Duration::from_secs(5)).await;
                llm.set(next);
            }
        })
    };
    let waiting = wait_status(
        &mut client,
        &id,
        "runs waiting for the LLM",
        Duration::from_secs(15),
        |s| s.runs.unwrap_or_default().waiting_for_llm > 0,
    )
    .await;
    assert!(
        waiting.waiting_for_llm.contains(&url),
        "{}",
        waiting.waiting_for_llm
    );
    assert_eq!(node_count(&cluster.db, &id).await, 0);
    outage.await.unwrap();
    let requests_in_outage = llm.requests.load(Ordering::SeqCst);
    let started = Instant::now();
    eventually(
        "a node after the recovery",
        Duration::from_secs(30),
        || async { node_count(&cluster.db, &id).await > 0 },
    )
    .await;
    let first_node_after = started.elapsed();

    let done = wait_completed(&mut client, &id, Duration::from_secs(600)).await;
    let runs = done.runs.unwrap();
    assert_eq!((runs.completed, runs.failed), (3, 0), "{done:?}");
    assert_eq!(done.nodes.unwrap().total, 9);
    assert_eq!(runs.waiting_for_llm, 0);
    // Past the outage, one call and one analysis per node.
    assert_eq!(
        (
            llm.operator_requests.load(Ordering::SeqCst),
            llm.analyses.load(Ordering::SeqCst)
        ),
        (9, 9)
    );
    eprintln!(
        "outage of 15 s over 3 runs: {requests_in_outage} requests reached the endpoint \
         ({} failed), {:.1} per run; the first node {:.2} s after recovery",
        llm.failed.load(Ordering::SeqCst),
        requests_in_outage as f64 / 3.0,
        first_node_after.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_and_an_empty_answer_make_buggy_nodes() {
    let (url, llm) = serve().await;
    llm.script
        .lock()
        .unwrap()
        .extend([Mode::Refusal, Mode::Empty]);
    let cluster = cluster("llm_refusal", "10s").await;
    let _w = docker_worker(cluster.addr, &unique("llm-refusal"), 2);
    let mut client = control(cluster.addr).await;
    let operator = openai(&url, serde_json::json!({"max_answer_tries": 1}));
    let run_id = client
        .start_run(crate::llm_runs::start(operator.to_string(), 3))
        .await
        .unwrap()
        .into_inner()
        .run_id;
    let r = wait_run(&mut client, &run_id, Duration::from_secs(600)).await;
    assert_eq!(r.state, "completed", "{}", r.error);
    let statuses: Vec<&str> = r.nodes.iter().map(|n| n.status.as_str()).collect();
    assert_eq!(statuses, ["buggy", "buggy", "ok"], "{:?}", r.nodes);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_pauses_the_sweep_without_spending_a_node() {
    let (url, llm) = serve().await;
    llm.set(Mode::Unauthorized);
    let cluster = cluster("llm_401", "10s").await;
    let _w = docker_worker(cluster.addr, &unique("llm-401"), 2);
    let mut client = control(cluster.addr).await;
    let mut sweep = spec("refused", &["taxi-fare"], &[0, 1], 2);
    // PATH is set wherever tests run: the stand-in refuses whatever key it holds.
    sweep.operator = openai(&url, serde_json::json!({"api_key_env": "PATH"}));
    let id = submit_spec(&mut client, &sweep).await;
    let paused = wait_status(
        &mut client,
        &id,
        "the sweep paused",
        Duration::from_secs(60),
        |s| s.state == "paused",
    )
    .await;
    assert!(
        paused
            .blocked
            .contains("HTTP 401: Incorrect API key provided")
            && paused
                .blocked
                .contains("Fix `api_key_env`: the key in $PATH"),
        "{}",
        paused.blocked
    );
    assert_eq!(node_count(&cluster.db, &id).await, 0);
    assert!(
        llm.requests.load(Ordering::SeqCst) <= 2,
        "one call per run at most"
    );
    assert_eq!(paused.runs.unwrap().failed, 0);

    // Fixed: resumed, it completes.
    llm.set(Mode::Program);
    client
        .resume_sweep(pb::SweepRequest {
            sweep_id: id.clone(),
        })
        .await
        .unwrap();
    let done = wait_completed(&mut client, &id, Duration::from_secs(600)).await;
    assert!(done.blocked.is_empty());
    assert_eq!(done.runs.unwrap().completed, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_run_finishes_without_asking_an_answered_call_again() {
    let (url, llm) = serve().await;
    // The third operator call fails once; with max_retries = 0 that fails the run.
    llm.script
        .lock()
        .unwrap()
        .extend([Mode::Program, Mode::Program, Mode::Broken]);
    let cluster = cluster("llm_retry", "10s").await;
    let _w = docker_worker(cluster.addr, &unique("llm-retry"), 2);
    let mut client = control(cluster.addr).await;
    let mut sweep = spec("retried", &["taxi-fare"], &[0], 4);
    sweep.policy = serde_json::json!({"greedy": {"num_drafts": 2}});
    sweep.operator = openai(&url, serde_json::json!({"max_retries": 0}));
    let id = submit_spec(&mut client, &sweep).await;
    let ended = wait_status(
        &mut client,
        &id,
        "the sweep ended",
        Duration::from_secs(600),
        |s| s.state == "completed",
    )
    .await;
    assert_eq!(ended.runs.unwrap().failed, 1);
    let run = &crate::sweeps::status_with_runs(&mut client, &id)
        .await
        .run_list[0];
    assert!(
        run.error.starts_with("LLM endpoint: call ") && run.error.contains("HTTP 500"),
        "{}",
        run.error
    );
    let answered = llm.operator_requests.load(Ordering::SeqCst);
    assert_eq!(answered, 2);

    let retried = client
        .retry_sweep(pb::RetrySweepRequest {
            sweep_id: id.clone(),
            run_ids: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(retried.reopened, std::slice::from_ref(&run.id));
    let done = wait_completed(&mut client, &id, Duration::from_secs(600)).await;
    assert_eq!(
        (done.runs.unwrap().completed, done.nodes.unwrap().total),
        (1, 4)
    );
    // Four nodes: two answered before the failure, two after; none asked twice.
    assert_eq!(
        (
            llm.operator_requests.load(Ordering::SeqCst),
            llm.analyses.load(Ordering::SeqCst)
        ),
        (4, 4)
    );
    // A run that is not failed cannot be retried.
    let refused = client
        .retry_sweep(pb::RetrySweepRequest {
            sweep_id: id.clone(),
            run_ids: vec![run.id.clone()],
        })
        .await
        .unwrap_err();
    assert!(refused.message().contains("not failed runs"), "{refused:?}");
}
