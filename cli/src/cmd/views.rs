//! `randori tree RUN_ID` and `randori sweep report ID`: fetch, then render with
//! `randori-report` (the rendering is pure and lives there).

use std::process::ExitCode;

use anyhow::{Context, Result};
use randori_proto::v1 as pb;
use randori_report::tree::{TreeNode, TreeView};

use crate::args::{ReportFormat, TreeFormat};
use crate::client;
use crate::terminal::shown;

pub async fn tree(coordinator: &str, run_id: &str, format: TreeFormat) -> Result<ExitCode> {
    let mut client = client::connect(coordinator).await?;
    let run = client
        .get_run(pb::GetRunRequest {
            run_id: run_id.to_owned(),
        })
        .await
        .map_err(client::status_error)
        .with_context(|| format!("run {run_id}"))?
        .into_inner();
    let view = tree_view(run);
    let text = match format {
        TreeFormat::Text => shown(&randori_report::tree::render_text(&view)),
        TreeFormat::Dot => randori_report::tree::render_dot(&view),
        TreeFormat::Json => randori_report::tree::render_json(&view),
        TreeFormat::Html => randori_report::tree::render_html(&view),
    };
    print_text(&text);
    Ok(ExitCode::SUCCESS)
}

pub async fn report(coordinator: &str, sweep_id: &str, format: ReportFormat) -> Result<ExitCode> {
    let mut client = client::connect(coordinator).await?;
    let text = if let ReportFormat::Html = format {
        let (report, drawn, gaps) = super::figures::figures_of(&mut client, sweep_id).await?;
        randori_report::plots::html_page(&report, &drawn, &gaps)
    } else {
        let report = fetch_report(&mut client, sweep_id).await?;
        match format {
            ReportFormat::Md => shown(&randori_report::render_markdown(&report)),
            ReportFormat::Json => randori_report::render_json(&report),
            ReportFormat::Csv => randori_report::render_csv(&report),
            ReportFormat::Table | ReportFormat::Html => {
                shown(&randori_report::render_table(&report))
            }
        }
    };
    print_text(&text);
    Ok(ExitCode::SUCCESS)
}

pub async fn compare(
    coordinator: &str,
    sweep_ids: &[String],
    format: ReportFormat,
    resamples: u32,
    seed: u64,
) -> Result<ExitCode> {
    use randori_report::compare;
    anyhow::ensure!(resamples > 0, "--resamples must be at least 1");

    let mut client = client::connect(coordinator).await?;
    let mut reports = Vec::with_capacity(sweep_ids.len());
    for id in sweep_ids {
        reports.push(fetch_report(&mut client, id).await?);
    }
    let arms = compare::arms_of(&reports);
    anyhow::ensure!(
        arms.len() >= 2,
        "nothing to compare: the sweeps have {} arm(s) with runs (one per sweep and policy)",
        arms.len()
    );
    let comparison = compare::compare(&arms, resamples, seed);
    let text = match format {
        ReportFormat::Table => shown(&compare::render_table(&comparison)),
        ReportFormat::Md => shown(&compare::render_markdown(&comparison)),
        ReportFormat::Json => compare::render_json(&comparison),
        ReportFormat::Csv => compare::render_csv(&comparison),
        ReportFormat::Html => {
            anyhow::bail!(
                "--format html is for sweep report; compare writes table, md, json or csv"
            )
        }
    };
    print_text(&text);
    Ok(ExitCode::SUCCESS)
}

pub async fn fetch_report(
    client: &mut client::Client,
    sweep_id: &str,
) -> Result<randori_report::SweepReport> {
    let r = client
        .get_sweep_report(pb::GetSweepReportRequest {
            sweep_id: sweep_id.to_owned(),
        })
        .await
        .map_err(client::status_error)
        .with_context(|| format!("the report of sweep {sweep_id}"))?
        .into_inner();
    serde_json::from_str(&r.report_json).context("reading the coordinator's report")
}

/// Prints a rendered view. The text views may quote untrusted text (plans, analyses): their
/// callers pass them through `shown`; JSON, CSV, DOT and HTML stay exact.
fn print_text(text: &str) {
    if text.ends_with('\n') {
        print!("{text}");
    } else {
        println!("{text}");
    }
}

fn tree_view(run: pb::GetRunResponse) -> TreeView {
    let some = |s: String| (!s.is_empty()).then_some(s);
    TreeView {
        run_id: run.run_id,
        task: run.task_id,
        policy: run.policy,
        seed: run.seed,
        state: run.state,
        selected: some(run.selected_node),
        oracle: some(run.oracle_node),
        lower_is_better: run.lower_is_better,
        nodes: run
            .nodes
            .into_iter()
            .map(|n| TreeNode {
                id: n.node_id,
                step: n.step,
                operator: n.operator,
                parent_ids: n.parent_ids,
                status: n.status,
                val_score: n.val_score,
                test_score: n.test_score,
                medal: n.medal,
                plan: n.plan,
            })
            .collect(),
    }
}
