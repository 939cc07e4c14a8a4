//! What an operator's prompt remembers of the search so far, by scheme (AIRA-dojo's memory
//! operators):
//!
//! - `simple`: every ok node, in creation order, with its full plan, the analysis summary and
//!   its validation score.
//! - `sibling`: the plans of the nodes made from the same parent (for a Draft: the drafts so
//!   far), failed ones included, so that a new child tries something else.
//! - `ancestral`: for Debug, the failed attempts from the buggy parent back to the last ok
//!   node, oldest first, each with its plan and the analysis that proposed a fix.
//! - `none`.
//!
//! Only validation scores appear: a test score never reaches a prompt. Pure.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemoryScheme {
    Simple,
    Sibling,
    Ancestral,
    None,
}

/// One node of the run as memory sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct MemoryNode {
    pub step: u32,
    /// Made by Debug: its plan is a fix, not a design.
    pub is_fix: bool,
    pub plan: String,
    /// The analyze step's summary ("" before it ran).
    pub summary: String,
    pub state: MemoryState,
    /// The validation score; present for ok nodes only.
    pub val_score: Option<f64>,
    /// The first parent's step (None for a Draft).
    pub parent: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryState {
    Pending,
    Ok,
    Buggy,
}

/// What a prompt says when memory holds nothing.
pub const EMPTY_MEMORY: &str = "Nothing yet.";

/// The memory text for a node made from `parent` (a step of `nodes`; None for a Draft).
/// `nodes` are the run's nodes in step order.
pub fn render_memory(scheme: MemoryScheme, nodes: &[MemoryNode], parent: Option<u32>) -> String {
    let entries: Vec<String> = match scheme {
        MemoryScheme::None => Vec::new(),
        MemoryScheme::Simple => nodes
            .iter()
            .filter(|n| n.state == MemoryState::Ok)
            .map(|n| entry(n, true))
            .collect(),
        MemoryScheme::Sibling => nodes
            .iter()
            .filter(|n| n.parent == parent && !n.plan.trim().is_empty())
            .map(|n| entry(n, false))
            .collect(),
        MemoryScheme::Ancestral => {
            let mut chain = Vec::new();
            let mut at = parent.and_then(|p| nodes.get(p as usize));
            while let Some(n) = at.filter(|n| n.state == MemoryState::Buggy) {
                chain.push(entry(n, true));
                at = n.parent.and_then(|p| nodes.get(p as usize));
            }
            chain.reverse();
            chain
        }
    };
    if entries.is_empty() {
        EMPTY_MEMORY.to_owned()
    } else {
        entries.join("\n\n---\n\n")
    }
}

/// One node's entry: its plan, and with `results` the analysis and the score.
fn entry(n: &MemoryNode, results: bool) -> String {
    let outcome = match (n.state, n.val_score) {
        (MemoryState::Ok, Some(v)) => format!("validation score {v}"),
        (MemoryState::Ok, None) | (MemoryState::Buggy, _) => "failed".to_owned(),
        (MemoryState::Pending, _) => "still running".to_owned(),
    };
    let label = if n.is_fix { "Fix" } else { "Design" };
    let mut text = format!("Node {} ({outcome})\n{label}: {}", n.step, n.plan.trim());
    if results && !n.summary.trim().is_empty() {
        text.push_str(&format!("\nAnalysis: {}", n.summary.trim()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(step: u32, parent: Option<u32>, state: MemoryState, fix: bool) -> MemoryNode {
        MemoryNode {
            step,
            is_fix: fix,
            plan: format!("plan {step}\nin two lines"),
            summary: format!("summary {step}"),
            state,
            val_score: (state == MemoryState::Ok).then_some(f64::from(step) / 10.0),
            parent,
        }
    }

    /// 0 ok draft, 1 buggy draft, 2 fix of 1 (buggy), 3 fix of 2 (pending), 4 improve of 0 (ok),
    /// 5 improve of 0 (buggy).
    fn run() -> Vec<MemoryNode> {
        use MemoryState::*;
        vec![
            node(0, None, Ok, false),
            node(1, None, Buggy, false),
            node(2, Some(1), Buggy, true),
            node(3, Some(2), Pending, true),
            node(4, Some(0), Ok, false),
            node(5, Some(0), Buggy, false),
        ]
    }

    #[test]
    fn simple_memory_lists_every_ok_node_with_its_full_plan_analysis_and_score() {
        let m = render_memory(MemoryScheme::Simple, &run(), Some(0));
        assert_eq!(
            m,
            "Node 0 (validation score 0)\nDesign: plan 0\nin two lines\nAnalysis: summary 0\
             \n\n---\n\nNode 4 (validation score 0.4)\nDesign: plan 4\nin two lines\nAnalysis: summary 4"
        );
    }

    #[test]
    fn sibling_memory_lists_the_plans_of_the_parents_children_failed_ones_included() {
        let m = render_memory(MemoryScheme::Sibling, &run(), Some(0));
        assert!(m.contains("Node 4 (validation score 0.4)") && m.contains("Node 5 (failed)"));
        assert!(!m.contains("Analysis") && !m.contains("Node 1"), "{m}");
        // A Draft's siblings are the drafts.
        let drafts = render_memory(MemoryScheme::Sibling, &run(), None);
        assert!(drafts.starts_with("Node 0 (") && drafts.contains("Node 1 (failed)"));
        assert!(!drafts.contains("Node 4"), "{drafts}");
    }

    #[test]
    fn ancestral_memory_walks_the_failures_back_to_the_last_ok_node() {
        let m = render_memory(MemoryScheme::Ancestral, &run(), Some(2));
        assert_eq!(
            m,
            "Node 1 (failed)\nDesign: plan 1\nin two lines\nAnalysis: summary 1\
             \n\n---\n\nNode 2 (failed)\nFix: plan 2\nin two lines\nAnalysis: summary 2"
        );
        // A buggy improve child: the walk stops at its ok parent.
        let m = render_memory(MemoryScheme::Ancestral, &run(), Some(5));
        assert!(
            m.starts_with("Node 5 (failed)") && !m.contains("Node 0"),
            "{m}"
        );
    }

    #[test]
    fn no_memory_and_empty_memory_say_so() {
        assert_eq!(
            render_memory(MemoryScheme::None, &run(), Some(0)),
            EMPTY_MEMORY
        );
        assert_eq!(render_memory(MemoryScheme::Simple, &[], None), EMPTY_MEMORY);
        let scheme: MemoryScheme = serde_json::from_str("\"ancestral\"").unwrap();
        assert_eq!(scheme, MemoryScheme::Ancestral);
    }
}
