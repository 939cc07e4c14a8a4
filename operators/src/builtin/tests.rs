//! The operators' contracts, checked on previews of every task kind.

use serde_json::Value;

use super::preview::tests::preview;
use super::preview::{DataPreview, Shape};
use super::render::anchors;
use super::*;

fn previews() -> Vec<DataPreview> {
    let mut image = preview("auc-roc", &["has_loop"], &["has_loop"], &[]);
    image.files.push("images/".into());
    vec![
        preview(
            "auc-roc",
            &["target"],
            &["target"],
            &["f_00", "f_01", "f_16"],
        ),
        preview(
            "multi-class-classification-accuracy",
            &["Cover_Type"],
            &["Cover_Type"],
            &["Elevation", "Soil_Type1"],
        ),
        preview(
            "multi-class-log-loss",
            &["Acer", "Betula", "Tilia"],
            &["species"],
            &["margin1", "shape1"],
        ),
        preview(
            "root-mean-squared-error",
            &["fare_amount"],
            &["fare_amount"],
            &["pickup_latitude", "pickup_longitude"],
        ),
        preview(
            "mean-column-wise-rmsle",
            &["e", "g"],
            &["e", "g"],
            &["x1", "x2"],
        ),
        image,
        preview(
            "multi-class-log-loss",
            &["ORM", "TLD", "VEC"],
            &["author"],
            &["text"],
        ),
        preview(
            "mean-column-wise-roc-auc",
            &["a", "b", "c"],
            &["a", "b", "c"],
            &["comment_text"],
        ),
    ]
}

fn clean() -> Generator {
    Generator::new(GeneratorConfig { broken_rate: 0.0 })
}

fn params(code: &str) -> Params {
    Params::from_code(code).unwrap()
}

/// Every leaf of a JSON value, by pointer.
fn leaves(v: &Value, at: String, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| leaves(x, format!("{at}/{k}"), out)),
        x => out.push((at, x.clone())),
    }
}

fn fields(p: &Params) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    leaves(
        &serde_json::to_value(Params {
            bug: None,
            ..p.clone()
        })
        .unwrap(),
        String::new(),
        &mut out,
    );
    out
}

fn assert_follows_the_contract(code: &str) {
    assert!(code.starts_with("# randori-builtin: {"), "{code}");
    Params::from_code(code).unwrap();
    for needle in [
        "os.environ.get(\"RANDORI_DATA_DIR\", \"/home/data\")",
        "os.environ.get(\"RANDORI_SUBMISSION_DIR\", \"/home/submission\")",
        anchors::WRITE_SUBMISSION,
        "print(f\"randori:metric={cv:.6f}\")",
    ] {
        assert!(code.contains(needle), "missing {needle:?} in\n{code}");
    }
    assert!(
        code.trim_end()
            .ends_with("print(f\"randori:metric={cv:.6f}\")"),
        "the metric line is not last"
    );
    assert!(!code.contains("n_jobs=-1"), "programs run on one core");
}

#[test]
fn draft_is_deterministic_for_a_seed_and_varies_across_seeds() {
    for p in previews() {
        let g = Generator::default();
        assert_eq!(g.draft(&p, 7).unwrap(), g.draft(&p, 7).unwrap());
        let codes: std::collections::HashSet<String> =
            (0..10).map(|s| g.draft(&p, s).unwrap().code).collect();
        assert!(
            codes.len() >= 8,
            "{} distinct drafts of 10 for {}",
            codes.len(),
            p.grader
        );
    }
}

#[test]
fn every_operator_writes_programs_that_follow_the_contract() {
    let g = clean();
    for p in previews() {
        for seed in 0..12 {
            let a = g.draft(&p, seed).unwrap();
            let b = g.draft(&p, seed + 100).unwrap();
            let children = [
                g.improve(&p, &a.code, seed).unwrap(),
                g.crossover(&p, &a.code, &b.code, seed).unwrap(),
                g.debug(
                    &p,
                    &a.code,
                    &Failure {
                        timed_out: true,
                        ..Failure::default()
                    },
                    seed,
                )
                .unwrap(),
            ];
            for prog in std::iter::once(&a).chain(&children) {
                assert_follows_the_contract(&prog.code);
                assert!(
                    !prog.plan.is_empty() && !prog.plan.contains('\n'),
                    "{}",
                    prog.plan
                );
            }
        }
    }
}

#[test]
fn improve_changes_exactly_one_field() {
    for p in previews() {
        for seed in 0..30 {
            let parent = clean().draft(&p, seed).unwrap();
            let child = clean().improve(&p, &parent.code, seed).unwrap();
            let (a, b) = (fields(&params(&parent.code)), fields(&params(&child.code)));
            let changed: Vec<_> = a
                .iter()
                .zip(&b)
                .filter(|(x, y)| x != y)
                .map(|(x, _)| &x.0)
                .collect();
            assert_eq!(a.len(), b.len());
            assert_eq!(
                changed.len(),
                1,
                "{changed:?} for {} seed {seed}: {}",
                p.grader,
                child.plan
            );
            assert!(
                child.plan.starts_with("Improve: change the "),
                "{}",
                child.plan
            );
        }
    }
}

#[test]
fn improve_steps_ordered_fields_to_a_neighbour() {
    let p = &previews()[0];
    for seed in 0..40 {
        let parent = params(&clean().draft(p, seed).unwrap().code);
        let child = params(
            &clean()
                .improve(p, &clean().draft(p, seed).unwrap().code, seed)
                .unwrap()
                .code,
        );
        let ladder = [50, 100, 200, 300];
        let at = |t| ladder.iter().position(|x| *x == t).unwrap();
        assert!(at(parent.model.trees).abs_diff(at(child.model.trees)) <= 1);
    }
}

#[test]
fn crossover_takes_each_field_from_one_parent() {
    for p in previews() {
        let mut mixed = false;
        for seed in 0..20 {
            let a = clean().draft(&p, seed).unwrap();
            let b = clean().draft(&p, seed + 1000).unwrap();
            let child = params(&clean().crossover(&p, &a.code, &b.code, seed).unwrap().code);
            let (fa, fb, fc) = (
                fields(&params(&a.code)),
                fields(&params(&b.code)),
                fields(&child),
            );
            for ((x, y), z) in fa.iter().zip(&fb).zip(&fc) {
                assert!(z == x || z == y, "{z:?} is from neither {x:?} nor {y:?}");
            }
            mixed |= fc != fa && fc != fb;
            assert_eq!(child.seed, params(&a.code).seed);
            assert_eq!(child.bug, None);
        }
        assert!(mixed, "crossover never mixed the parents for {}", p.grader);
    }
}

/// A failure as the sandbox would report the bug's run.
fn symptom(bug: Bug, id: &str) -> Failure {
    let (exit_code, stderr_tail, invalid_reason) = match bug {
        Bug::MissingImport => (1, "NameError: name 'np' is not defined".to_owned(), None),
        Bug::MisspelledColumn => (
            1,
            format!(
                "raise KeyError(key) from err\nKeyError: '{id}{}'",
                id.chars().last().unwrap()
            ),
            None,
        ),
        Bug::AttributeTypo => (
            1,
            "AttributeError: module 'pandas' has no attribute 'read_cvs'".to_owned(),
            None,
        ),
        Bug::WrongSubmissionPath => (
            0,
            String::new(),
            Some("no submission.csv was written".to_owned()),
        ),
    };
    Failure {
        exit_code: Some(exit_code),
        stderr_tail,
        invalid_reason,
        ..Failure::default()
    }
}

#[test]
fn debug_removes_each_injected_bug_and_nothing_else() {
    for preview in previews() {
        let shape = Shape::of(&preview).unwrap();
        for bug in Bug::ALL {
            let mut p = params(&clean().draft(&preview, 3).unwrap().code);
            let fixed = p.clone();
            p.bug = Some(bug);
            let broken = render::program(&shape, &p);
            assert_ne!(
                broken,
                render::program(&shape, &fixed),
                "{bug:?} changed nothing"
            );
            let child = clean()
                .debug(&preview, &broken, &symptom(bug, &shape.id), 0)
                .unwrap();
            assert_eq!(params(&child.code), fixed, "{bug:?}: {}", child.plan);
            assert_eq!(child.code, render::program(&shape, &fixed));
            assert!(
                child.plan.starts_with("Debug: the program"),
                "{}",
                child.plan
            );
        }
    }
}

#[test]
fn broken_rate_injects_every_kind_of_bug_and_zero_injects_none() {
    let p = &previews()[0];
    let always = Generator::new(GeneratorConfig { broken_rate: 1.0 });
    let bugs: std::collections::HashSet<_> = (0..40)
        .map(|s| params(&always.draft(p, s).unwrap().code).bug.unwrap())
        .collect();
    assert_eq!(bugs.len(), Bug::ALL.len());
    assert!((0..40).all(|s| params(&clean().draft(p, s).unwrap().code).bug.is_none()));
}

#[test]
fn debug_of_a_timeout_shrinks_the_model_and_the_data() {
    let p = &previews()[0];
    let shape = Shape::of(p).unwrap();
    let mut big = params(&clean().draft(p, 1).unwrap().code);
    big.model.family = Family::RandomForest;
    big.model.trees = 300;
    big.subsample = 1.0;
    let child = clean()
        .debug(
            p,
            &render::program(&shape, &big),
            &Failure {
                timed_out: true,
                exit_code: Some(137),
                ..Failure::default()
            },
            0,
        )
        .unwrap();
    let small = params(&child.code);
    assert!(
        small.model.trees < big.model.trees && small.subsample < big.subsample,
        "{}",
        child.plan
    );
    assert!(child.plan.contains("ran out of time"), "{}", child.plan);
}

#[test]
fn debug_of_a_timeout_with_nothing_left_to_shrink_falls_back_at_the_smallest() {
    let p = &previews()[0];
    let shape = Shape::of(p).unwrap();
    let tiny = moves::smallest(&shape, params(&clean().draft(p, 1).unwrap().code));
    let timeout = Failure {
        timed_out: true,
        ..Failure::default()
    };
    let child = clean()
        .debug(p, &render::program(&shape, &tiny), &timeout, 0)
        .unwrap();
    let fallback = params(&child.code);
    assert_ne!(fallback.model.family, tiny.model.family, "{}", child.plan);
    assert_eq!(
        (fallback.subsample, fallback.folds),
        (0.25, 3),
        "{}",
        child.plan
    );
    assert!(
        child.plan.contains("nothing left to shrink"),
        "{}",
        child.plan
    );
}

#[test]
fn debug_of_an_unknown_error_falls_back_to_a_safe_set_that_differs_from_the_parent() {
    let p = &previews()[0];
    let failure = Failure {
        exit_code: Some(1),
        stderr_tail: "ValueError: something odd\n".into(),
        ..Failure::default()
    };
    let parent = clean().draft(p, 5).unwrap();
    let child = clean().debug(p, &parent.code, &failure, 0).unwrap();
    assert!(
        child.plan.contains("`ValueError: something odd`"),
        "{}",
        child.plan
    );
    let again = clean().debug(p, &child.code, &failure, 0).unwrap();
    assert_ne!(params(&again.code), params(&child.code));
    let unreadable = clean().debug(p, "print('hi')\n", &failure, 0).unwrap();
    assert!(
        unreadable.plan.contains("cannot be read"),
        "{}",
        unreadable.plan
    );
    assert_follows_the_contract(&unreadable.code);
}

#[test]
fn parents_from_another_task_or_without_a_header_are_errors() {
    let ps = previews();
    let text = clean().draft(&ps[6], 0).unwrap();
    assert!(matches!(
        clean().improve(&ps[0], &text.code, 0),
        Err(crate::Error::Mismatch(_))
    ));
    assert!(matches!(
        clean().improve(&ps[0], "import os\n", 0),
        Err(crate::Error::MissingHeader)
    ));
}
