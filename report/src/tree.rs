//! One run's search tree for `randori tree`: text like `tree`, Graphviz, JSON and HTML.
//!
//! Every node is drawn once, under its first parent; other parents (crossover) are named on
//! the node's line and drawn as edges in Graphviz. Nodes whose first parent is unknown become
//! roots, and so does the earliest node of any parent cycle, so bad input never loops.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::display::{self, has_medal};
use crate::html::escaped;

/// A run and the nodes of its tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeView {
    pub run_id: String,
    pub task: String,
    pub policy: String,
    pub seed: u64,
    pub state: String,
    /// Id of the run's final pick.
    pub selected: Option<String>,
    /// Id of the node with the best test score.
    pub oracle: Option<String>,
    pub lower_is_better: bool,
    pub nodes: Vec<TreeNode>,
}

/// One node of a run's tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TreeNode {
    pub id: String,
    pub step: u32,
    /// "draft" | "improve" | "debug" | "crossover".
    pub operator: String,
    /// Empty for drafts, two for crossovers.
    pub parent_ids: Vec<String>,
    /// "pending" | "ok" | "buggy".
    pub status: String,
    pub val_score: Option<f64>,
    pub test_score: Option<f64>,
    pub medal: String,
    pub plan: String,
}

/// The drawing order: a forest over node indices in which every node appears exactly once.
struct Layout<'a> {
    view: &'a TreeView,
    by_id: HashMap<&'a str, usize>,
    roots: Vec<usize>,
    children: Vec<Vec<usize>>,
}

impl<'a> Layout<'a> {
    fn of(view: &'a TreeView) -> Self {
        let nodes = &view.nodes;
        let mut in_step_order: Vec<usize> = (0..nodes.len()).collect();
        in_step_order.sort_by_key(|&i| (nodes[i].step, i));
        let mut by_id = HashMap::new();
        for &i in &in_step_order {
            by_id.entry(nodes[i].id.as_str()).or_insert(i);
        }
        let mut under_first_parent = vec![Vec::new(); nodes.len()];
        let mut roots = Vec::new();
        for &i in &in_step_order {
            let first_parent = nodes[i]
                .parent_ids
                .first()
                .and_then(|p| by_id.get(p.as_str()).copied());
            match first_parent {
                Some(p) if p != i => under_first_parent[p].push(i),
                _ => roots.push(i),
            }
        }
        // Walk from the true roots first; whatever stays unreached sits on a parent cycle,
        // and its earliest node is promoted to a root. `reached` ends every walk.
        let mut layout = Self {
            view,
            by_id,
            roots: Vec::new(),
            children: vec![Vec::new(); nodes.len()],
        };
        let mut reached = vec![false; nodes.len()];
        for start in roots.into_iter().chain(in_step_order) {
            if reached[start] {
                continue;
            }
            reached[start] = true;
            layout.roots.push(start);
            let mut to_visit = vec![start];
            while let Some(parent) = to_visit.pop() {
                for &child in &under_first_parent[parent] {
                    if !reached[child] {
                        reached[child] = true;
                        layout.children[parent].push(child);
                        to_visit.push(child);
                    }
                }
            }
        }
        layout
    }

    /// `#step` for a known node id, the raw id otherwise.
    fn reference(&self, id: &str) -> String {
        self.by_id.get(id).map_or_else(
            || id.to_owned(),
            |&i| format!("#{}", self.view.nodes[i].step),
        )
    }

    /// The facts of one node on one line (text and HTML share it).
    fn line(&self, i: usize) -> String {
        let node = &self.view.nodes[i];
        let mut line = format!(
            "#{} {} {} val={}",
            node.step,
            node.operator,
            node.status,
            display::score(node.val_score)
        );
        if has_medal(&node.medal) {
            line += &format!(" {}", node.medal);
        }
        if self.view.selected.as_deref() == Some(node.id.as_str()) {
            line += " * selected";
        }
        if self.view.oracle.as_deref() == Some(node.id.as_str()) {
            line += " oracle";
        }
        let other_parents: Vec<String> = node
            .parent_ids
            .iter()
            .skip(1)
            .map(|p| self.reference(p))
            .collect();
        if !other_parents.is_empty() {
            line += &format!(" (× {})", other_parents.join(", "));
        }
        line
    }
}

fn headline(t: &TreeView) -> String {
    let direction = if t.lower_is_better {
        "lower is better"
    } else {
        "higher is better"
    };
    format!(
        "run {}: task={} policy={} seed={} state={} ({direction})",
        t.run_id, t.task, t.policy, t.seed, t.state
    )
}

/// Fill colour of a node by status; unknown statuses read as pending.
fn status_colour(status: &str) -> &'static str {
    match status {
        "ok" => "#c8e6c9",
        "buggy" => "#ffcdd2",
        _ => "#e0e0e0",
    }
}

/// A headline, then the tree drawn with `├──`, `└──` and `│` as `tree` draws it.
pub fn render_text(t: &TreeView) -> String {
    let layout = Layout::of(t);
    let mut out = headline(t) + "\n";
    // Each entry: the node, the prefix of its own line, the prefix its children continue.
    let mut to_draw: Vec<(usize, String, String)> = layout
        .roots
        .iter()
        .rev()
        .map(|&root| (root, String::new(), String::new()))
        .collect();
    while let Some((i, own_prefix, child_prefix)) = to_draw.pop() {
        out += &format!("{own_prefix}{}\n", layout.line(i));
        let children = &layout.children[i];
        for (k, &child) in children.iter().enumerate().rev() {
            let (branch, continuation) = if k + 1 == children.len() {
                ("└── ", "    ")
            } else {
                ("├── ", "│   ")
            };
            to_draw.push((
                child,
                format!("{child_prefix}{branch}"),
                format!("{child_prefix}{continuation}"),
            ));
        }
    }
    out
}

/// A DOT quoted string: backslashes, quotes and line breaks escaped.
fn dot_quoted(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace("\r\n", "\\n")
        .replace(['\r', '\n'], "\\n");
    format!("\"{escaped}\"")
}

/// A Graphviz digraph: nodes filled by status, the selected node with a bold double border,
/// an edge from every known parent (a crossover has two).
pub fn render_dot(t: &TreeView) -> String {
    let mut out = format!(
        "digraph {} {{\n  node [shape=box, style=filled, fontname=\"Helvetica\"];\n",
        dot_quoted(&format!("run {}", t.run_id))
    );
    let by_id = Layout::of(t).by_id;
    for node in &t.nodes {
        let mut label = format!(
            "#{} {}\nval={}",
            node.step,
            node.operator,
            display::score(node.val_score)
        );
        if has_medal(&node.medal) {
            label += &format!("\n{}", node.medal);
        }
        if t.oracle.as_deref() == Some(node.id.as_str()) {
            label += "\noracle";
        }
        let border = if t.selected.as_deref() == Some(node.id.as_str()) {
            ", style=\"filled,bold\", penwidth=2, peripheries=2"
        } else {
            ""
        };
        out += &format!(
            "  {} [label={}, fillcolor=\"{}\"{border}];\n",
            dot_quoted(&node.id),
            dot_quoted(&label),
            status_colour(&node.status)
        );
    }
    for node in &t.nodes {
        for parent in node
            .parent_ids
            .iter()
            .filter(|p| by_id.contains_key(p.as_str()))
        {
            out += &format!("  {} -> {};\n", dot_quoted(parent), dot_quoted(&node.id));
        }
    }
    out + "}\n"
}

/// The view as pretty JSON.
pub fn render_json(t: &TreeView) -> String {
    serde_json::to_string_pretty(t).expect("plain structs always serialize")
}

const HTML_STYLE: &str = "body{font-family:sans-serif;margin:2em}\
ul.tree,ul.tree ul{list-style:none;padding-left:1.5em;border-left:1px solid #bbb}\
ul.tree{border-left:none;padding-left:0}\
li{margin:.3em 0}\
.node{font-family:monospace;padding:.1em .4em;border-radius:3px}\
.selected{font-weight:bold;outline:2px solid #333}\
details{margin-left:1em}\
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}";

/// One self-contained page: a summary and the tree as nested lists, each node's plan folded
/// in a `<details>`. All text from the view is escaped.
pub fn render_html(t: &TreeView) -> String {
    let layout = Layout::of(t);
    let count = |status: &str| t.nodes.iter().filter(|n| n.status == status).count();
    let pick = |id: &Option<String>| {
        id.as_deref()
            .map_or_else(|| "none".to_owned(), |id| layout.reference(id))
    };
    let summary = format!(
        "{}. {} nodes: {} ok, {} buggy, {} pending. Selected: {}. Oracle: {}.",
        headline(t),
        t.nodes.len(),
        count("ok"),
        count("buggy"),
        count("pending"),
        pick(&t.selected),
        pick(&t.oracle)
    );
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>randori run {}</title>\n<style>{HTML_STYLE}</style>\n</head>\n<body>\n\
         <h1>Run {}</h1>\n<p>{}</p>\n<ul class=\"tree\">\n",
        escaped(&t.run_id),
        escaped(&t.run_id),
        escaped(&summary)
    );
    enum Step {
        Open(usize),
        Close,
    }
    let mut to_write: Vec<Step> = layout.roots.iter().rev().map(|&r| Step::Open(r)).collect();
    while let Some(step) = to_write.pop() {
        let i = match step {
            Step::Close => {
                out += "</ul>\n</li>\n";
                continue;
            }
            Step::Open(i) => i,
        };
        let node = &t.nodes[i];
        let selected = if t.selected.as_deref() == Some(node.id.as_str()) {
            " selected"
        } else {
            ""
        };
        out += &format!(
            "<li><span class=\"node{selected}\" style=\"background:{}\">{}</span>\n\
             <details><summary>plan</summary><pre>{}</pre></details>\n",
            status_colour(&node.status),
            escaped(&layout.line(i)),
            escaped(&node.plan)
        );
        let children = &layout.children[i];
        if children.is_empty() {
            out += "</li>\n";
        } else {
            out += "<ul>\n";
            to_write.push(Step::Close);
            to_write.extend(children.iter().rev().map(|&c| Step::Open(c)));
        }
    }
    out + "</ul>\n</body>\n</html>\n"
}

/// Row height and indent of the SVG drawing, in pixels.
const SVG_ROW: usize = 26;
const SVG_INDENT: usize = 28;

/// The fill of a node: grey while pending, red when buggy, and for ok nodes a green that
/// darkens with the validation score's rank among the run's scored nodes (best darkest).
fn score_fill(t: &TreeView, i: usize) -> String {
    let node = &t.nodes[i];
    let Some(score) = node.val_score.filter(|_| node.status == "ok") else {
        return status_colour(&node.status).to_owned();
    };
    let mut scores: Vec<f64> = t
        .nodes
        .iter()
        .filter(|n| n.status == "ok")
        .filter_map(|n| n.val_score)
        .collect();
    scores.sort_by(f64::total_cmp);
    if t.lower_is_better {
        scores.reverse();
    }
    let rank = scores.iter().position(|&s| s == score).unwrap_or(0);
    let t = if scores.len() > 1 {
        rank as f64 / (scores.len() - 1) as f64
    } else {
        1.0
    };
    // From #c8e6c9 (worst) to #2e7d32 (best).
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(0xc8, 0x2e),
        mix(0xe6, 0x7d),
        mix(0xc9, 0x32)
    )
}

/// The tree as an SVG drawing: one row per node in drawing order, indented by depth, elbow
/// edges to the first parent and dashed ones to a crossover's other parents. Each node is a
/// link (`href` gives its target) holding a `<g class="node ...">` with its status as a
/// class, `selected` and `oracle` marked by ring and badge. All text is escaped.
pub fn render_svg(t: &TreeView, href: impl Fn(&TreeNode) -> String) -> String {
    let layout = Layout::of(t);
    // Preorder rows and depths.
    let mut row = vec![0usize; t.nodes.len()];
    let mut depth = vec![0usize; t.nodes.len()];
    let mut order = Vec::with_capacity(t.nodes.len());
    let mut to_visit: Vec<(usize, usize)> = layout.roots.iter().rev().map(|&r| (r, 0)).collect();
    while let Some((i, d)) = to_visit.pop() {
        row[i] = order.len();
        depth[i] = d;
        order.push(i);
        to_visit.extend(layout.children[i].iter().rev().map(|&c| (c, d + 1)));
    }
    let at = |i: usize| (20 + depth[i] * SVG_INDENT, 16 + row[i] * SVG_ROW);
    let max_depth = depth.iter().copied().max().unwrap_or(0);
    let width = 20 + max_depth * SVG_INDENT + 520;
    let height = 16 + order.len().max(1) * SVG_ROW;
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"tree\" width=\"{width}\" \
         height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-label=\"search tree of run {}\">\n",
        escaped(&t.run_id)
    );
    for &i in &order {
        let (x, y) = at(i);
        for (k, parent) in t.nodes[i].parent_ids.iter().enumerate() {
            let Some(&p) = layout.by_id.get(parent.as_str()) else {
                continue;
            };
            let (px, py) = at(p);
            if k == 0 && layout.children[p].contains(&i) {
                out += &format!(
                    "<path class=\"edge\" d=\"M{px} {py} V{y} H{x}\" fill=\"none\" stroke=\"#9e9e9e\"/>\n"
                );
            } else {
                out += &format!(
                    "<path class=\"edge cross\" d=\"M{px} {py} L{x} {y}\" fill=\"none\" \
                     stroke=\"#7b1fa2\" stroke-dasharray=\"4 3\"/>\n"
                );
            }
        }
    }
    for &i in &order {
        let node = &t.nodes[i];
        let (x, y) = at(i);
        let selected = t.selected.as_deref() == Some(node.id.as_str());
        let oracle = t.oracle.as_deref() == Some(node.id.as_str());
        let mut class = format!("node {}", escaped(&node.status));
        if selected {
            class += " selected";
        }
        if oracle {
            class += " oracle";
        }
        let (stroke, stroke_width) = if selected {
            ("#0d47a1", 3)
        } else {
            ("#424242", 1)
        };
        out += &format!(
            "<a href=\"{}\"><g class=\"{class}\" data-node=\"{}\">\
             <title>{}</title>\
             <circle cx=\"{x}\" cy=\"{y}\" r=\"8\" fill=\"{}\" stroke=\"{stroke}\" \
             stroke-width=\"{stroke_width}\"/>",
            escaped(&href(node)),
            escaped(&node.id),
            escaped(&layout.line(i)),
            score_fill(t, i)
        );
        if oracle {
            out += &format!(
                "<text x=\"{}\" y=\"{}\" class=\"badge\" fill=\"#f9a825\">★</text>",
                x + 5,
                y - 5
            );
        }
        out += &format!(
            "<text x=\"{}\" y=\"{}\" font-size=\"12\" font-family=\"monospace\">{}</text></g></a>\n",
            x + 14,
            y + 4,
            escaped(&layout.line(i))
        );
    }
    out + "</svg>\n"
}
