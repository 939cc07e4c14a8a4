//! A sweep's figures on the client: its runs' nodes read through `ExportNodes`, the numbers
//! computed and drawn by `randori-report` (`sweep plot`, `sweep report --format html`).

use std::path::Path;

use anyhow::{Context, Result};
use randori_proto::v1 as pb;
use randori_report::figures::{self, NodeRow, RunNodes};
use randori_report::plots::{self, Figure};

use crate::client::{self, Client};

/// Every run of the sweep with its evaluated nodes and each node's working time.
pub async fn run_nodes(c: &mut Client, sweep_id: &str) -> Result<Vec<RunNodes>> {
    let mut stream = c
        .export_nodes(pb::SweepRequest {
            sweep_id: sweep_id.to_owned(),
        })
        .await
        .map_err(client::status_error)
        .with_context(|| format!("the nodes of sweep {sweep_id}"))?
        .into_inner();
    let mut rows = Vec::new();
    while let Some(batch) = stream.message().await.map_err(client::status_error)? {
        rows.extend(batch.nodes.into_iter().map(row_of));
    }
    Ok(figures::runs_of(&rows))
}

/// Seconds since the epoch of an RFC 3339 time; `None` for an empty one.
fn seconds(time: &str) -> Option<f64> {
    let t = chrono::DateTime::parse_from_rfc3339(time).ok()?;
    Some(t.timestamp_micros() as f64 / 1e6)
}

fn row_of(n: pb::ExportedNode) -> NodeRow {
    NodeRow {
        leased_at: seconds(&n.leased_at),
        finished_at: seconds(&n.finished_at),
        run_id: n.run_id,
        task: n.task_id,
        policy: n.policy,
        seed: n.seed,
        step: n.step,
        status: n.status,
        val: n.val_score,
        test: n.test_score,
        medal: n.medal,
        lower_is_better: n.lower_is_better,
        llm_seconds: n.llm_seconds,
    }
}

/// The report of the sweep, its figures, and the generalization gap per task × policy.
pub async fn figures_of(
    c: &mut Client,
    sweep_id: &str,
) -> Result<(
    randori_report::SweepReport,
    Vec<Figure>,
    Vec<figures::GapRow>,
)> {
    let report = super::views::fetch_report(c, sweep_id).await?;
    let runs = run_nodes(c, sweep_id).await?;
    let drawn = plots::sweep_figures(&report, &runs);
    Ok((report, drawn, figures::generalization_gap(&runs)))
}

/// `sweep plot ID --out DIR`: each figure as `DIR/<name>.svg`; returns what was written.
pub async fn plot(c: &mut Client, sweep_id: &str, dir: &Path) -> Result<String> {
    let (_, drawn, _) = figures_of(c, sweep_id).await?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = String::new();
    for f in &drawn {
        let path = dir.join(format!("{}.svg", f.name));
        std::fs::write(&path, &f.svg).with_context(|| format!("writing {}", path.display()))?;
        written += &format!("{}  {}\n", path.display(), f.title);
    }
    Ok(written)
}
