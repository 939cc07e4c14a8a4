//! A run's tree in each rendering, including hostile and malformed input.

use randori_report::tree::{
    TreeNode, TreeView, render_dot, render_html, render_json, render_svg, render_text,
};

fn node(id: &str, step: u32, operator: &str, parents: &[&str], status: &str) -> TreeNode {
    TreeNode {
        id: id.to_owned(),
        step,
        operator: operator.to_owned(),
        parent_ids: parents.iter().map(|p| (*p).to_owned()).collect(),
        status: status.to_owned(),
        val_score: None,
        test_score: None,
        medal: "none".to_owned(),
        plan: String::new(),
    }
}

fn scored(mut node: TreeNode, val: f64) -> TreeNode {
    node.val_score = Some(val);
    node
}

/// Two drafts; the second was buggy and debugged; a crossover of both branches was
/// selected and won gold. Nodes are given out of step order.
fn view() -> TreeView {
    let mut crossover = scored(node("n4", 4, "crossover", &["n2", "n3"], "ok"), 0.9);
    crossover.medal = "gold".to_owned();
    crossover.plan = "<script>alert('x')</script> & merge".to_owned();
    TreeView {
        run_id: "run-1".to_owned(),
        task: "iris".to_owned(),
        policy: "evolutionary".to_owned(),
        seed: 7,
        state: "completed".to_owned(),
        selected: Some("n4".to_owned()),
        oracle: Some("n2".to_owned()),
        lower_is_better: false,
        nodes: vec![
            crossover,
            node("n5", 5, "improve", &["n0"], "pending"),
            scored(node("n3", 3, "debug", &["n1"], "ok"), 0.82),
            scored(node("n0", 0, "draft", &[], "ok"), 0.8),
            node("n1", 1, "draft", &[], "buggy"),
            scored(node("n2", 2, "improve", &["n0"], "ok"), 0.85),
        ],
    }
}

#[test]
fn text_draws_the_tree_under_first_parents_in_step_order() {
    assert_eq!(
        render_text(&view()),
        "run run-1: task=iris policy=evolutionary seed=7 state=completed (higher is better)\n\
         #0 draft ok val=0.8000\n\
         ├── #2 improve ok val=0.8500 oracle\n\
         │   └── #4 crossover ok val=0.9000 gold * selected (× #3)\n\
         └── #5 improve pending val=-\n\
         #1 draft buggy val=-\n\
         └── #3 debug ok val=0.8200\n"
    );
}

#[test]
fn dot_has_both_crossover_edges_and_is_balanced() {
    let dot = render_dot(&view());
    assert!(dot.starts_with("digraph \"run run-1\" {\n"), "{dot}");
    assert!(dot.contains("  \"n2\" -> \"n4\";\n"), "{dot}");
    assert!(dot.contains("  \"n3\" -> \"n4\";\n"), "{dot}");
    assert_eq!(
        dot.matches("->").count(),
        5,
        "one edge per known parent:\n{dot}"
    );
    assert_eq!(dot.matches('{').count(), dot.matches('}').count());
    let selected = dot.lines().find(|l| l.starts_with("  \"n4\" [")).unwrap();
    assert!(
        selected.contains("peripheries=2") && selected.contains("bold"),
        "{selected}"
    );
    assert!(
        selected.contains("label=\"#4 crossover\\nval=0.9000\\ngold\""),
        "{selected}"
    );
    let buggy = dot.lines().find(|l| l.starts_with("  \"n1\" [")).unwrap();
    assert!(buggy.contains("fillcolor=\"#ffcdd2\"") && !buggy.contains("peripheries"));
}

/// Quotes that open or close a DOT string: those not escaped with a backslash.
fn unescaped_quotes(line: &str) -> usize {
    let mut count = 0;
    let mut escaped = false;
    for c in line.chars() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '"') => count += 1,
            _ => {}
        }
    }
    count
}

#[test]
fn dot_escapes_quotes_and_backslashes_in_ids_and_labels() {
    let mut view = view();
    view.nodes[3].id = "a\"b\\".to_owned();
    view.nodes[3].operator = "dr\"aft\nx".to_owned();
    view.nodes[2].parent_ids = vec!["a\"b\\".to_owned()];
    let dot = render_dot(&view);
    assert!(
        dot.contains("  \"a\\\"b\\\\\" [label=\"#0 dr\\\"aft\\nx\\nval=0.8000\""),
        "{dot}"
    );
    assert!(dot.contains("  \"a\\\"b\\\\\" -> \"n3\";\n"), "{dot}");
    for line in dot.lines() {
        assert_eq!(unescaped_quotes(line) % 2, 0, "{line}");
    }
}

#[test]
fn html_escapes_every_text_and_nests_the_tree() {
    let mut view = view();
    view.task = "<b>iris</b>".to_owned();
    view.nodes[1].operator = "<img src=x onerror=alert(1)>".to_owned();
    let html = render_html(&view);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<b>") && !html.contains("<img"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; merge"));
    assert!(html.contains("task=&lt;b&gt;iris&lt;/b&gt;"));
    assert!(html.contains("Selected: #4. Oracle: #2."), "{html}");
    assert!(html.contains("#4 crossover ok val=0.9000 gold * selected (× #3)"));
    assert_eq!(html.matches("<li>").count(), 6);
    assert_eq!(html.matches("<details>").count(), 6);
    // Balanced nesting: the roots' list plus one list per node with children (n0, n1, n2).
    assert_eq!(html.matches("<ul").count(), 4);
    assert_eq!(html.matches("</ul>").count(), 4);
    assert_eq!(html.matches("</li>").count(), 6);
    assert!(html.ends_with("</html>\n"));
}

#[test]
fn json_round_trips() {
    let view = view();
    assert_eq!(
        serde_json::from_str::<TreeView>(&render_json(&view)).unwrap(),
        view
    );
}

#[test]
fn unknown_parents_make_roots_and_parents_may_come_after_children() {
    let view = TreeView {
        nodes: vec![
            node("child", 0, "improve", &["late-parent"], "ok"),
            node("orphan", 1, "debug", &["missing"], "buggy"),
            node("late-parent", 2, "draft", &[], "ok"),
            node("cross", 3, "crossover", &["missing", "child"], "pending"),
        ],
        selected: Some("missing".to_owned()),
        ..view()
    };
    let text = render_text(&view);
    assert_eq!(
        text.lines().skip(1).collect::<Vec<_>>(),
        [
            "#1 debug buggy val=-",
            "#2 draft ok val=-",
            "└── #0 improve ok val=-",
            "#3 crossover pending val=- (× #0)",
        ]
    );
    assert_eq!(render_dot(&view).matches("->").count(), 2);
    assert_eq!(render_html(&view).matches("<li>").count(), 4);
    assert!(render_html(&view).contains("Selected: missing."));
}

#[test]
fn parent_cycles_and_duplicate_ids_still_draw_every_node_once() {
    let view = TreeView {
        nodes: vec![
            node("a", 0, "improve", &["b"], "ok"),
            node("b", 1, "improve", &["a"], "ok"),
            node("self", 2, "debug", &["self"], "buggy"),
            node("a", 3, "draft", &[], "ok"),
        ],
        ..view()
    };
    let text = render_text(&view);
    assert_eq!(
        text.lines().skip(1).collect::<Vec<_>>(),
        [
            "#2 debug buggy val=-",
            "#3 draft ok val=-",
            "#0 improve ok val=-",
            "└── #1 improve ok val=-",
        ]
    );
    assert_eq!(render_html(&view).matches("<li>").count(), 4);
}

#[test]
fn svg_draws_every_node_once_as_a_link_with_status_and_marks() {
    let mut view = view();
    view.nodes[1].id = "n5\"><script>alert(1)</script>".to_owned();
    let svg = render_svg(&view, |n| format!("/nodes/{}", n.id));
    assert_eq!(svg.matches("<g class=\"node ").count(), 6, "{svg}");
    assert_eq!(svg.matches("<a href=").count(), 6);
    assert!(!svg.contains("<script>"), "{svg}");
    assert!(svg.contains("&lt;script&gt;"));
    assert!(
        svg.contains("class=\"node ok selected\" data-node=\"n4\""),
        "{svg}"
    );
    assert!(
        svg.contains("class=\"node ok oracle\" data-node=\"n2\""),
        "{svg}"
    );
    assert!(
        svg.contains("class=\"node buggy\" data-node=\"n1\""),
        "{svg}"
    );
    // Four first-parent elbows (n2, n3, n4, n5) and the crossover's second parent, dashed.
    assert_eq!(svg.matches("class=\"edge\"").count(), 4, "{svg}");
    assert_eq!(svg.matches("class=\"edge cross\"").count(), 1);
    // The best validation score is the darkest green, the worst ok node the lightest.
    let fill = |id: &str| {
        let at = svg.find(&format!("data-node=\"{id}\"")).unwrap();
        let rest = &svg[at..];
        let f = rest.find("fill=\"").unwrap() + 6;
        rest[f..f + 7].to_owned()
    };
    assert_eq!(fill("n4"), "#2e7d32");
    assert_eq!(fill("n0"), "#c8e6c9");
    assert_eq!(fill("n1"), "#ffcdd2");
}
