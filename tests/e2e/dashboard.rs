//! The coordinator's HTTP port on a real cluster: `/metrics` parses and moves as jobs end, and
//! the dashboard, loaded in headless Chromium, shows the sweep, the run's tree and a node's
//! code without console errors, and never runs markup a program printed. Screenshots are
//! kept under `target/screenshots/`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use sqlx::Row;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;
use crate::sweeps::{spec, submit_spec, wait_completed};

/// A plain HTTP/1.1 GET; returns the status, the headers (lower-case names) and the body.
async fn get(addr: SocketAddr, path: &str) -> (u16, HashMap<String, String>, String) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connecting");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let raw = String::from_utf8(raw).expect("UTF-8 response");
    let (head, body) = raw.split_once("\r\n\r\n").expect("a header block");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    // Every response here is small; a chunked body is decoded by dropping the size lines.
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    };
    (status, headers, body)
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        if size == 0 {
            break;
        }
        out += &rest[..size];
        body = &rest[size + 2..];
    }
    out
}

/// Parses the Prometheus text format strictly: every family declared (HELP, then TYPE) before
/// its samples, names and labels well formed, values numbers. Returns sample → value.
fn parse_exposition(text: &str) -> HashMap<String, f64> {
    let mut families: HashMap<String, String> = HashMap::new();
    let mut samples = HashMap::new();
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
            && !n.starts_with(|c: char| c.is_ascii_digit())
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(name_ok(name), "bad family name in {line:?}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram"].contains(&kind),
                "{line:?}"
            );
            assert!(
                families.insert(name.to_owned(), kind.to_owned()).is_none(),
                "{name} declared twice"
            );
        } else {
            assert!(!line.starts_with('#'), "unknown comment {line:?}");
            let (series, value) = line.rsplit_once(' ').expect("series and value");
            let value: f64 = value
                .parse()
                .unwrap_or_else(|_| panic!("value in {line:?}"));
            let name = series.split('{').next().unwrap();
            let labels = &series[name.len()..];
            if !labels.is_empty() {
                assert!(
                    labels.starts_with('{') && labels.ends_with('}'),
                    "labels in {line:?}"
                );
                for pair in labels[1..labels.len() - 1].split("\",") {
                    let (key, _) = pair.split_once("=\"").expect("key=\"value\"");
                    assert!(name_ok(key), "label name in {line:?}");
                }
            }
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| {
                    name.strip_suffix(s)
                        .filter(|f| families.get(*f).map(String::as_str) == Some("histogram"))
                })
                .unwrap_or(name);
            assert!(
                families.contains_key(family),
                "sample before its TYPE: {line:?}"
            );
            samples.insert(series.to_owned(), value);
        }
    }
    samples
}

/// Where the browser's screenshots go: under the build's target directory.
fn screenshot_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let dir = target.join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// What headless Chromium saw of a page: the DOM after its scripts ran, and every console
/// message (errors, CSP refusals and logs alike).
struct Loaded {
    dom: String,
    console: Vec<String>,
}

fn chromium() -> String {
    std::env::var("RANDORI_CHROMIUM").unwrap_or_else(|_| "chromium".to_owned())
}

fn browser_flags(profile: &std::path::Path, height: u32) -> Vec<String> {
    vec![
        "--headless".into(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--no-first-run".into(),
        "--hide-scrollbars".into(),
        format!("--window-size=1280,{height}"),
        format!("--user-data-dir={}", profile.display()),
        "--enable-logging=stderr".into(),
        "--v=0".into(),
        // Long enough for the live-update script to refresh the page twice.
        "--virtual-time-budget=5000".into(),
    ]
}

fn load(url: &str, screenshot: &str) -> Loaded {
    load_sized(url, screenshot, 1400)
}

/// As [`load`], with a screenshot `height` pixels tall (a page of figures is long).
fn load_sized(url: &str, screenshot: &str, height: u32) -> Loaded {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args(browser_flags(profile.path(), height))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("running {} (Debian package chromium): {e}", chromium()));
    assert!(
        out.status.success(),
        "chromium failed on {url}: {}",
        text(&out.stderr)
    );
    let console = text(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_owned)
        .collect();
    let shot = screenshot_dir().join(screenshot);
    let profile = tempfile::tempdir().unwrap();
    let taken = Command::new(chromium())
        .args(browser_flags(profile.path(), height))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(url)
        .output()
        .expect("taking a screenshot");
    assert!(
        taken.status.success(),
        "screenshot of {url}: {}",
        text(&taken.stderr)
    );
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 1000)
            .unwrap_or(false),
        "no screenshot at {}",
        shot.display()
    );
    Loaded {
        dom: text(&out.stdout),
        console,
    }
}

/// Text as the browser serializes a text node: only `&`, `<` and `>` escaped.
fn as_dom_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A program whose code and output carry markup that would act if it were not escaped.
const HOSTILE: &str = r#"# <script>document.body.setAttribute('data-pwned', 'code')</script>
print("<script>document.body.setAttribute('data-pwned', 'stdout')</script>")
print("<img src=x onerror=\"document.body.setAttribute('data-pwned', 'img')\">")
"#;

#[tokio::test(flavor = "multi_thread")]
async fn metrics_move_and_the_dashboard_renders_safely_in_chromium() {
    let url = fresh_database("dashboard").await;
    let (_coordinator, addr, http) = coordinator_with_http(&url, "127.0.0.1:0", &[], &[]);
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let _worker = worker(
        addr,
        WorkerOpts {
            name: &unique("dash"),
            slots: 2,
            ..Default::default()
        },
    );

    let (status, headers, before) = get(http, "/metrics").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].starts_with("text/plain; version=0.0.4"));
    let before = parse_exposition(&before);
    assert_eq!(
        before["randori_jobs_finished_total{state=\"succeeded\"}"],
        0.0
    );
    let (status, _, body) = get(http, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, _, body) = get(http, "/livez").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    // A running job's node page shows what it printed so far.
    let mut client = control(addr).await;
    let slow = submit(
        &mut client,
        Eval {
            code: "import time\nfor i in range(30):\n    print(f'tick-{i}', flush=True)\n    time.sleep(0.5)\n",
            timeout_ms: 120_000,
            memory_bytes: 256 << 20,
            disk_bytes: 1 << 30,
            gpus: 0,
        },
    )
    .await;
    let slow_node: uuid::Uuid = sqlx::query("SELECT node_id FROM jobs WHERE id = $1::uuid")
        .bind(&slow)
        .fetch_one(&db)
        .await
        .unwrap()
        .get("node_id");
    eventually(
        "live output on the node page",
        Duration::from_secs(60),
        || async {
            let (_, headers, body) = get(http, &format!("/nodes/{slow_node}")).await;
            headers.get("x-randori-live").map(String::as_str) == Some("1")
                && body.contains("Running: the latest output so far")
                && body.contains("tick-3")
        },
    )
    .await;
    // The same page in a browser while it is live: the update script runs and fetches under
    // the CSP without an error.
    let live = load(
        &format!("http://{http}/nodes/{slow_node}"),
        "dashboard-live-node.png",
    );
    assert!(live.console.is_empty(), "console: {:?}", live.console);
    assert!(
        live.dom.contains("data-live=\"1\"") && live.dom.contains("tick-"),
        "{}",
        live.dom
    );

    // A sweep of one run (3 nodes), and a lone evaluation of the hostile program.
    let sweep_id = submit_spec(
        &mut client,
        &spec("dash <b>board</b>", &["taxi-fare"], &[0], 3),
    )
    .await;
    // A second sweep to compare the first with (one arm each).
    let other_id = submit_spec(&mut client, &spec("dash other", &["taxi-fare"], &[0], 2)).await;
    let job_id = submit(
        &mut client,
        Eval {
            code: HOSTILE,
            timeout_ms: 60_000,
            memory_bytes: 512 << 20,
            disk_bytes: 1 << 30,
            gpus: 0,
        },
    )
    .await;
    wait_completed(&mut client, &sweep_id, Duration::from_secs(300)).await;
    wait_completed(&mut client, &other_id, Duration::from_secs(300)).await;
    wait_end(&mut client, &job_id, Duration::from_secs(120)).await;
    wait_end(&mut client, &slow, Duration::from_secs(120)).await;

    let (_, _, after) = get(http, "/metrics").await;
    let after = parse_exposition(&after);
    let succeeded: i64 = sqlx::query("SELECT count(*) AS n FROM jobs WHERE state = 'succeeded'")
        .fetch_one(&db)
        .await
        .unwrap()
        .get("n");
    assert_eq!(succeeded, 7, "three and two nodes, and two evaluations");
    assert_eq!(
        after["randori_jobs_finished_total{state=\"succeeded\"}"],
        succeeded as f64
    );
    assert_eq!(after["randori_jobs{state=\"succeeded\"}"], succeeded as f64);
    assert!(after["randori_lease_grants_total"] >= succeeded as f64);
    assert_eq!(after["randori_job_run_seconds_count"], succeeded as f64);
    assert_eq!(
        after["randori_job_run_seconds_bucket{le=\"+Inf\"}"],
        succeeded as f64
    );
    assert!(after["randori_job_total_seconds_sum"] > 0.0);
    assert_eq!(after["randori_runs{state=\"completed\"}"], 2.0);
    assert_eq!(after["randori_sweeps{state=\"completed\"}"], 2.0);
    assert_eq!(after["randori_gpus_allocated"], 0.0);
    assert!(
        after
            .keys()
            .any(|k| k.starts_with("randori_worker_free_slots{worker=\"dash")),
        "per-worker gauges"
    );

    // The pages, in a real browser.
    let sweeps = load(&format!("http://{http}/"), "dashboard-sweeps.png");
    assert!(sweeps.console.is_empty(), "console: {:?}", sweeps.console);
    assert!(
        sweeps.dom.contains("dash &lt;b&gt;board&lt;/b&gt;"),
        "{}",
        sweeps.dom
    );
    assert!(sweeps.dom.contains(&format!("/sweeps/{sweep_id}")));

    let sweep = load_sized(
        &format!("http://{http}/sweeps/{sweep_id}"),
        "dashboard-sweep.png",
        2400,
    );
    assert!(sweep.console.is_empty(), "console: {:?}", sweep.console);
    assert!(sweep.dom.contains("By task and policy"), "{}", sweep.dom);
    // The figures, drawn on the server and inlined: no console error, so no CSP violation.
    assert!(
        sweep.dom.contains("Medal rate over nodes evaluated") && sweep.dom.contains("<svg"),
        "{}",
        sweep.dom
    );
    assert!(sweep.dom.contains("Generalization gap"), "{}", sweep.dom);
    // The task's own figures, folded under its name.
    assert!(
        sweep
            .dom
            .contains("id=\"figures-taxi-fare\"><summary>taxi-fare: 7 figures"),
        "{}",
        sweep.dom
    );
    let run_id: uuid::Uuid = sqlx::query("SELECT id FROM runs WHERE sweep_id = $1::uuid")
        .bind(&sweep_id)
        .fetch_one(&db)
        .await
        .unwrap()
        .get("id");
    assert!(sweep.dom.contains(&format!("/runs/{run_id}")));

    let run = load_sized(
        &format!("http://{http}/runs/{run_id}"),
        "dashboard-run.png",
        2000,
    );
    assert!(run.console.is_empty(), "console: {:?}", run.console);
    for over in ["nodes evaluated", "working time"] {
        assert!(
            run.dom
                .contains(&format!("The pick's validation and test score over {over}")),
            "the run's pick over {over}: {}",
            run.dom
        );
    }
    let nodes: Vec<(uuid::Uuid, String)> =
        sqlx::query("SELECT id, code FROM nodes WHERE run_id = $1 ORDER BY step")
            .bind(run_id)
            .fetch_all(&db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get("id"), r.get("code")))
            .collect();
    assert_eq!(nodes.len(), 3);
    assert_eq!(
        run.dom.matches("<g class=\"node ").count(),
        nodes.len(),
        "one drawn node per stored node: {}",
        run.dom
    );
    let classes: Vec<&str> = run
        .dom
        .split("<g class=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap())
        .collect();
    let marked = |mark: &str| {
        classes
            .iter()
            .filter(|c| c.split_whitespace().any(|w| w == mark))
            .count()
    };
    assert_eq!(
        marked("selected"),
        1,
        "the final pick is marked: {classes:?}"
    );
    assert_eq!(marked("oracle"), 1, "the oracle is marked: {classes:?}");
    for (id, _) in &nodes {
        assert!(
            run.dom.contains(&format!("href=\"/nodes/{id}\"")),
            "node {id} links"
        );
    }

    let (node_id, code) = &nodes[0];
    let node = load(
        &format!("http://{http}/nodes/{node_id}"),
        "dashboard-node.png",
    );
    assert!(node.console.is_empty(), "console: {:?}", node.console);
    let first_line = code.lines().find(|l| !l.trim().is_empty()).unwrap();
    assert!(
        node.dom.contains(&as_dom_text(first_line)),
        "the node page shows its code: {}",
        node.dom
    );

    // The hostile program: its code and output are shown as text and never run.
    let hostile_node: uuid::Uuid = sqlx::query("SELECT node_id FROM jobs WHERE id = $1::uuid")
        .bind(&job_id)
        .fetch_one(&db)
        .await
        .unwrap()
        .get("node_id");
    let hostile = load(
        &format!("http://{http}/nodes/{hostile_node}"),
        "dashboard-hostile-node.png",
    );
    assert!(hostile.console.is_empty(), "console: {:?}", hostile.console);
    assert!(
        hostile.dom.contains("<body>") && !hostile.dom.contains("<body data-pwned"),
        "markup ran: {}",
        hostile.dom
    );
    assert!(
        hostile.dom.contains(
            "&lt;script&gt;document.body.setAttribute('data-pwned', 'stdout')&lt;/script&gt;"
        ),
        "the output is shown as text: {}",
        hostile.dom
    );
    assert!(hostile.dom.contains("&lt;img src=x onerror="));
    assert_eq!(
        hostile.dom.matches("<script").count(),
        1,
        "only the dashboard's own script: {}",
        hostile.dom
    );

    // The two sweeps compared, as `sweep compare` does: the table and the difference drawn.
    let compare = load(
        &format!("http://{http}/compare?sweep={sweep_id}&sweep={other_id}"),
        "dashboard-compare.png",
    );
    assert!(compare.console.is_empty(), "console: {:?}", compare.console);
    for shown in [
        "Δ vs baseline (pp)",
        "95% CI (pp)",
        "dash other",
        "Any medal, all shared tasks: each arm against dash &lt;b&gt;board&lt;/b&gt;",
    ] {
        assert!(compare.dom.contains(shown), "{shown}: {}", compare.dom);
    }
    assert_eq!(
        compare.dom.matches(" checked").count(),
        2,
        "both sweeps ticked: {}",
        compare.dom
    );
    let (status, _, picker) = get(http, "/compare").await;
    assert_eq!(status, 200);
    assert!(
        picker.contains(&format!("value=\"{other_id}\"")),
        "{picker}"
    );
    assert_eq!(get(http, "/compare?sweep=not-a-uuid").await.0, 400);

    // Bad and unknown ids are answered, not crashed on.
    assert_eq!(get(http, "/nodes/not-a-uuid").await.0, 400);
    assert_eq!(
        get(http, &format!("/runs/{}", uuid::Uuid::nil())).await.0,
        404
    );
    assert_eq!(get(http, "/no/such/page").await.0, 404);
}
