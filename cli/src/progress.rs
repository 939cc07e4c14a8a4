//! Live progress of a sweep, for `sweep watch` and `randori run`: on a terminal, bars redrawn
//! in place; otherwise (CI, pipes, logs) one plain line every few seconds and when the state
//! changes. The figures are pure functions of two statuses, tested below.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use randori_proto::v1 as pb;

use crate::client::Client;

const POLL: Duration = Duration::from_millis(700);
const PLAIN_EVERY: Duration = Duration::from_secs(10);
/// How long the coordinator may be unreachable before watching gives up.
const UNAVAILABLE_FOR: Duration = Duration::from_secs(60);

pub struct WatchOptions {
    /// No output at all (the caller prints JSON).
    pub quiet: bool,
}

/// Polls the sweep until it is completed or cancelled, or paused by randori for a settings
/// error (`blocked`), showing progress on stderr; returns the last status.
pub async fn watch(
    client: &mut Client,
    sweep_id: &str,
    opts: WatchOptions,
) -> Result<pb::SweepStatus> {
    let terminal = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut first: Option<Progress> = None;
    let mut last_plain: Option<(Instant, String)> = None;
    let mut unavailable_since: Option<Instant> = None;
    loop {
        let status = match client
            .get_sweep_status(pb::GetSweepStatusRequest {
                sweep_id: sweep_id.to_owned(),
                summary_only: true,
            })
            .await
        {
            Ok(s) => {
                unavailable_since = None;
                s.into_inner()
            }
            Err(s) if crate::client::is_transient(&s) => {
                if unavailable_since.is_none() && !opts.quiet {
                    eprintln!(
                        "the coordinator is unavailable ({}); retrying for up to {UNAVAILABLE_FOR:?}",
                        s.message()
                    );
                }
                let since = *unavailable_since.get_or_insert_with(Instant::now);
                if since.elapsed() > UNAVAILABLE_FOR {
                    bail!(
                        "lost the coordinator for {UNAVAILABLE_FOR:?}: {}",
                        s.message()
                    );
                }
                tokio::time::sleep(POLL * 2).await;
                continue;
            }
            Err(s) => return Err(crate::client::status_error(s)),
        };
        let now = Progress::of(&status);
        let base = *first.get_or_insert(now);
        let ended = matches!(status.state.as_str(), "completed" | "cancelled")
            || (status.state == "paused" && !status.blocked.is_empty());
        if !opts.quiet {
            let line = render(&status, &now, eta(&base, &now, started.elapsed()));
            if terminal {
                eprint!("\r\x1b[2K{line}");
                if ended {
                    eprintln!();
                }
            } else {
                let state_changed = last_plain
                    .as_ref()
                    .is_none_or(|(_, l)| l.split(' ').next() != line.split(' ').next());
                let due = last_plain
                    .as_ref()
                    .is_none_or(|(t, _)| t.elapsed() >= PLAIN_EVERY);
                if due || state_changed || ended {
                    eprintln!("{line}");
                    last_plain = Some((Instant::now(), line));
                }
            }
            let _ = std::io::stderr().flush();
        }
        if ended {
            return Ok(status);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The counts progress is measured in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub runs_ended: u32,
    pub runs_total: u32,
    pub nodes_evaluated: u32,
    /// Evaluated plus still to evaluate: the nodes that exist and the budget left.
    pub nodes_expected: u32,
}

impl Progress {
    pub fn of(s: &pb::SweepStatus) -> Self {
        let r = s.runs.unwrap_or_default();
        let n = s.nodes.unwrap_or_default();
        Self {
            runs_ended: r.completed + r.failed + r.cancelled,
            runs_total: r.total,
            nodes_evaluated: n.ok + n.buggy,
            nodes_expected: n.total + s.nodes_budget_left,
        }
    }
}

/// Time left at the node rate seen since watching began; None until a node was evaluated.
pub fn eta(start: &Progress, now: &Progress, elapsed: Duration) -> Option<Duration> {
    let done = now.nodes_evaluated.saturating_sub(start.nodes_evaluated);
    if done == 0 || elapsed.is_zero() {
        return None;
    }
    let left = now.nodes_expected.saturating_sub(now.nodes_evaluated);
    Some(elapsed.mul_f64(f64::from(left) / f64::from(done)))
}

fn bar(done: u32, total: u32, width: usize) -> String {
    let filled = if total == 0 {
        0
    } else {
        (width as u64 * u64::from(done.min(total)) / u64::from(total)) as usize
    };
    format!("[{}{}]", "#".repeat(filled), "-".repeat(width - filled))
}

fn render(s: &pb::SweepStatus, p: &Progress, eta: Option<Duration>) -> String {
    let m = s.medals.unwrap_or_default();
    let j = s.jobs.unwrap_or_default();
    // Ended is not succeeded: failed runs are named, so a sweep of failures does not read as done.
    let failed = match s.runs.unwrap_or_default().failed {
        0 => String::new(),
        n => format!(" ({n} failed)"),
    };
    let eta = match eta {
        Some(d) => humantime::format_duration(Duration::from_secs(d.as_secs())).to_string(),
        None => "-".to_owned(),
    };
    let waiting = match s.runs.unwrap_or_default().waiting_for_llm {
        0 => String::new(),
        n => format!(
            "  waiting for LLM ({n} runs): {}",
            crate::terminal::shown(&s.waiting_for_llm)
        ),
    };
    format!(
        "{} runs {} {}/{}{failed}  nodes {} {}/{}  medals {}g {}s {}b  jobs {} queued {} running  ETA {eta}{waiting}",
        s.state,
        bar(p.runs_ended, p.runs_total, 20),
        p.runs_ended,
        p.runs_total,
        bar(p.nodes_evaluated, p.nodes_expected, 20),
        p.nodes_evaluated,
        p.nodes_expected,
        m.gold,
        m.silver,
        m.bronze,
        j.queued,
        j.leased,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(evaluated: u32, expected: u32) -> Progress {
        Progress {
            runs_ended: 0,
            runs_total: 4,
            nodes_evaluated: evaluated,
            nodes_expected: expected,
        }
    }

    #[test]
    fn eta_extrapolates_the_node_rate_since_watching_began() {
        let start = progress(10, 100);
        assert_eq!(
            eta(&start, &progress(10, 100), Duration::from_secs(30)),
            None
        );
        // 20 nodes in 40 s, 70 left: 140 s.
        let now = progress(30, 100);
        assert_eq!(
            eta(&start, &now, Duration::from_secs(40)),
            Some(Duration::from_secs(140))
        );
        assert_eq!(
            eta(&start, &progress(100, 100), Duration::from_secs(9)),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn progress_counts_ended_runs_and_the_node_budget() {
        let s = pb::SweepStatus {
            runs: Some(pb::RunCounts {
                total: 5,
                completed: 2,
                failed: 1,
                running: 2,
                ..Default::default()
            }),
            nodes: Some(pb::NodeCounts {
                total: 12,
                ok: 7,
                buggy: 3,
                pending: 2,
            }),
            nodes_budget_left: 8,
            ..Default::default()
        };
        let p = Progress::of(&s);
        assert_eq!(
            (
                p.runs_ended,
                p.runs_total,
                p.nodes_evaluated,
                p.nodes_expected
            ),
            (3, 5, 10, 20)
        );
        assert_eq!(bar(5, 20, 10), "[##--------]");
        assert_eq!(bar(3, 0, 4), "[----]");
        assert!(render(&s, &p, None).contains("3/5 (1 failed)"));
    }
}
