//! A run whose operators are an LLM: a stand-in OpenAI-compatible server answers, every call
//! is journaled, an answer without a program is asked again and, after the last try, becomes
//! a clear node failure, a reasoning model's thoughts and a program in several blocks are read
//! as AIRA-dojo reads them, prompts come from the run's operator set with each operator's
//! memory scheme, every evaluated node is analyzed (a verdict of a bug makes it
//! buggy, the metric read drives the search), and a replay of the run asks the server nothing.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use randori_proto::v1 as pb;

use crate::harness::*;

/// A sound program for taxi-fare: the training mean, cross-validated.
pub const PROGRAM: &str = "import pandas as pd\ntrain = pd.read_csv('/home/data/train.csv')\nsub = pd.read_csv('/home/data/sample_submission.csv')\nsub['fare_amount'] = train['fare_amount'].mean()\nsub.to_csv('/home/submission/submission.csv', index=False)\nprint('randori:metric=%f' % train['fare_amount'].std())\n";

/// The stand-in's count of requests (operators' and the analyze step's) and their bodies.
#[derive(Default)]
struct StandIn {
    hits: AtomicUsize,
    analyses: AtomicUsize,
    bodies: Mutex<Vec<serde_json::Value>>,
}

/// The analyze step's calls ask for structured output.
pub fn is_analysis(body: &serde_json::Value) -> bool {
    body["response_format"]["type"] == "json_schema"
}

/// A chat-completions answer.
pub fn answer(body: &serde_json::Value, content: &str) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "model": body["model"],
        "choices": [{"message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 50},
    }))
}

/// The analysis of the n-th analyzed node: the first is a bug (though it ran cleanly), the
/// others read a metric of 1.5 from the output.
fn analysis(n: usize) -> String {
    if n == 0 {
        r#"{"is_bug": true, "summary": "It leaks the labels into the features.", "metric": 0.1}"#
            .to_owned()
    } else {
        r#"{"is_bug": false, "summary": "Mean fare; CV RMSE 1.5.", "metric": 1.5}"#.to_owned()
    }
}

/// Answers with the program, but requests 1 to 3 get no code (one node's three tries) and
/// request 4 gets the program split in two blocks after a reasoning model's thoughts, which
/// hold a decoy block.
async fn stand_in(
    State(state): State<Arc<StandIn>>,
    Json(body): Json<serde_json::Value>,
) -> Json<serde_json::Value> {
    state.bodies.lock().unwrap().push(body.clone());
    if is_analysis(&body) {
        let n = state.analyses.fetch_add(1, Ordering::SeqCst);
        return answer(&body, &analysis(n));
    }
    let n = state.hits.fetch_add(1, Ordering::SeqCst);
    let (head, tail) = PROGRAM.split_at(PROGRAM.find("sub = ").unwrap());
    let content = match n {
        1..=3 => "I would use a gradient boosting model.".to_owned(),
        4 => format!(
            "<think>A first idea:\n```python\nprint('decoy')\n```\n</think>\nPredict the mean \
             fare.\n```python\n{head}```\nThen write it:\n```python\n{tail}```\n"
        ),
        _ => format!("Predict the mean fare.\n\n```python\n{PROGRAM}```\n"),
    };
    answer(&body, &content)
}

/// Serves an OpenAI-compatible chat endpoint on loopback; returns its address and the count of
/// requests it answered.
async fn serve_stand_in(
    handler: axum::routing::MethodRouter<Arc<StandIn>>,
) -> (std::net::SocketAddr, Arc<StandIn>) {
    let state = Arc::new(StandIn::default());
    let app = axum::Router::new()
        .route("/v1/chat/completions", handler)
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, state)
}

pub fn start(operator_json: String, max_nodes: u32) -> pb::StartRunRequest {
    pb::StartRunRequest {
        task_dir: repo_root()
            .join("tasks/mini/taxi-fare")
            .to_string_lossy()
            .into_owned(),
        policy: "greedy".to_owned(),
        policy_settings_json: r#"{"greedy": {"num_drafts": 2}}"#.to_owned(),
        operator_json,
        seed: 5,
        max_nodes,
        max_wall_ms: 600_000,
        parallelism: 1,
        requirements: Some(pb::JobRequirements {
            gpus: 0,
            cpu_millis: 1000,
            memory_bytes: 1 << 30,
            timeout_ms: 120_000,
            disk_bytes: 1 << 30,
            image: String::new(),
        }),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_llm_run_is_journaled_and_replays_without_asking_again() {
    let (llm_addr, stand_in_state) = serve_stand_in(post(stand_in)).await;
    let hits = || stand_in_state.hits.load(Ordering::SeqCst);

    let cluster = cluster("llm_run", "10s").await;
    let _w = docker_worker(cluster.addr, &unique("llm-run"), 2);
    let mut client = control(cluster.addr).await;
    // A reasoning model with a temperature set: it must not be sent.
    let openai = format!(
        r#"{{"backend": "openai", "model": "o3-mini", "temperature": 0.7,
            "max_output_tokens": 4000, "reasoning_effort": "low", "use_complexity": true,
            "base_url": "http://{llm_addr}/v1"}}"#
    );
    let run_id = client
        .start_run(start(openai, 4))
        .await
        .unwrap()
        .into_inner()
        .run_id;
    let r = wait_run(&mut client, &run_id, Duration::from_secs(600)).await;
    assert_eq!(r.state, "completed", "{}", r.error);
    assert_eq!(r.nodes.len(), 4);
    assert_eq!(
        hits(),
        6,
        "one call per node, two more for the node without code"
    );
    let analyses = || stand_in_state.analyses.load(Ordering::SeqCst);
    assert_eq!(analyses(), 4, "one analysis per evaluated node");
    for body in stand_in_state.bodies.lock().unwrap().iter() {
        let body = body.as_object().unwrap();
        assert!(!body.contains_key("temperature") && !body.contains_key("max_tokens"));
        assert_eq!(
            (&body["max_completion_tokens"], &body["reasoning_effort"]),
            (&4000.into(), &"low".into())
        );
    }
    let prompts = operator_prompts(&stand_in_state);
    for (system, user) in &prompts {
        // The node's real resources and the packages the worker listed in its image, its time
        // limit, the data, where the run stands (10 minutes of working time, less what the run
        // has used), no test score.
        assert!(
            system.contains("1 CPU, 1 GiB of memory and no GPU")
                && [
                    "numpy 1.",
                    "pandas ",
                    "scikit-learn 1.",
                    "scipy 1.",
                    "Pillow "
                ]
                .iter()
                .all(|p| system.contains(p)),
            "{system}"
        );
        let stands = ["about 10m of its working", "about 9m of its working"];
        assert!(
            user.contains("# Task")
                && user.contains("within 2m")
                && user.contains("train.csv")
                && user.contains("of at most 4 in this search;")
                && stands.iter().any(|s| user.contains(s))
                && !user.contains("test_score"),
            "{user}"
        );
    }
    // The aira set: drafts get the complexity cue (the first drafts are simple ones), Debug the
    // ancestral memory: the failed attempt's design and its analysis.
    let drafts: Vec<_> = prompts
        .iter()
        .filter(|(_, u)| u.contains("Propose one new solution"))
        .collect();
    assert!(!drafts.is_empty());
    assert!(
        drafts
            .iter()
            .all(|(_, u)| u.contains("propose a SIMPLE idea"))
    );
    let debugs: Vec<_> = prompts
        .iter()
        .filter(|(_, u)| u.contains("# The program that failed"))
        .collect();
    assert!(!debugs.is_empty());
    for (_, user) in debugs {
        let memory = user
            .split("# Earlier attempts at this failure")
            .nth(1)
            .and_then(|m| m.split("# The program that failed").next())
            .unwrap();
        assert!(
            memory.contains("(failed)\nDesign: ") && memory.contains("\nAnalysis: "),
            "{memory}"
        );
    }
    let sets: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT prompts FROM llm_calls WHERE run_id = $1::uuid ORDER BY 1")
            .bind(&run_id)
            .fetch_all(&cluster.db)
            .await
            .unwrap();
    assert_eq!(sets, [("aira/v1".into(),), ("analyze/v1".into(),)]);
    // The first node ran cleanly, but its analysis found a bug.
    let leaky = &r.nodes[0];
    assert_eq!(
        (leaky.status.as_str(), leaky.analysis_is_bug),
        ("buggy", true)
    );
    assert!(leaky.analysis_summary.contains("leaks the labels"));
    assert_eq!(leaky.analysis_by, "o3-mini");
    // The task has hidden validation: the system's score stays the signal, not the metric the
    // analysis read.
    let ok: Vec<_> = r.nodes.iter().filter(|n| n.status == "ok").collect();
    assert!(!ok.is_empty());
    assert!(
        ok.iter()
            .all(|n| n.analysis_metric == Some(1.5) && n.val_score.is_some_and(|v| v > 10.0)),
        "{ok:?}"
    );
    // Three answers without code: a node that fails with the reason, and Greedy debugs it.
    let unusable = &r.nodes[1];
    assert_eq!(unusable.status, "buggy");
    assert!(
        unusable
            .code
            .contains("after 3 tries the model's answers held no usable program"),
        "{}",
        unusable.code
    );
    assert!(
        r.nodes.iter().any(|n| n.operator == "debug"),
        "{:?}",
        r.nodes.iter().map(|n| &n.operator).collect::<Vec<_>>()
    );
    // The thoughts' decoy is gone and the two blocks are one program, which runs.
    let joined = &r.nodes[2];
    assert!(!joined.code.contains("decoy"), "{}", joined.code);
    assert!(joined.code.contains("import pandas") && joined.code.contains("sub.to_csv"));
    assert_eq!(joined.status, "ok", "{}", joined.code);
    let (calls, tokens, cost): (i64, i64, f64) = sqlx::query_as(
        "SELECT count(*), sum(tokens_in + tokens_out)::bigint, sum(cost_usd) FROM llm_calls WHERE run_id = $1::uuid",
    )
    .bind(&run_id)
    .fetch_one(&cluster.db)
    .await
    .unwrap();
    assert_eq!((calls, tokens), (10, 1500));
    assert!(cost > 0.0, "priced from the table");

    // A replay of that run's journal grows the same tree without a single new call.
    let replay =
        format!(r#"{{"backend": "replay", "model": "gpt-4o-mini", "from_run": "{run_id}"}}"#);
    let again = client
        .start_run(start(replay, 4))
        .await
        .unwrap()
        .into_inner()
        .run_id;
    let b = wait_run(&mut client, &again, Duration::from_secs(600)).await;
    assert_eq!(b.state, "completed", "{}", b.error);
    assert_eq!((hits(), analyses()), (6, 4), "the replay asked nothing");
    let shape = |r: &pb::GetRunResponse| {
        r.nodes
            .iter()
            .map(|n| {
                let analysis = (n.analysis_is_bug, n.analysis_summary.clone());
                (
                    n.operator.clone(),
                    n.code.clone(),
                    n.status.clone(),
                    analysis,
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&r), shape(&b));
}

/// The system and user messages of every operator call the stand-in answered.
fn operator_prompts(state: &StandIn) -> Vec<(String, String)> {
    let text = |b: &serde_json::Value, i: usize| {
        b["messages"][i]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    state
        .bodies
        .lock()
        .unwrap()
        .iter()
        .filter(|b| !is_analysis(b))
        .map(|b| (text(b, 0), text(b, 1)))
        .collect()
}

/// Answers every request with the program.
async fn always(
    State(state): State<Arc<StandIn>>,
    Json(body): Json<serde_json::Value>,
) -> Json<serde_json::Value> {
    state.bodies.lock().unwrap().push(body.clone());
    if is_analysis(&body) {
        state.analyses.fetch_add(1, Ordering::SeqCst);
        return answer(&body, &analysis(1));
    }
    state.hits.fetch_add(1, Ordering::SeqCst);
    answer(&body, &format!("Mean fare.\n```python\n{PROGRAM}```"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_llm_run_makes_no_extra_calls() {
    let (llm_addr, stand_in_state) = serve_stand_in(post(always)).await;

    let url = fresh_database("llm_resume").await;
    let listen = free_listen_addr();
    let args = ["--lease-ttl", "5s", "--run-lease-ttl", "2s"];
    let (mut first, addr) = coordinator_with(&url, &listen, &args);
    let _w = docker_worker(addr, &unique("llm-resume"), 2);
    let mut client = control(addr).await;
    // AIDE's operator set, with sibling memory for Improve.
    let openai = format!(
        r#"{{"backend": "openai", "model": "gpt-4o-mini", "base_url": "http://{llm_addr}/v1",
            "set": "aide", "memory": {{"improve": "sibling"}}}}"#
    );
    let run_id = client
        .start_run(start(openai, 5))
        .await
        .unwrap()
        .into_inner()
        .run_id;
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    eventually("the run has grown", Duration::from_secs(300), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM nodes WHERE run_id = $1::uuid")
            .bind(&run_id)
            .fetch_one(&db)
            .await
            .unwrap();
        n >= 2
    })
    .await;
    first.kill9();
    let (_second, addr) = coordinator_with(&url, &listen, &args);
    let mut client = control(addr).await;
    let r = wait_run(&mut client, &run_id, Duration::from_secs(600)).await;
    assert_eq!(
        (r.state.as_str(), r.nodes.len()),
        ("completed", 5),
        "{}",
        r.error
    );
    assert_eq!(
        (
            stand_in_state.hits.load(Ordering::SeqCst),
            stand_in_state.analyses.load(Ordering::SeqCst)
        ),
        (5, 5),
        "one call and one analysis per node, none repeated after the restart"
    );
    let prompts = operator_prompts(&stand_in_state);
    assert!(prompts.iter().all(|(_, u)| u.contains("# Instructions")));
    // Drafts remember the ok nodes with their analysis (simple memory); an Improve its
    // parent's other children, plans only (sibling memory).
    let improves: Vec<_> = prompts
        .iter()
        .filter(|(_, u)| u.contains("# Previous solution"))
        .collect();
    assert!(
        improves.iter().all(|(_, u)| !u.contains("Analysis:"))
            && improves
                .iter()
                .any(|(_, u)| u.contains("\nDesign: Mean fare.")),
        "{improves:?}"
    );
    assert!(
        prompts
            .iter()
            .any(|(_, u)| u.contains("Design a first solution")
                && u.contains("Analysis: Mean fare; CV RMSE 1.5.")),
        "{prompts:?}"
    );
    let sets: Vec<(String,)> =
        sqlx::query_as("SELECT DISTINCT prompts FROM llm_calls WHERE run_id = $1::uuid ORDER BY 1")
            .bind(&run_id)
            .fetch_all(&db)
            .await
            .unwrap();
    assert_eq!(sets, [("aide/v1".into(),), ("analyze/v1".into(),)]);
}

/// Answers every operator call with the program and a comment naming the request, so that
/// every answer differs.
async fn numbered(
    State(state): State<Arc<StandIn>>,
    Json(body): Json<serde_json::Value>,
) -> Json<serde_json::Value> {
    if is_analysis(&body) {
        state.analyses.fetch_add(1, Ordering::SeqCst);
        return answer(&body, &analysis(1));
    }
    let n = state.hits.fetch_add(1, Ordering::SeqCst);
    answer(
        &body,
        &format!("Mean fare.\n```python\n# answer {n}\n{PROGRAM}```"),
    )
}

/// The code of every node of each run of a sweep, by policy, in step order.
async fn codes_by_policy(
    db: &sqlx::PgPool,
    sweep_id: &str,
) -> std::collections::BTreeMap<String, Vec<String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT r.policy, n.code FROM nodes n JOIN runs r ON r.id = n.run_id
         WHERE r.sweep_id = $1::uuid ORDER BY r.policy, n.step",
    )
    .bind(sweep_id)
    .fetch_all(db)
    .await
    .unwrap();
    let mut by = std::collections::BTreeMap::<String, Vec<String>>::new();
    for (policy, code) in rows {
        by.entry(policy).or_default().push(code);
    }
    by
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_sweep_feeds_each_run_its_own_answers_then_goes_live() {
    use crate::sweeps::{spec, submit_spec, wait_completed};
    let (llm_addr, llm) = serve_stand_in(post(numbered)).await;
    let calls = || {
        (
            llm.hits.load(Ordering::SeqCst),
            llm.analyses.load(Ordering::SeqCst),
        )
    };
    let cluster = cluster("llm_replay_sweep", "10s").await;
    let _w = docker_worker(cluster.addr, &unique("llm-replay-sweep"), 2);
    let mut client = control(cluster.addr).await;
    let base_url = format!("http://{llm_addr}/v1");
    let mut original = spec("journaled", &["taxi-fare"], &[0], 3);
    original.policies = vec!["greedy".into(), "mcts".into()];
    original.policy = serde_json::json!({"greedy": {"num_drafts": 2}, "mcts": {"num_children": 2}});
    original.operator =
        serde_json::json!({"backend": "openai", "model": "gpt-4o-mini", "base_url": base_url});
    let journaled = submit_spec(&mut client, &original).await;
    wait_completed(&mut client, &journaled, Duration::from_secs(600)).await;
    assert_eq!(calls(), (6, 6));
    let answers = codes_by_policy(&cluster.db, &journaled).await;
    assert_ne!(answers["greedy"], answers["mcts"]);

    // Replayed: each run its own policy's answers, nothing asked, nothing paid.
    let mut replay = original.clone();
    replay.name = "replayed".into();
    replay.operator = serde_json::json!({"backend": "replay", "from_sweep": journaled});
    let replayed = submit_spec(&mut client, &replay).await;
    let status = wait_completed(&mut client, &replayed, Duration::from_secs(600)).await;
    assert_eq!(status.runs.unwrap().completed, 2);
    assert_eq!(calls(), (6, 6));
    assert_eq!(codes_by_policy(&cluster.db, &replayed).await, answers);
    let (cost, all_replayed): (f64, bool) = sqlx::query_as(
        "SELECT sum(c.cost_usd), bool_and(c.replayed) FROM llm_calls c JOIN runs r ON r.id = c.run_id
         WHERE r.sweep_id = $1::uuid",
    )
    .bind(&replayed)
    .fetch_one(&cluster.db)
    .await
    .unwrap();
    assert_eq!((cost, all_replayed), (0.0, true));

    // Replay, then live: one node more per run, asked of the endpoint.
    let mut longer = original.clone();
    longer.name = "replayed then live".into();
    longer.budget.max_nodes = 4;
    longer.operator = serde_json::json!({"backend": "replay_then_live", "from_sweep": journaled,
        "model": "gpt-4o-mini", "base_url": base_url});
    let extended = submit_spec(&mut client, &longer).await;
    let status = wait_completed(&mut client, &extended, Duration::from_secs(600)).await;
    assert_eq!(status.runs.unwrap().completed, 2);
    assert_eq!(calls(), (8, 8));
    let codes = codes_by_policy(&cluster.db, &extended).await;
    for (policy, journaled) in &answers {
        assert_eq!(&codes[policy][..3], &journaled[..], "{policy}");
    }
}
