//! The dashboard's pages as pure functions of stored data. Every piece of text a user or a
//! generated program controls goes through `escaped`; ids in links are uuids we formatted.

use randori_report::compare::Comparison;
use randori_report::html::escaped;
use randori_report::tree::{TreeNode, TreeView, render_svg};
use randori_report::{SweepReport, score};
use uuid::Uuid;

use crate::model::{JobView, NodeStatus, RunNode, RunRecord};
use crate::store::{SweepRecord, SweepRunCounts};

/// A rendered page: `body` is the content of `<main>`; `live` while its subject can change.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub title: String,
    pub body: String,
    pub live: bool,
}

/// The whole document around a page's body.
pub fn document(page: &Page) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} · randori</title>\n\
         <link rel=\"stylesheet\" href=\"/static/dashboard.css\">\n\
         <script src=\"/static/live.js\" defer></script>\n</head>\n<body>\n\
         <header><a href=\"/\">randori</a></header>\n\
         <main id=\"live\" data-live=\"{}\">\n{}</main>\n</body>\n</html>\n",
        escaped(&page.title),
        if page.live { "1" } else { "0" },
        page.body
    )
}

fn state(s: &str) -> String {
    format!("<span class=\"state state-{0}\">{0}</span>", escaped(s))
}

fn progress(done: u32, of: u32) -> String {
    format!(
        "<progress value=\"{done}\" max=\"{}\"></progress> {done}/{of}",
        of.max(1)
    )
}

/// Every sweep, newest first, with run and node progress.
pub fn sweeps(rows: &[(SweepRecord, Vec<SweepRunCounts>)]) -> Page {
    let mut body =
        String::from("<h1>Sweeps</h1>\n<p><a href=\"/compare\">Compare sweeps</a></p>\n");
    if rows.is_empty() {
        body += "<p class=\"muted\">No sweeps yet. Submit one with <code>randori sweep submit FILE</code>.</p>\n";
    } else {
        body += "<table class=\"sweeps\">\n<thead><tr><th>name</th><th>state</th><th class=\"num\">priority</th>\
                 <th>runs done</th><th>nodes evaluated</th><th class=\"num\">buggy</th><th>created</th></tr></thead>\n<tbody>\n";
        for (sweep, runs) in rows {
            let done = runs
                .iter()
                .filter(|r| r.state != "running" && r.state != "paused")
                .count() as u32;
            let evaluated: u32 = runs.iter().map(|r| r.ok + r.buggy).sum();
            let budget: u32 = runs.iter().map(|r| r.max_nodes).sum();
            let buggy: u32 = runs.iter().map(|r| r.buggy).sum();
            body += &format!(
                "<tr><td><a href=\"/sweeps/{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td>\
                 <td>{}</td><td>{}</td><td class=\"num\">{buggy}</td><td>{}</td></tr>\n",
                sweep.id,
                escaped(&sweep.name),
                state(&sweep.state),
                sweep.priority,
                progress(done, runs.len() as u32),
                progress(evaluated, budget),
                sweep.created_at.format("%Y-%m-%d %H:%M:%S UTC")
            );
        }
        body += "</tbody>\n</table>\n";
    }
    Page {
        title: "Sweeps".into(),
        body,
        live: rows.iter().any(|(s, _)| s.state == "running"),
    }
}

/// A sweep's figures section (the generalization gap and every figure), drawn from its
/// report and its runs' nodes.
pub fn sweep_figures(report: &SweepReport, runs: &[randori_report::figures::RunNodes]) -> String {
    randori_report::plots::figures_html(
        &randori_report::plots::sweep_figures(report, runs),
        &randori_report::figures::generalization_gap(runs),
        false,
    )
}

/// One sweep: its runs' progress, the report tables, then `figures` (from [`sweep_figures`]);
/// `figures_behind`: how long ago they were drawn, when the sweep has moved on since.
pub fn sweep(
    sweep: &SweepRecord,
    runs: &[SweepRunCounts],
    report: &SweepReport,
    figures: &str,
    figures_behind: Option<std::time::Duration>,
) -> Page {
    let mut body = format!(
        "<h1>Sweep {}</h1>\n<p>{} · priority {} · id <code>{}</code></p>\n",
        escaped(&sweep.name),
        state(&sweep.state),
        sweep.priority,
        sweep.id
    );
    if let Some(why) = &sweep.blocked {
        body += &format!(
            "<p class=\"state-failed\">Paused by randori: {}</p>\n",
            escaped(why)
        );
    }
    body += &format!(
        "<p><a href=\"/compare?sweep={}\">Compare its policies, or with other sweeps</a></p>\n",
        sweep.id
    );
    body += "<h2>Runs</h2>\n<table class=\"runs\">\n<thead><tr><th>task</th><th>policy</th>\
        <th class=\"num\">seed</th><th>state</th><th>nodes</th><th class=\"num\">ok</th>\
        <th class=\"num\">buggy</th><th class=\"num\">queued</th><th class=\"num\">running</th>\
        <th>selected medal</th></tr></thead>\n<tbody>\n";
    for r in runs {
        // A run waiting for its LLM endpoint says so in its state cell; a failed one says why.
        let shown_state = match (&r.waiting_for, &r.error, r.state.as_str()) {
            (Some(why), _, "running") => format!(
                "<span class=\"state state-waiting\" title=\"{0}\">waiting for LLM</span>",
                escaped(why)
            ),
            (_, Some(error), "failed") => format!(
                "<span class=\"state state-failed\" title=\"{}\">failed</span>",
                escaped(error)
            ),
            _ => state(&r.state),
        };
        body += &format!(
            "<tr><td><a href=\"/runs/{}\">{}</a></td><td>{}</td><td class=\"num\">{}</td><td>{}</td>\
             <td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>\n",
            r.id,
            escaped(&r.task_id),
            escaped(&r.policy),
            r.seed,
            shown_state,
            progress(r.ok + r.buggy, r.max_nodes),
            r.ok,
            r.buggy,
            r.queued,
            r.leased,
            escaped(r.selected_medal.as_deref().unwrap_or("-"))
        );
    }
    body += "</tbody>\n</table>\n<h2>Report</h2>\n";
    body += &randori_report::render_html(report);
    body += "<h2>Figures</h2>\n";
    // Figures are redrawn less often than the page refreshes (see `http::FigureCache`).
    if let Some(age) = figures_behind {
        body += &format!(
            "<p class=\"muted\">Drawn {:.0} s ago: the sweep has moved on, and they are \
             redrawn shortly.</p>\n",
            age.as_secs_f64()
        );
    }
    body += figures;
    Page {
        title: format!("Sweep {}", sweep.name),
        body,
        live: sweep.state == "running" || sweep.state == "paused",
    }
}

/// Sweeps compared: a form to pick them (every sweep, the picked ones ticked), then, with two
/// arms or more, each arm's any-medal rate per task and overall, its difference from the
/// first with a bootstrap 95% interval, and that difference drawn.
pub fn compare(all: &[SweepRecord], picked: &[Uuid], comparison: Option<&Comparison>) -> Page {
    let mut body = String::from(
        "<h1>Compare sweeps</h1>\n<p>An arm is one policy of one sweep; the first picked \
         sweep's first policy is the baseline. Pick one sweep of several policies, or \
         several sweeps.</p>\n<form method=\"get\" action=\"/compare\" class=\"compare\">\n",
    );
    // The picked sweeps first, in the order given (the baseline leads), then the others.
    let order = picked
        .iter()
        .filter_map(|id| all.iter().find(|s| s.id == *id))
        .chain(all.iter().filter(|s| !picked.contains(&s.id)));
    for sweep in order {
        body += &format!(
            "<label><input type=\"checkbox\" name=\"sweep\" value=\"{}\"{}> {} {} \
             <span class=\"muted\">{}</span></label><br>\n",
            sweep.id,
            if picked.contains(&sweep.id) {
                " checked"
            } else {
                ""
            },
            escaped(&sweep.name),
            state(&sweep.state),
            sweep.created_at.format("%Y-%m-%d %H:%M UTC")
        );
    }
    body += "<button type=\"submit\">Compare</button>\n</form>\n";
    match comparison {
        Some(c) => {
            body += &randori_report::compare::render_html(c);
            let title = format!(
                "Any medal, all shared tasks: each arm against {}",
                c.baseline
            );
            let svg = randori_report::plots::compare_svg(&title, c);
            if !svg.is_empty() {
                body += &randori_report::plots::figure_html(&randori_report::plots::Figure {
                    name: "compare".into(),
                    task: None,
                    title,
                    svg,
                });
            }
        }
        None if !picked.is_empty() => {
            body += "<p class=\"muted\">Nothing to compare yet: the picked sweeps have fewer \
                     than two arms with runs.</p>\n";
        }
        None => {}
    }
    let live = all
        .iter()
        .any(|s| picked.contains(&s.id) && (s.state == "running" || s.state == "paused"));
    Page {
        title: "Compare sweeps".into(),
        body,
        live,
    }
}

/// The tree view the report crate draws, from stored nodes.
fn tree_view(run: &RunRecord, nodes: &[RunNode]) -> TreeView {
    TreeView {
        run_id: run.id.to_string(),
        task: run.spec.task_id.clone(),
        policy: run.spec.policy.clone(),
        seed: run.spec.seed,
        state: run.state.clone(),
        selected: run.selected_node.map(|n| n.to_string()),
        oracle: run.oracle_node.map(|n| n.to_string()),
        lower_is_better: crate::model::lower_is_better(nodes),
        nodes: nodes
            .iter()
            .map(|n| TreeNode {
                id: n.id.to_string(),
                step: n.step,
                operator: n.operator.clone(),
                parent_ids: n.parent_ids.iter().map(Uuid::to_string).collect(),
                status: n.status.as_str().to_owned(),
                val_score: n.val_score,
                test_score: n.test_score,
                medal: n.medal.clone().unwrap_or_default(),
                plan: n.plan.clone(),
            })
            .collect(),
    }
}

/// One run: its tree drawn (click a node for its page), its pick's validation and test
/// scores over time, then its nodes as a table.
pub fn run(
    run: &RunRecord,
    nodes: &[RunNode],
    figure_runs: &[randori_report::figures::RunNodes],
) -> Page {
    let view = tree_view(run, nodes);
    let count = |s: NodeStatus| nodes.iter().filter(|n| n.status == s).count();
    let mut body = format!(
        "<h1>Run: {} · {} · seed {}</h1>\n<p>{} · {} nodes of {} · {} ok, {} buggy, {} pending",
        escaped(&run.spec.task_id),
        escaped(&run.spec.policy),
        run.spec.seed,
        state(&run.state),
        nodes.len(),
        run.spec.max_nodes,
        count(NodeStatus::Ok),
        count(NodeStatus::Buggy),
        count(NodeStatus::Pending)
    );
    if let Some(sweep) = run.sweep_id {
        body += &format!(" · <a href=\"/sweeps/{sweep}\">its sweep</a>");
    }
    body += "</p>\n";
    if let Some(error) = &run.error {
        body += &format!("<p class=\"state-failed\">{}</p>\n", escaped(error));
    }
    body += "<p class=\"legend\"><span>● grey: pending</span><span>● red: buggy</span>\
             <span>● green: ok, darker is a better validation score</span>\
             <span>thick blue ring: selected</span><span>★ oracle (best test score)</span></p>\n";
    body += &render_svg(&view, |n| format!("/nodes/{}", n.id));
    if let Some(nodes) = figure_runs.first() {
        body += "<h2>The pick over time</h2>\n";
        for f in randori_report::plots::run_figures(nodes) {
            body += &randori_report::plots::figure_html(&f);
        }
    }
    body += "<h2>Nodes</h2>\n<table class=\"nodes\">\n<thead><tr><th class=\"num\">step</th><th>operator</th>\
             <th>status</th><th class=\"num\">validation</th><th class=\"num\">test</th><th>medal</th></tr></thead>\n<tbody>\n";
    for n in nodes {
        body += &format!(
            "<tr><td class=\"num\"><a href=\"/nodes/{}\">#{}</a></td><td>{}</td><td>{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
            n.id,
            n.step,
            escaped(&n.operator),
            state(n.status.as_str()),
            score(n.val_score),
            score(n.test_score),
            escaped(n.medal.as_deref().unwrap_or("-"))
        );
    }
    body += "</tbody>\n</table>\n";
    Page {
        title: format!(
            "Run {} {} {}",
            run.spec.task_id, run.spec.policy, run.spec.seed
        ),
        body,
        live: run.state == "running",
    }
}

fn pre(class: &str, text: &str) -> String {
    format!("<pre class=\"{class}\">{}</pre>\n", escaped(text))
}

/// A captured stream: its head, then what of its tail the head does not already hold, with a
/// mark where the middle was cut.
fn stream(name: &str, head: &str, tail: &str, bytes: u64) -> String {
    let mut out = format!("<h3>{name} <span class=\"muted\">({bytes} bytes)</span></h3>\n");
    let (rest, middle_cut) = crate::model::tail_beyond_head(head, tail, bytes);
    if middle_cut {
        out += &pre(name, head);
        out += "<p class=\"muted\">… (middle not kept)</p>\n";
        out += &pre(name, rest);
    } else {
        out += &pre(name, &format!("{head}{rest}"));
    }
    out
}

/// One node: what it is, its scores, its plan, code and output.
/// `live`: what a running job printed so far (stdout, stderr).
pub fn node(
    node: &RunNode,
    run_id: Option<Uuid>,
    job: &JobView,
    live: Option<(String, String)>,
) -> Page {
    // A lone evaluation has no operator.
    let operator = if node.operator.is_empty() {
        "evaluation"
    } else {
        &node.operator
    };
    let mut body = format!(
        "<h1>Node #{} · {}</h1>\n<dl>\n<dt>status</dt><dd>{}</dd>\n<dt>validation score</dt><dd>{}</dd>\n\
         <dt>test score</dt><dd>{}</dd>\n<dt>medal</dt><dd>{}</dd>\n",
        node.step,
        escaped(operator),
        state(node.status.as_str()),
        score(node.val_score),
        score(node.test_score),
        escaped(node.medal.as_deref().unwrap_or("-"))
    );
    if let Some(run) = run_id {
        body += &format!("<dt>run</dt><dd><a href=\"/runs/{run}\">{run}</a></dd>\n");
    }
    if !node.parent_ids.is_empty() {
        let links: Vec<String> = node
            .parent_ids
            .iter()
            .map(|p| format!("<a href=\"/nodes/{p}\">{p}</a>"))
            .collect();
        body += &format!("<dt>parents</dt><dd>{}</dd>\n", links.join(", "));
    }
    if let Some(a) = &node.analysis {
        body += &format!(
            "<dt>analysis</dt><dd>{}{} <span class=\"muted\">({})</span></dd>\n",
            if a.is_bug { "a bug: " } else { "" },
            escaped(&a.summary),
            escaped(&a.by)
        );
    }
    if let Some(grade) = &node.grade {
        if !grade.graded_by.is_empty() {
            body += &format!("<dt>graded by</dt><dd>{}</dd>\n", escaped(&grade.graded_by));
        }
        if let Some(reason) = &grade.invalid_reason {
            body += &format!("<dt>invalid submission</dt><dd>{}</dd>\n", escaped(reason));
        }
        if let Some(reason) = &grade.validation_invalid_reason {
            body += &format!(
                "<dt>invalid validation rows</dt><dd>{}</dd>\n",
                escaped(reason)
            );
        }
    }
    body += &format!(
        "<dt>job</dt><dd>{} · attempt {} · worker {}</dd>\n",
        state(job.state.as_str()),
        job.attempts,
        escaped(job.worker_name.as_deref().unwrap_or("-"))
    );
    if let Some(o) = &node.outcome {
        body += &format!(
            "<dt>exit</dt><dd>{}{}{} after {:.1} s</dd>\n",
            o.exit_code
                .map_or_else(|| "no code".to_owned(), |c| format!("code {c}")),
            if o.timed_out { " · timed out" } else { "" },
            if o.oom_killed {
                " · out of memory"
            } else {
                ""
            },
            o.duration_ms as f64 / 1000.0
        );
    }
    if let Some(error) = &job.error {
        body += &format!("<dt>error</dt><dd>{}</dd>\n", escaped(error));
    }
    body += "</dl>\n<h2>Plan</h2>\n";
    body += &pre("plan", &node.plan);
    body += "<h2>Code</h2>\n";
    body += &pre("code", &node.code);
    body += "<h2>Output</h2>\n";
    match (&node.outcome, live) {
        (Some(o), _) => {
            body += &stream("stdout", &o.stdout_head, &o.stdout_tail, o.stdout_bytes);
            body += &stream("stderr", &o.stderr_head, &o.stderr_tail, o.stderr_bytes);
        }
        (None, Some((stdout, stderr))) => {
            body += "<p class=\"muted\">Running: the latest output so far.</p>\n<h3>stdout</h3>\n";
            body += &pre("stdout", &stdout);
            body += "<h3>stderr</h3>\n";
            body += &pre("stderr", &stderr);
        }
        (None, None) => body += "<p class=\"muted\">Not evaluated yet.</p>\n",
    }
    Page {
        title: format!("Node #{} {operator}", node.step),
        body,
        live: node.status == NodeStatus::Pending,
    }
}

/// Asks for the client token (the coordinator was started with tokens).
pub fn login(refused: bool) -> Page {
    let mut body = String::from("<h1>Sign in</h1>\n");
    if refused {
        body += "<p class=\"state-failed\">That token is not valid here.</p>\n";
    }
    body += "<form method=\"post\" action=\"/login\">\n\
             <label>Client token (RANDORI_CLIENT_TOKEN) \
             <input type=\"password\" name=\"token\" autocomplete=\"current-password\" required></label>\n\
             <button type=\"submit\">Sign in</button>\n</form>\n";
    Page {
        title: "Sign in".into(),
        body,
        live: false,
    }
}

pub fn not_found(what: &str) -> Page {
    Page {
        title: "Not found".into(),
        body: format!("<h1>Not found</h1>\n<p>No such {}.</p>\n", escaped(what)),
        live: false,
    }
}

pub fn bad_id(what: &str, id: &str) -> Page {
    Page {
        title: "Bad request".into(),
        body: format!(
            "<h1>Bad request</h1>\n<p>{} is not a {} id.</p>\n",
            escaped(id),
            escaped(what)
        ),
        live: false,
    }
}

pub fn failure(message: &str) -> Page {
    Page {
        title: "Error".into(),
        body: format!("<h1>Error</h1>\n<pre>{}</pre>\n", escaped(message)),
        live: false,
    }
}

#[cfg(test)]
mod tests {
    use super::stream;
    use crate::store::{SweepRecord, SweepRunCounts};

    #[test]
    fn the_sweep_page_says_why_randori_paused_it_and_which_runs_wait_or_failed() {
        let sweep = SweepRecord {
            id: uuid::Uuid::nil(),
            name: "s".into(),
            state: "paused".into(),
            priority: 0,
            created_at: chrono::DateTime::from_timestamp_millis(0).unwrap(),
            finished_at: None,
            blocked: Some("draft's call was refused: <fix api_key_env>".into()),
        };
        let run = |state: &str, waiting: Option<&str>, error: Option<&str>| SweepRunCounts {
            state: state.into(),
            waiting_for: waiting.map(str::to_owned),
            error: error.map(str::to_owned),
            max_nodes: 1,
            ..Default::default()
        };
        let runs = [
            run("running", Some("LLM endpoint http://h/v1: HTTP 429"), None),
            run("failed", None, Some("LLM endpoint: gave up")),
        ];
        let report = randori_report::build(
            randori_report::SweepInfo {
                id: "s".into(),
                name: "s".into(),
                state: "paused".into(),
                created_at: String::new(),
                operators: Vec::new(),
                oracle_ablation: false,
            },
            Vec::new(),
        );
        let figures = super::sweep_figures(&report, &[]);
        let page = super::sweep(&sweep, &runs, &report, &figures, None).body;
        assert!(
            page.contains(
                "Paused by randori: draft&#39;s call was refused: &lt;fix api_key_env&gt;"
            ),
            "{page}"
        );
        assert!(
            page.contains("title=\"LLM endpoint http://h/v1: HTTP 429\">waiting for LLM</span>"),
            "{page}"
        );
        assert!(
            page.contains("title=\"LLM endpoint: gave up\">failed</span>"),
            "{page}"
        );
    }

    #[test]
    fn a_stream_shows_each_byte_once_and_marks_a_cut() {
        let whole = stream("stdout", "abc", "abc", 3);
        assert_eq!(whole.matches("abc").count(), 1, "{whole}");
        let overlapping = stream("stdout", "abcd", "cdef", 6);
        assert!(overlapping.contains(">abcdef</pre>"), "{overlapping}");
        let cut = stream("stdout", "<b>", "end", 100);
        assert!(
            cut.contains("&lt;b&gt;")
                && cut.contains("middle not kept")
                && cut.contains(">end</pre>")
        );
    }
}
