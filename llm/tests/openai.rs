//! `OpenAiClient` against a stand-in OpenAI-compatible server on 127.0.0.1, scripted per request.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use randori_llm::{
    ChatAnswer, ChatRequest, Journal, LlmError, MemoryJournal, Message, ModelSettings,
    OpenAiClient, OpenAiConfig, Role, Transient, ask_journaled,
};
use serde_json::{Value, json};

/// What the server does with one request.
#[derive(Clone)]
enum Step {
    /// 200 with a completion.
    Answer(&'static str),
    /// This status and body, with a `Retry-After` header if given.
    Fail(u16, Value, Option<&'static str>),
    /// 200 with this raw body.
    Raw(&'static str),
    /// Sleep, then do the next step in line.
    Sleep(Duration, Box<Step>),
}

#[derive(Default)]
struct Server {
    /// Steps in order; the last one repeats.
    script: Mutex<VecDeque<Step>>,
    hits: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    authorization: Mutex<Vec<Option<String>>>,
    bodies: Mutex<Vec<Value>>,
}

impl Server {
    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn start(script: Vec<Step>) -> (Arc<Server>, OpenAiConfig) {
    let server = Arc::new(Server {
        script: Mutex::new(script.into()),
        ..Server::default()
    });
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut config = OpenAiConfig::new(format!("http://{addr}/v1"));
    config.backoff_base = Duration::from_millis(1);
    config.backoff_cap = Duration::from_secs(5);
    config.timeout = Duration::from_secs(10);
    (server, config)
}

async fn completions(
    State(server): State<Arc<Server>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    server.hits.fetch_add(1, Ordering::SeqCst);
    let now = server.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    server.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    server.authorization.lock().unwrap().push(auth);
    server
        .bodies
        .lock()
        .unwrap()
        .push(serde_json::from_str(&body).unwrap());

    let step = {
        let mut script = server.script.lock().unwrap();
        if script.len() > 1 {
            script.pop_front().unwrap()
        } else {
            script[0].clone()
        }
    };
    let response = respond(step).await;
    server.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

async fn respond(mut step: Step) -> Response {
    while let Step::Sleep(pause, next) = step {
        tokio::time::sleep(pause).await;
        step = *next;
    }
    match step {
        Step::Answer(content) => axum::Json(json!({
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "model": "gpt-4o-2024-08-06",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500},
        }))
        .into_response(),
        Step::Fail(status, body, retry_after) => {
            let mut response =
                (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
            if let Some(after) = retry_after {
                response.headers_mut().insert("retry-after", after.parse().unwrap());
            }
            response
        }
        Step::Raw(body) => (StatusCode::OK, body).into_response(),
        Step::Sleep(..) => unreachable!(),
    }
}

fn request() -> ChatRequest {
    ChatRequest {
        model: "gpt-4o".to_owned(),
        messages: vec![
            Message {
                role: Role::System,
                content: "You write Python.".to_owned(),
            },
            Message {
                role: Role::User,
                content: "Draft a solution.".to_owned(),
            },
        ],
        temperature: Some(0.7),
        max_tokens: None,
        max_completion_tokens: None,
        reasoning_effort: None,
        seed: Some(3),
        response_format: None,
        extra: Default::default(),
        fingerprint: None,
    }
}

fn openai_error(message: &str) -> Value {
    json!({"error": {"message": message, "type": "invalid_request_error"}})
}

#[tokio::test]
async fn normal_answer_with_tokens_and_cost() {
    let (server, config) = start(vec![Step::Answer("plan\n```python\nprint(1)\n```")]).await;
    let client = OpenAiClient::new(config).unwrap();
    let answer = client.chat(&request()).await.unwrap();

    assert_eq!(answer.content, "plan\n```python\nprint(1)\n```");
    assert_eq!(answer.model, "gpt-4o-2024-08-06");
    assert_eq!((answer.tokens_in, answer.tokens_out), (1200, 300));
    // Priced by the requested name: 1200 × $2.50/M + 300 × $10/M.
    assert!(
        (answer.cost_usd - 0.006).abs() < 1e-12,
        "{}",
        answer.cost_usd
    );
    assert!(answer.latency_ms < 10_000);
    assert_eq!(server.hits(), 1);

    let sent = &server.bodies.lock().unwrap()[0];
    assert_eq!(
        *sent,
        json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You write Python."},
                {"role": "user", "content": "Draft a solution."},
            ],
            "temperature": 0.7,
            "seed": 3,
        })
    );
    assert_eq!(server.authorization.lock().unwrap()[0], None);
}

/// What goes over the wire for a reasoning model: `max_completion_tokens`, the effort, the
/// extra fields, and neither `temperature` nor `max_tokens` (o-series models answer HTTP 400
/// to either), though the settings carry a temperature.
#[tokio::test]
async fn a_reasoning_models_request_has_no_temperature_and_no_max_tokens() {
    let (server, config) = start(vec![Step::Answer("ok")]).await;
    let client = OpenAiClient::new(config).unwrap();
    let settings = ModelSettings {
        model: Some("openai/o3-mini".into()),
        temperature: Some(0.7),
        max_output_tokens: Some(20_000),
        reasoning_effort: Some("medium".into()),
        extra: Some(serde_json::Map::from_iter([(
            "user".into(),
            json!("randori"),
        )])),
        ..Default::default()
    };
    let messages = request().messages;
    client
        .chat(&settings.request(messages.clone(), Some(3)))
        .await
        .unwrap();
    let chat = ModelSettings {
        model: Some("gpt-4o".into()),
        ..settings
    };
    client.chat(&chat.request(messages, None)).await.unwrap();
    let bodies = server.bodies.lock().unwrap();
    let reasoning = bodies[0].as_object().unwrap();
    assert_eq!(reasoning["max_completion_tokens"], 20_000);
    assert_eq!(reasoning["reasoning_effort"], "medium");
    assert_eq!(reasoning["user"], "randori");
    assert!(!reasoning.contains_key("temperature") && !reasoning.contains_key("max_tokens"));
    let plain = bodies[1].as_object().unwrap();
    assert_eq!(
        (&plain["temperature"], &plain["max_tokens"]),
        (&json!(0.7), &json!(20_000))
    );
    assert!(!plain.contains_key("max_completion_tokens"));
}

#[tokio::test]
async fn missing_usage_counts_zero_tokens() {
    let (_server, config) = start(vec![Step::Raw(
        r#"{"choices":[{"message":{"role":"assistant","content":"hi"}}]}"#,
    )])
    .await;
    let answer = OpenAiClient::new(config)
        .unwrap()
        .chat(&request())
        .await
        .unwrap();
    assert_eq!(answer.content, "hi");
    assert_eq!(answer.model, "gpt-4o");
    assert_eq!(
        (answer.tokens_in, answer.tokens_out, answer.cost_usd),
        (0, 0, 0.0)
    );
}

#[tokio::test]
async fn retries_429_without_retry_after() {
    let limited = Step::Fail(429, openai_error("Rate limit reached"), None);
    let (server, config) = start(vec![limited.clone(), limited, Step::Answer("ok")]).await;
    let answer = OpenAiClient::new(config)
        .unwrap()
        .chat(&request())
        .await
        .unwrap();
    assert_eq!(answer.content, "ok");
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn retries_429_after_the_servers_retry_after() {
    let limited = Step::Fail(429, openai_error("Rate limit reached"), Some("0.3"));
    let (server, config) = start(vec![limited, Step::Answer("ok")]).await;
    let started = std::time::Instant::now();
    let answer = OpenAiClient::new(config)
        .unwrap()
        .chat(&request())
        .await
        .unwrap();
    assert_eq!(answer.content, "ok");
    assert_eq!(server.hits(), 2);
    // The backoff alone would have waited 1 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retries_500_then_succeeds() {
    let broken = Step::Fail(500, json!({"message": "engine restarting"}), None);
    let (server, config) = start(vec![broken, Step::Answer("ok")]).await;
    let answer = OpenAiClient::new(config)
        .unwrap()
        .chat(&request())
        .await
        .unwrap();
    assert_eq!(answer.content, "ok");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn gives_up_after_max_retries() {
    let (server, mut config) = start(vec![Step::Fail(503, openai_error("overloaded"), None)]).await;
    config.max_retries = Some(3);
    let err = OpenAiClient::new(config)
        .unwrap()
        .chat(&request())
        .await
        .unwrap_err();
    assert_eq!(server.hits(), 4);
    let LlmError::GaveUp { attempts, last, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*attempts, 4);
    assert_eq!(
        *last,
        Transient::Status {
            status: 503,
            message: "overloaded".into()
        }
    );
    let text = err.to_string();
    assert!(
        text.contains("after 4 attempts") && text.contains("HTTP 503: overloaded"),
        "{text}"
    );
}

#[tokio::test]
async fn timeout_is_retried_then_fails() {
    let slow = Step::Sleep(Duration::from_secs(2), Box::new(Step::Answer("late")));
    let (server, mut config) = start(vec![slow]).await;
    config.timeout = Duration::from_millis(200);
    config.max_retries = Some(1);
    let err = OpenAiClient::new(config)
        .unwrap()
        .chat(&request())
        .await
        .unwrap_err();
    assert_eq!(server.hits(), 2);
    let LlmError::GaveUp {
        attempts: 2, last, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        *last,
        Transient::Timeout {
            after: Duration::from_millis(200)
        }
    );
    assert!(err.to_string().contains("no answer within 200ms"), "{err}");
}

#[tokio::test]
async fn connection_refused_is_retried_then_fails() {
    // Bind and drop a listener to get a port nothing listens on.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut config = OpenAiConfig::new(format!("http://{addr}/v1"));
    config.backoff_base = Duration::from_millis(1);
    config.max_retries = Some(2);
    let err = OpenAiClient::new(config)
        .unwrap()
        .chat(&request())
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            LlmError::GaveUp {
                attempts: 3,
                last: Transient::Connection { .. },
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_request_is_not_retried() {
    let (server, config) = start(vec![
        Step::Fail(400, openai_error("Unsupported value: 'temperature'"), None),
        Step::Answer("never"),
    ])
    .await;
    let err = OpenAiClient::new(config)
        .unwrap()
        .chat(&request())
        .await
        .unwrap_err();
    assert_eq!(server.hits(), 1);
    assert!(
        matches!(&err, LlmError::Refused { status: 400, message, .. } if message == "Unsupported value: 'temperature'"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("refused the request with HTTP 400"),
        "{err}"
    );
}

#[tokio::test]
async fn refusal_messages_in_other_dialects() {
    let check = |body: Value, expect: &'static str| async move {
        let (_server, config) = start(vec![Step::Fail(404, body, None)]).await;
        let err = OpenAiClient::new(config)
            .unwrap()
            .chat(&request())
            .await
            .unwrap_err();
        assert!(
            matches!(&err, LlmError::Refused { status: 404, message, .. } if message == expect),
            "{err:?}"
        );
    };
    check(
        json!({"error": "model 'llama9' not found"}),
        "model 'llama9' not found",
    )
    .await;
    check(
        json!({"object": "error", "message": "no such model"}),
        "no such model",
    )
    .await;
    check(json!({"detail": "Not Found"}), "Not Found").await;
    check(json!({"something": "else"}), r#"{"something":"else"}"#).await;
}

#[tokio::test]
async fn a_body_that_is_no_completion_is_tried_again_and_named() {
    let check = |body: &'static str, expect: &'static str| async move {
        let (server, config) = start(vec![Step::Raw(body), Step::Answer("ok")]).await;
        let client = OpenAiClient::new(config.clone()).unwrap();
        assert_eq!(client.chat(&request()).await.unwrap().content, "ok");
        assert_eq!(server.hits(), 2);

        let (_server, mut config) = start(vec![Step::Raw(body)]).await;
        config.max_retries = Some(0);
        let err = OpenAiClient::new(config)
            .unwrap()
            .chat(&request())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(
                err,
                LlmError::GaveUp {
                    last: Transient::Malformed { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            text.contains("is not a chat completion") && text.contains(expect),
            "{text}"
        );
    };
    check("<html>502 Bad Gateway</html>", "<html>502").await;
    check(r#"{"choices": []}"#, "no choices").await;
    check(r#"{"object": "list"}"#, "missing field `choices`").await;
}

#[tokio::test]
async fn a_refusal_is_an_answer_without_text() {
    let (server, config) = start(vec![Step::Raw(
        r#"{"choices": [{"message": {"role": "assistant", "content": null, "refusal": "I can't help with that."}}]}"#,
    )])
    .await;
    let answer = OpenAiClient::new(config)
        .unwrap()
        .chat(&request())
        .await
        .unwrap();
    assert_eq!((answer.content.as_str(), server.hits()), ("", 1));
}

#[tokio::test]
async fn a_down_endpoint_is_probed_by_one_call_while_the_others_wait() {
    // Five failures in a row, then answers: the third takes the endpoint down.
    let broken = Step::Fail(503, openai_error("overloaded"), None);
    let mut script = vec![broken; 5];
    script.push(Step::Answer("ok"));
    let (server, mut config) = start(script).await;
    config.backoff_base = Duration::from_millis(100);
    let client = OpenAiClient::new(config).unwrap();
    let mut health = client.health();
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.chat(&request()).await })
        })
        .collect();
    health.changed().await.unwrap();
    assert!(matches!(
        *health.borrow_and_update(),
        randori_llm::Health::Down { .. }
    ));
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().content, "ok");
    }
    assert_eq!(*health.borrow(), randori_llm::Health::Up);
    // Four calls through five failures: at most one request per failure, then one per call.
    assert_eq!(server.hits(), 5 + 4, "{}", server.hits());
}

#[tokio::test]
async fn api_key_is_sent_as_bearer() {
    // PATH is set wherever tests run, and setting a variable needs `unsafe` in edition 2024.
    let key = std::env::var("PATH").unwrap();
    let (server, mut config) = start(vec![Step::Answer("ok")]).await;
    config.api_key_env = Some("PATH".into());
    OpenAiClient::new(config)
        .unwrap()
        .chat(&request())
        .await
        .unwrap();
    assert_eq!(
        server.authorization.lock().unwrap()[0],
        Some(format!("Bearer {key}"))
    );
}

#[test]
fn missing_api_key_variable_is_named() {
    let mut config = OpenAiConfig::new("https://api.openai.com/v1");
    config.api_key_env = Some("RANDORI_TEST_KEY_THAT_IS_NOT_SET".into());
    let err = OpenAiClient::new(config).unwrap_err();
    assert!(
        matches!(&err, LlmError::MissingApiKey { var, .. } if var == "RANDORI_TEST_KEY_THAT_IS_NOT_SET")
    );
    assert_eq!(
        err.to_string(),
        "environment variable RANDORI_TEST_KEY_THAT_IS_NOT_SET is not set; it should hold the API \
         key for https://api.openai.com/v1 (set it, or remove api_key_env for an endpoint without keys)"
    );
}

#[tokio::test]
async fn concurrency_is_limited_per_endpoint() {
    let slow = Step::Sleep(Duration::from_millis(50), Box::new(Step::Answer("ok")));
    let (server, mut config) = start(vec![slow]).await;
    config.max_concurrency = 2;
    let client = OpenAiClient::new(config).unwrap();
    let calls: Vec<_> = (0..10)
        .map(|_| {
            // Clones share the limit.
            let client = client.clone();
            tokio::spawn(async move { client.chat(&request()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(server.hits(), 10);
    assert_eq!(server.max_in_flight.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn ask_journaled_asks_once_then_answers_from_the_journal() {
    let (server, config) = start(vec![Step::Answer("first"), Step::Answer("second")]).await;
    let client = OpenAiClient::new(config).unwrap();
    let journal = MemoryJournal::default();

    let first = ask_journaled(&journal, &client, "run/1/draft/0", &request())
        .await
        .unwrap();
    assert_eq!(first.content, "first");
    assert_eq!(
        journal.lookup("run/1/draft/0").await.unwrap(),
        Some(first.clone())
    );

    // As after a coordinator restart: the same call again is answered from the journal.
    let again = ask_journaled(&journal, &client, "run/1/draft/0", &request())
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(server.hits(), 1);

    let other = ask_journaled(&journal, &client, "run/1/draft/1", &request())
        .await
        .unwrap();
    assert_eq!(other.content, "second");
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn failed_calls_are_not_journaled() {
    let (server, config) = start(vec![
        Step::Fail(401, openai_error("Incorrect API key provided"), None),
        Step::Answer("ok"),
    ])
    .await;
    let client = OpenAiClient::new(config).unwrap();
    let journal = MemoryJournal::default();
    let err = ask_journaled(&journal, &client, "k", &request())
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::Refused { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(journal.lookup("k").await.unwrap(), None::<ChatAnswer>);

    let answer = ask_journaled(&journal, &client, "k", &request())
        .await
        .unwrap();
    assert_eq!(answer.content, "ok");
    assert_eq!(server.hits(), 2);
}
