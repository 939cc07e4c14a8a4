//! Moves in the parameter space, as plain operations on the parameters' JSON (which is also
//! the program's header): Draft samples every dimension, Improve steps one, Crossover takes
//! each from one parent, a timeout shrinks the costly ones, and Debug's fallback takes every
//! default.

use serde_json::{Value, json};

use super::params::{Input, Params, Transform};
use super::preview::{Input as Kind, Shape};
use super::rng::Rng;
use super::space::{Dim, families, space};

fn to_value(p: &Params) -> Value {
    serde_json::to_value(p).expect("params serialize")
}

fn from_value(v: Value) -> Params {
    serde_json::from_value(v).expect("every value comes from the space")
}

/// Sets the field at `pointer`, creating it in its (existing) parent object.
fn set(v: &mut Value, pointer: &str, x: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointers start with /");
    if let Some(Value::Object(map)) = v.pointer_mut(parent) {
        map.insert(key.to_owned(), x);
    }
}

fn skeleton(shape: &Shape, seed: u32) -> Value {
    let kind = match shape.input {
        Kind::Tabular => "tabular",
        Kind::Text => "text",
        Kind::Image => "image",
    };
    json!({"input": {"kind": kind}, "model": {}, "seed": seed})
}

/// A fresh parameter set: every dimension sampled.
pub(crate) fn sample(shape: &Shape, rng: &mut Rng) -> Params {
    let mut v = skeleton(shape, (rng.next_u64() >> 33) as u32);
    for d in space(shape) {
        let choices = d.drafted.as_ref().unwrap_or(&d.values);
        set(&mut v, d.pointer, rng.pick(choices).clone());
    }
    from_value(v)
}

/// The safe fallback: every dimension at its default, with the `variant`-th family that fits.
pub(crate) fn safe(shape: &Shape, seed: u32, variant: usize) -> Params {
    let mut v = skeleton(shape, seed);
    for d in space(shape) {
        set(&mut v, d.pointer, d.values[d.default].clone());
    }
    let fams = families(shape);
    set(&mut v, "/model/family", json!(fams[variant % fams.len()]));
    from_value(v)
}

/// One field moved.
pub(crate) struct Change {
    pub label: &'static str,
    pub from: Value,
    pub to: Value,
    pub why: &'static str,
}

/// Moves one used field: an ordered one to a neighbouring choice, any other to a different
/// choice. Nothing else changes (the bug marker aside, which the caller sets).
pub(crate) fn step(shape: &Shape, p: &Params, rng: &mut Rng) -> (Params, Change) {
    let dims: Vec<Dim> = space(shape)
        .into_iter()
        .filter(|d| d.values.len() > 1 && (d.used)(p))
        .collect();
    let d = rng.pick(&dims);
    let mut v = to_value(p);
    let from = v.pointer(d.pointer).cloned().unwrap_or(Value::Null);
    let at = d.values.iter().position(|x| *x == from);
    let (to, up) = match at {
        Some(i) if d.ordered => {
            let up = i == 0 || (i + 1 < d.values.len() && rng.chance(0.5));
            (d.values[if up { i + 1 } else { i - 1 }].clone(), up)
        }
        _ => {
            let others: Vec<&Value> = d.values.iter().filter(|x| **x != from).collect();
            ((*rng.pick(&others)).clone(), true)
        }
    };
    set(&mut v, d.pointer, to.clone());
    let change = Change {
        label: d.label,
        from,
        to,
        why: d.why[usize::from(!up)],
    };
    (from_value(v), change)
}

/// Each field from one parent or the other; which parent gave each field that matters to
/// the child, by label (true: the second).
pub(crate) fn cross(
    shape: &Shape,
    a: &Params,
    b: &Params,
    rng: &mut Rng,
) -> (Params, Vec<(&'static str, bool)>) {
    let mut v = to_value(a);
    let bv = to_value(b);
    let dims = space(shape);
    let mut from_b = Vec::new();
    for d in &dims {
        let take_b = rng.chance(0.5);
        if let (true, Some(x)) = (take_b, bv.pointer(d.pointer)) {
            set(&mut v, d.pointer, x.clone());
        }
        from_b.push(take_b);
    }
    let child = from_value(v);
    let origins = dims
        .iter()
        .zip(from_b)
        .filter(|(d, _)| (d.used)(&child))
        .map(|(d, b)| (d.label, b))
        .collect();
    (child, origins)
}

/// What a timeout or an out-of-memory kill calls for: every costly field two steps down,
/// and no pairwise products. None when nothing is left to shrink.
pub(crate) fn shrink(shape: &Shape, p: &Params) -> Option<(Params, Vec<String>)> {
    let mut v = to_value(p);
    let mut notes = Vec::new();
    for d in space(shape).into_iter().filter(|d| d.cost && (d.used)(p)) {
        let cur = v.pointer(d.pointer).cloned().unwrap_or(Value::Null);
        let Some(i) = d.values.iter().position(|x| *x == cur) else {
            continue;
        };
        if i > 0 {
            let to = d.values[i.saturating_sub(2)].clone();
            notes.push(format!("{} {cur} → {to}", d.label));
            set(&mut v, d.pointer, to);
        }
    }
    if let Input::Tabular {
        transform: Transform::Poly,
        ..
    } = p.input
    {
        notes.push("feature transform poly → none".into());
        set(&mut v, "/input/transform", json!("none"));
    }
    (!notes.is_empty()).then(|| (from_value(v), notes))
}

/// `p` shrunk as far as it goes.
pub(crate) fn smallest(shape: &Shape, mut p: Params) -> Params {
    while let Some((q, _)) = shrink(shape, &p) {
        p = q;
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builtin::space::check;
    use crate::builtin::space::tests::shapes;

    #[test]
    fn samples_and_safe_sets_belong_to_their_space() {
        for shape in shapes() {
            for seed in 0..20 {
                check(&shape, &sample(&shape, &mut Rng::new(seed))).unwrap();
            }
            for variant in 0..3 {
                check(&shape, &safe(&shape, 1, variant)).unwrap();
            }
        }
    }

    #[test]
    fn shrink_lowers_every_costly_used_field_and_stops_at_the_bottom() {
        let shape = &shapes()[0];
        let mut p = safe(shape, 0, 0);
        p.model.trees = 300;
        p.folds = 5;
        let (small, notes) = shrink(shape, &p).unwrap();
        assert_eq!(
            (small.model.trees, small.folds, small.subsample),
            (100, 3, 0.5)
        );
        assert_eq!(small.model.depth, Some(10));
        assert!(
            notes.iter().any(|n| n.starts_with("number of trees")),
            "{notes:?}"
        );
        let p = smallest(shape, small);
        assert_eq!(
            (p.model.trees, p.folds, p.subsample, p.model.depth),
            (50, 3, 0.25, Some(3))
        );
    }
}
