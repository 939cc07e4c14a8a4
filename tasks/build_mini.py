#!/usr/bin/env python3
"""Build randori's offline mini-bench: tasks/mini/<id>/ in MLE-bench's layout.

Eight small tasks that mimic the kinds and metrics of MLE-bench lite, generated
from seeded processes (and scikit-learn's bundled load_digits), so that no
download is needed. For each task this writes

    config.yaml, description.md, leaderboard.csv,
    prepared/public/{train.csv, test.csv, sample_submission.csv, ...},
    prepared/private/{test.csv, validation.csv}

The public test.csv holds the hidden-validation rows and the test rows shuffled
together; private/validation.csv and private/test.csv partition its ids.

Leaderboards are synthesized from a seeded population of baseline models that
are really trained on the train rows and scored on the private test answers
(then noise-perturbed, as real teams' submissions differ), and the build then
verifies MLE-bench's medal rules against them: the sample submission and the
plain baseline program (tasks/mini/<id>/reference/baseline.py) get no medal,
the good program (reference/good.py) gets bronze or better. The reference
programs are hand-written, stand-alone sandbox programs; this script only runs
them (with MINI_DATA_DIR / MINI_SUBMISSION_DIR pointing at the built files).

Run it inside the runtime image (numpy, pandas, scikit-learn, Pillow):

    docker run --rm --user "$(id -u):$(id -g)" -v "$PWD/tasks:/tasks" -w /tasks \
        randori-runtime:dev python3 build_mini.py          # build tasks/mini, verify
    ... randori-runtime:dev python3 build_mini.py --check  # rebuild elsewhere, compare

(--user: the image runs as uid 10001 by default, which cannot write the tree.)

Deterministic: running it twice gives byte-identical files.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import io
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")  # convergence warnings of the deliberately plain models

from PIL import Image  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis  # noqa: E402
from sklearn.ensemble import (  # noqa: E402
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer  # noqa: E402
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402
from sklearn.naive_bayes import MultinomialNB  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402
from scipy.sparse import issparse  # noqa: E402

HERE = Path(__file__).resolve().parent
MINI = HERE / "mini"
SEED = 20250601
FRAC_VAL, FRAC_TEST = 0.20, 0.30  # of labelled rows; the rest is train
GENERATED = ("config.yaml", "description.md", "leaderboard.csv", "prepared")


# --------------------------------------------------------------------------
# metrics (as MLE-bench's graders compute them; arrays are rows x targets)
# --------------------------------------------------------------------------

def m_accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(y[:, 0] == p[:, 0]))


def m_auc(y: np.ndarray, p: np.ndarray) -> float:
    return float(roc_auc_score(y[:, 0], p[:, 0]))


def m_logloss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p.astype(float), 1e-15, 1 - 1e-15)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.sum(y * np.log(p), axis=1)))


def m_rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y[:, 0] - p[:, 0]) ** 2)))


def m_rmsle_cols(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.sqrt(np.mean((np.log1p(p) - np.log1p(y)) ** 2, axis=0))))


def m_auc_cols(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean([roc_auc_score(y[:, j], p[:, j]) for j in range(y.shape[1])]))


# grader name -> (function, higher is better)
GRADERS: dict[str, tuple[Callable[[np.ndarray, np.ndarray], float], bool]] = {
    "multi-class-classification-accuracy": (m_accuracy, True),
    "auc-roc": (m_auc, True),
    "multi-class-log-loss": (m_logloss, False),
    "root-mean-squared-error": (m_rmse, False),
    "mean-column-wise-rmsle": (m_rmsle_cols, False),
    "mean-column-wise-roc-auc": (m_auc_cols, True),
}


# --------------------------------------------------------------------------
# MLE-bench medal rules (mlebench/grade_helpers.py)
# --------------------------------------------------------------------------

def band(n: int) -> str:
    return "1-99" if n < 100 else "100-249" if n < 250 else "250-999" if n < 1000 else ">=1000"


def thresholds(scores: list[float]) -> dict:
    """scores in leaderboard order (best first)."""
    n = len(scores)
    lower = scores[0] < scores[-1]

    def at(pos: int) -> float:
        return scores[pos - 1]

    if n < 100:
        g, s, b = at(max(1, int(n * 0.1))), at(max(1, int(n * 0.2))), at(max(1, int(n * 0.4)))
    elif n < 250:
        g, s, b = at(10), at(max(1, int(n * 0.2))), at(max(1, int(n * 0.4)))
    elif n < 1000:
        g, s, b = at(10 + int(n * 0.002)), at(50), at(100)
    else:
        g, s, b = at(10 + int(n * 0.002)), at(max(1, int(n * 0.05))), at(max(1, int(n * 0.1)))
    return dict(gold=g, silver=s, bronze=b, median=float(pd.Series(scores).median()),
                lower_is_better=lower)


MEDALS = ("gold", "silver", "bronze")
NO_MEDAL = ("above-median", "none")


def medal(score: float, th: dict) -> str:
    better = (lambda a, b: a <= b) if th["lower_is_better"] else (lambda a, b: a >= b)
    score = round(score, 5)
    for name in ("gold", "silver", "bronze"):
        if better(score, th[name]):
            return name
    strictly = score < th["median"] if th["lower_is_better"] else score > th["median"]
    return "above-median" if strictly else "none"


# --------------------------------------------------------------------------
# building blocks
# --------------------------------------------------------------------------

@dataclass
class Built:
    """One task's data, before it is written."""
    train: pd.DataFrame  # public train.csv
    test: pd.DataFrame  # public test.csv: validation + test rows, shuffled
    answers: pd.DataFrame  # id + target columns for the rows of `test`, same order
    is_val: np.ndarray  # per row of `test`: hidden validation (True) or test (False)
    sample: pd.DataFrame  # sample_submission.csv (same ids/order as `test`)
    files: dict[str, bytes] = field(default_factory=dict)  # extra public files
    extra: dict = field(default_factory=dict)  # in-memory helpers for the population


@dataclass
class Base:
    """A population member: a model's test-row predictions and how likely teams use it."""
    name: str
    weight: float
    pred: np.ndarray  # rows x targets, aligned with the private test answers
    smax: float  # maximum perturbation strength for teams using it


@dataclass
class Ctx:
    """What a population builder sees: public train, the test rows' features."""
    train: pd.DataFrame
    test: pd.DataFrame  # public test.csv restricted to the private TEST rows
    targets: list[str]
    extra: dict
    rng: np.random.Generator


@dataclass
class Task:
    id: str
    name: str
    like: str  # the MLE-bench competition it mimics
    grader: str
    n_teams: int
    build: Callable[[np.random.Generator], Built]
    population: Callable[[Ctx], list[Base]]
    perturb: Callable[[np.ndarray, float, np.random.Generator], np.ndarray]
    description: str
    deadline: str  # the fake competition's last day (leaderboard dates end here)


def assign_roles(n: int, rng: np.random.Generator, strata: np.ndarray | None = None) -> np.ndarray:
    """'train' / 'val' / 'test' per row; stratified per class when strata is given."""
    roles = np.empty(n, dtype=object)
    groups = [np.arange(n)] if strata is None else [np.flatnonzero(strata == s) for s in np.unique(strata)]
    for g in groups:
        g = rng.permutation(g)
        k = len(g)
        n_val = int(round(k * FRAC_VAL))
        n_test = int(round(k * FRAC_TEST))
        roles[g[:n_val]] = "val"
        roles[g[n_val:n_val + n_test]] = "test"
        roles[g[n_val + n_test:]] = "train"
    return roles


def split_frame(df: pd.DataFrame, roles: np.ndarray, rng: np.random.Generator, id_col: str,
                targets: list[str], ids: Callable[[int, int], tuple[list, list]] | None = None,
                answer_frame: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Shuffle rows, give ids, split into public train / public test (+ answers).

    `df` holds the features and the target columns; `answer_frame` (same index
    as df), when given, holds the answers' target columns instead (one-hot).
    Ids: the column `id_col` of df when it has one; else `ids(n_train, n_test)`;
    else sequential integers, train first, then validation+test rows in their
    shuffled order (so ids carry no information about the split).
    """
    tr = rng.permutation(np.flatnonzero(roles == "train"))
    te = rng.permutation(np.flatnonzero(roles != "train"))
    if id_col in df.columns:  # ids come with the rows
        tr_ids, te_ids = df[id_col].iloc[tr].tolist(), df[id_col].iloc[te].tolist()
        df = df.drop(columns=[id_col])
    elif ids is None:
        tr_ids, te_ids = list(range(len(tr))), list(range(len(tr), len(tr) + len(te)))
    else:
        tr_ids, te_ids = ids(len(tr), len(te))
    train = df.iloc[tr].reset_index(drop=True)
    train.insert(0, id_col, tr_ids)
    test_full = df.iloc[te].reset_index(drop=True)
    test = test_full.drop(columns=targets)
    test.insert(0, id_col, te_ids)
    ans_src = test_full[targets] if answer_frame is None else answer_frame.iloc[te].reset_index(drop=True)
    answers = pd.concat([pd.DataFrame({id_col: te_ids}), ans_src.reset_index(drop=True)], axis=1)
    return train, test, answers, roles[te] == "val"


def csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode()


def hex_ids(rng: np.random.Generator, n: int, nbytes: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        h = rng.bytes(nbytes).hex()
        if h not in seen:
            seen.add(h)
            out.append(h)
    return out


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


# perturbations: how a team's submission differs from the base model's
def perturb_binary(p: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    return sigmoid(logit(p) + rng.normal(0, 2.5 * s, p.shape))


def perturb_proba(p: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    t = math.exp(rng.normal(0, 0.5 * s))  # mis-calibration (temperature)
    z = np.log(np.clip(p, 1e-12, 1)) / t + rng.normal(0, 2.0 * s, p.shape)
    return softmax(z)


def perturb_labels(classes: list) -> Callable:
    def f(y: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
        y = y.copy()
        flip = rng.random(len(y)) < 0.6 * s
        y[flip, 0] = rng.choice(classes, flip.sum())
        return y
    return f


def perturb_additive(scale: float) -> Callable:
    def f(y: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
        return y + rng.normal(0, scale * s, y.shape)
    return f


def perturb_positive(y: np.ndarray, s: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(y, 0, None) * np.exp(rng.normal(0, 0.5 * s, y.shape))


def proba(model, xtr, ytr, xte, classes=None) -> np.ndarray:
    """Fit, predict_proba on xte; columns in `classes` order (default model's)."""
    model.fit(xtr, ytr)
    p = model.predict_proba(xte)
    if classes is None:
        return p
    out = np.zeros((p.shape[0], len(classes)))
    for j, c in enumerate(model.classes_):
        out[:, list(classes).index(c)] = p[:, j]
    return out


def pos(model, xtr, ytr, xte) -> np.ndarray:
    return proba(model, xtr, ytr, xte)[:, [1]]


class KNN:
    """Brute-force k nearest neighbours (uniform weights) whose result does not
    depend on thread counts or BLAS kernels: squared distances by plain numpy
    (cosine similarity for sparse tf-idf rows), ties to the earlier training row.
    scikit-learn's KNeighbors* may break distance ties differently across
    machines, which would change the leaderboards."""

    def __init__(self, k: int, regress: bool = False):
        self.k, self.regress = k, regress

    def fit(self, x, y):
        self.x = x if issparse(x) else np.asarray(x, dtype=float)
        self.y = np.asarray(y)
        if not self.regress:
            self.classes_ = np.unique(self.y)
        return self

    def _neighbours(self, x):
        if issparse(x):
            sim = (x @ self.x.T).toarray()
            return np.argsort(-sim, axis=1, kind="stable")[:, :self.k]
        x = np.asarray(x, dtype=float)
        step = max(1, int(4e6 // (self.x.shape[0] * self.x.shape[1])))
        out = []
        for i in range(0, len(x), step):
            d = ((x[i:i + step, None, :] - self.x[None, :, :]) ** 2).sum(axis=2)
            out.append(np.argsort(d, axis=1, kind="stable")[:, :self.k])
        return np.concatenate(out)

    def predict_proba(self, x):
        nb = self.y[self._neighbours(x)]
        return np.stack([(nb == c).mean(axis=1) for c in self.classes_], axis=1)

    def predict(self, x):
        if self.regress:
            return self.y[self._neighbours(x)].mean(axis=1)
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]


def lr(c=1.0, scale=True, **kw):
    m = LogisticRegression(C=c, max_iter=2000, **kw)
    return make_pipeline(StandardScaler(), m) if scale else m


# --------------------------------------------------------------------------
# task 1: binary classification with feature interactions (AUC)
#         like tabular-playground-series-may-2022
# --------------------------------------------------------------------------

T1_LETTERS = "ABCDEFGHIJ"


def t1_build(rng: np.random.Generator) -> Built:
    n = 3000
    d = {}
    for i in range(7):
        d[f"f_{i:02d}"] = rng.normal(0, 1, n)
    for i, lam in zip(range(7, 12), [2, 3, 1.5, 4, 2.5]):
        d[f"f_{i:02d}"] = rng.poisson(lam, n)
    for i in range(12, 16):
        d[f"f_{i:02d}"] = rng.normal(0, 1.5, n)
    pw = rng.dirichlet(np.ones(10) * 2, size=8)
    chars = np.stack([rng.choice(10, n, p=pw[j]) for j in range(8)], axis=1)
    letters = np.array(list(T1_LETTERS))
    d["f_16"] = ["".join(letters[r]) for r in chars]
    d["f_17"] = rng.integers(0, 2, n)
    d["f_18"] = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    df = pd.DataFrame(d)
    for c in df.columns:
        if df[c].dtype == float:
            df[c] = df[c].round(5)
    nun = np.array([len(set(r)) for r in chars])

    def zone(v, t):
        return (v > t).astype(float) - (v < -t)

    z = (0.5 * df.f_00 - 0.4 * df.f_03 + 0.25 * (df.f_07 - 2) - 0.2 * (df.f_10 - 4)
         + 1.4 * zone(df.f_12 + df.f_01, 1.5) + 1.1 * zone(df.f_13 + df.f_04, 1.5)
         - 1.2 * zone(df.f_14 + df.f_02 + df.f_05, 2.0)
         + 0.7 * (nun - 5.5) + 0.9 * np.isin(chars[:, 2], [0, 1, 2]) - 0.7 * (chars[:, 5] == chars[:, 6])
         + 1.3 * (2 * df.f_17 - 1) * df.f_06 + 0.5 * (df.f_18 == 2) - 0.35 * (df.f_15 ** 2 - 2.25) / 1.5)
    df["target"] = (rng.random(n) < sigmoid(z.to_numpy() - 0.2)).astype(int)
    roles = assign_roles(n, rng)
    train, test, answers, is_val = split_frame(df, roles, rng, "id", ["target"])
    prior = round(float(train.target.mean()), 5)
    sample = pd.DataFrame({"id": test.id, "target": prior})
    return Built(train, test, answers, is_val, sample)


def t1_features(d: pd.DataFrame, level: int) -> pd.DataFrame:
    """0: numeric columns; 1: + string characters; 2: + discovered interactions."""
    x = d.drop(columns=["id", "f_16", "target"], errors="ignore").astype(float)
    if level >= 1:
        for j in range(8):
            x[f"ch{j}"] = d.f_16.str[j].map(T1_LETTERS.index)
        x["nuniq"] = d.f_16.map(lambda s: len(set(s)))
    if level >= 2:
        x["i_12_01"] = d.f_12 + d.f_01
        x["i_13_04"] = d.f_13 + d.f_04
        x["i_14_02_05"] = d.f_14 + d.f_02 + d.f_05
        x["i_17_06"] = (2 * d.f_17 - 1) * d.f_06
    return x


def t1_population(c: Ctx) -> list[Base]:
    y = c.train.target.to_numpy()
    f = {k: (t1_features(c.train, k), t1_features(c.test, k)) for k in (0, 1, 2)}
    n = len(c.test)
    half = [col for col in f[0][0].columns][::2]

    def p(m, k, cols=None):
        xtr, xte = f[k]
        if cols is not None:
            xtr, xte = xtr[cols], xte[cols]
        return pos(m, xtr, y, xte)

    hgb_t = dict(learning_rate=0.03, max_iter=400, max_leaf_nodes=8, l2_regularization=1.0, random_state=0)
    best_a = p(HistGradientBoostingClassifier(**hgb_t), 2)
    best_b = p(make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000)), 2)
    return [
        Base("sample (prior)", 0.05, np.full((n, 1), y.mean()), 0.0),
        Base("random", 0.01, c.rng.random((n, 1)), 0.0),
        Base("LR default, numeric", 0.12, p(LogisticRegression(), 0), 0.8),
        Base("LR, half the columns", 0.05, p(lr(), 0, half), 0.8),
        Base("kNN-5 raw", 0.04, p(KNN(5), 0), 0.5),
        Base("kNN-50 scaled", 0.05, p(make_pipeline(StandardScaler(), KNN(50)), 0), 0.5),
        Base("tree depth 4", 0.04, p(DecisionTreeClassifier(max_depth=4, random_state=0), 1), 0.5),
        Base("tree depth 10", 0.02, p(DecisionTreeClassifier(max_depth=10, random_state=0), 1), 0.5),
        Base("RF numeric", 0.07, p(RandomForestClassifier(200, random_state=0, n_jobs=-1), 0), 0.6),
        Base("HGB numeric", 0.08, p(HistGradientBoostingClassifier(random_state=0), 0), 0.6),
        Base("LR + chars", 0.06, p(lr(), 1), 0.6),
        Base("RF + chars", 0.07, p(RandomForestClassifier(300, min_samples_leaf=3, random_state=0, n_jobs=-1), 1), 0.5),
        Base("HGB + chars", 0.12, p(HistGradientBoostingClassifier(random_state=0), 1), 0.5),
        Base("LR + interactions", 0.06, best_b, 0.5),
        Base("HGB + interactions", 0.07, p(HistGradientBoostingClassifier(random_state=0), 2), 0.4),
        Base("tuned HGB + interactions", 0.03, best_a, 0.3),
        Base("blend", 0.02, (best_a + best_b) / 2, 0.2),
    ]


T1_DESC = """\
# Binary classification with feature interactions

Predict the probability that a row belongs to the positive class (`target` = 1).
The data is synthetic and tabular, in the spirit of Kaggle's *Tabular Playground
Series - May 2022*: some continuous features, some integer counts, two small
categorical codes and one 8-character string feature. As there, the signal is
largely in interactions between features.

## Files

- `train.csv` - the training set: `id`, features `f_00` ... `f_18`, and the binary `target`
- `test.csv` - the test set: `id` and the same features, without `target`
- `sample_submission.csv` - a submission in the correct format

Features: `f_00`-`f_06` and `f_12`-`f_15` are continuous, `f_07`-`f_11` are counts,
`f_16` is a string of 8 letters (`A`-`J`), `f_17` is binary, `f_18` takes values 0, 1, 2.

## Submission

For every `id` in `test.csv`, the predicted probability of `target` = 1:

```
id,target
1500,0.5
1501,0.5
...
```

## Evaluation

Area under the ROC curve between the predicted probability and the observed target.
"""


# --------------------------------------------------------------------------
# task 2: forest cover type, 7 classes (accuracy)
#         like tabular-playground-series-dec-2021
# --------------------------------------------------------------------------

def t2_build(rng: np.random.Generator) -> Built:
    n = 3000
    wild = rng.choice(4, n, p=[0.45, 0.08, 0.37, 0.10])
    elev_mu = np.array([3050, 2950, 2900, 2300])[wild]
    elev = np.clip(rng.normal(elev_mu, 330), 1850, 3850)
    aspect = rng.uniform(0, 360, n)
    slope = np.clip(rng.gamma(2.2, 6.5, n), 0, 60)
    hh = rng.exponential(260, n)
    vh = hh * rng.normal(0.18, 0.12, n) + rng.normal(0, 25, n)
    road = np.clip(rng.normal(np.array([2500, 1500, 2000, 1200])[wild], 1300), 0, 7000)
    fire = np.clip(rng.normal(np.array([2100, 1700, 1800, 1100])[wild], 1200), 0, 7000)
    rad = np.deg2rad(aspect)
    sl = np.deg2rad(slope)
    h9 = np.clip(212 + 40 * np.sin(sl) * np.cos(rad - np.deg2rad(100)) * 2 + rng.normal(0, 12, n), 0, 255)
    hn = np.clip(223 - 45 * (1 - np.cos(sl)) * 2 + rng.normal(0, 10, n), 0, 255)
    h3 = np.clip(142 + 60 * np.sin(sl) * np.cos(rad - np.deg2rad(260)) * 2 + rng.normal(0, 15, n), 0, 255)
    # soil depends on wilderness and elevation
    soil_logits = rng.normal(0, 1.2, (4, 12))[wild] + np.outer((elev - 2800) / 400, rng.normal(0, 1.0, 12))
    soil = np.array([rng.choice(12, p=pr) for pr in softmax(soil_logits)])

    # class logits: elevation bands (shifted per wilderness area, so elevation
    # interacts with it) + soil, water, slope and aspect effects
    mu = np.array([3180, 2930, 2420, 2180, 2750, 2450, 3420])
    sd = np.array([110, 320, 150, 90, 100, 220, 90])  # unequal: quadratic log-odds
    bias = np.array([0.6, 0.0, 0.0, -0.6, -0.3, -0.2, -0.2])
    shift = np.array([0, 160, -140, -300])[wild]
    e_eff = elev - shift - 0.6 * vh
    z = -0.5 * ((e_eff[:, None] - mu) / sd) ** 2 + bias
    z += rng.normal(0, 0.8, (4, 7))[wild]
    z += rng.normal(0, 1.1, (12, 7))[soil]
    z[:, 3] += 2.0 * (hh < 150) - 1.0
    z[:, 5] += 1.5 * (np.abs(slope - 20) < 8) - 0.5
    z[:, 4] += 1.5 * np.cos(rad) * (slope > 12)
    z[:, 6] += 1.0 * (road > 3000) - 0.3
    z[:, 2] -= 1.0 * ((aspect > 120) & (aspect < 240))
    y = np.array([rng.choice(7, p=pr) for pr in softmax(2.2 * z)]) + 1

    df = pd.DataFrame({
        "Elevation": elev.round().astype(int), "Aspect": aspect.round().astype(int),
        "Slope": slope.round().astype(int),
        "Horizontal_Distance_To_Hydrology": hh.round().astype(int),
        "Vertical_Distance_To_Hydrology": vh.round().astype(int),
        "Horizontal_Distance_To_Roadways": road.round().astype(int),
        "Hillshade_9am": h9.round().astype(int), "Hillshade_Noon": hn.round().astype(int),
        "Hillshade_3pm": h3.round().astype(int),
        "Horizontal_Distance_To_Fire_Points": fire.round().astype(int),
    })
    for k in range(4):
        df[f"Wilderness_Area{k + 1}"] = (wild == k).astype(int)
    for k in range(12):
        df[f"Soil_Type{k + 1}"] = (soil == k).astype(int)
    df["Cover_Type"] = y
    roles = assign_roles(n, rng)
    train, test, answers, is_val = split_frame(df, roles, rng, "Id", ["Cover_Type"])
    majority = int(train.Cover_Type.value_counts().sort_index().idxmax())
    sample = pd.DataFrame({"Id": test.Id, "Cover_Type": majority})
    return Built(train, test, answers, is_val, sample)


def t2_features(d: pd.DataFrame, eng: bool) -> pd.DataFrame:
    x = d.drop(columns=["Id", "Cover_Type"], errors="ignore").astype(float)
    if eng:
        x["hyd_dist"] = np.hypot(x.Horizontal_Distance_To_Hydrology, x.Vertical_Distance_To_Hydrology)
        x["elev_minus_vh"] = x.Elevation - x.Vertical_Distance_To_Hydrology
        x["aspect_cos"] = np.cos(np.deg2rad(x.Aspect))
        x["aspect_sin"] = np.sin(np.deg2rad(x.Aspect))
        x["wild"] = np.argmax(d[[f"Wilderness_Area{k}" for k in range(1, 5)]].to_numpy(), axis=1)
        x["soil"] = np.argmax(d[[f"Soil_Type{k}" for k in range(1, 13)]].to_numpy(), axis=1)
    return x


def t2_population(c: Ctx) -> list[Base]:
    y = c.train.Cover_Type.to_numpy()
    f = {k: (t2_features(c.train, k), t2_features(c.test, k)) for k in (False, True)}
    n = len(c.test)

    def lab(m, eng=False, cols=None):
        xtr, xte = f[eng]
        if cols is not None:
            xtr, xte = xtr[cols], xte[cols]
        m.fit(xtr, y)
        return m.predict(xte).reshape(-1, 1)

    majority = np.bincount(y).argmax()
    topo = ["Elevation", "Aspect", "Slope", "Horizontal_Distance_To_Hydrology", "Horizontal_Distance_To_Roadways"]
    hgb_t = dict(learning_rate=0.05, max_iter=300, max_leaf_nodes=15, min_samples_leaf=10,
                 l2_regularization=1.0, random_state=0)
    hgb_s = dict(learning_rate=0.03, max_iter=300, max_depth=3, min_samples_leaf=20,
                 l2_regularization=1.0, random_state=0)
    return [
        Base("sample (majority)", 0.05, np.full((n, 1), majority), 0.0),
        Base("random", 0.01, c.rng.integers(1, 8, (n, 1)), 1.0),
        Base("LR default", 0.12, lab(LogisticRegression()), 0.5),
        Base("LR scaled", 0.07, lab(lr()), 0.4),
        Base("LR scaled engineered C=10", 0.05, lab(lr(10.0), True), 0.4),
        Base("kNN-5 raw", 0.05, lab(KNN(5)), 0.4),
        Base("kNN-15 scaled", 0.06, lab(make_pipeline(StandardScaler(), KNN(15))), 0.4),
        Base("tree depth 3", 0.04, lab(DecisionTreeClassifier(max_depth=3, random_state=0)), 0.4),
        Base("tree depth 12", 0.05, lab(DecisionTreeClassifier(max_depth=12, random_state=0)), 0.4),
        Base("LDA", 0.04, lab(LinearDiscriminantAnalysis()), 0.4),
        Base("RF topography only", 0.04, lab(RandomForestClassifier(200, random_state=0, n_jobs=-1), cols=topo), 0.3),
        Base("RF", 0.09, lab(RandomForestClassifier(300, random_state=0, n_jobs=-1)), 0.3),
        Base("ExtraTrees", 0.05, lab(ExtraTreesClassifier(300, random_state=0, n_jobs=-1)), 0.3),
        Base("HGB", 0.09, lab(HistGradientBoostingClassifier(random_state=0)), 0.25),
        Base("RF engineered", 0.06, lab(RandomForestClassifier(500, min_samples_leaf=2, random_state=0, n_jobs=-1), True), 0.2),
        Base("HGB engineered", 0.05, lab(HistGradientBoostingClassifier(**hgb_t), True), 0.15),
        Base("HGB engineered shallow", 0.03, lab(HistGradientBoostingClassifier(**hgb_s), True), 0.1),
    ]


T2_DESC = """\
# Forest cover type

Predict the forest cover type (an integer from 1 to 7) of 30m x 30m patches of land
from cartographic variables. The data is synthetic, in the spirit of Kaggle's
*Tabular Playground Series - Dec 2021* (itself modelled on the Forest Cover Type data).

## Files

- `train.csv` - the training set: `Id`, the features, and `Cover_Type` (1-7)
- `test.csv` - the test set: `Id` and the features
- `sample_submission.csv` - a submission in the correct format

Features: `Elevation` (m), `Aspect` (degrees azimuth), `Slope` (degrees),
`Horizontal_Distance_To_Hydrology`, `Vertical_Distance_To_Hydrology`,
`Horizontal_Distance_To_Roadways`, `Horizontal_Distance_To_Fire_Points` (m),
`Hillshade_9am`, `Hillshade_Noon`, `Hillshade_3pm` (0-255),
`Wilderness_Area1`-`4` and `Soil_Type1`-`12` (one-hot).

## Submission

For every `Id` in `test.csv`, the predicted class as an integer:

```
Id,Cover_Type
1500,2
1501,1
...
```

## Evaluation

Multi-class classification accuracy (the fraction of rows whose `Cover_Type` is right).
"""


# --------------------------------------------------------------------------
# task 3: 32 species, 20 leaves each, 48 features (multi-class log loss)
#         like leaf-classification
# --------------------------------------------------------------------------

T3_GENERA = ["Acer", "Betula", "Populus", "Prunus", "Quercus", "Salix", "Tilia", "Ulmus"]
T3_EPITHETS = ["Alba", "Campestris", "Nigra", "Rubra", "Pendula", "Tremula", "Cordata", "Glabra",
               "Serotina", "Avium", "Padus", "Spinosa", "Robur", "Petraea", "Cerris", "Ilex",
               "Fragilis", "Caprea", "Viminalis", "Aurita", "Platyphyllos", "Tomentosa", "Europaea",
               "Americana", "Minor", "Laevis", "Procera", "Pumila", "Saccharum", "Palmatum",
               "Pubescens", "Papyrifera"]


def t3_species() -> list[str]:
    return [f"{g}_{T3_EPITHETS[4 * i + j]}" for i, g in enumerate(T3_GENERA) for j in range(4)]


def t3_build(rng: np.random.Generator) -> Built:
    names = t3_species()  # 8 genera x 4 species; species of a genus look alike
    n_gen, per_gen, per_species = 8, 4, 20
    k = n_gen * per_gen
    genus = np.arange(k) // per_gen

    def protos():
        g = rng.dirichlet(np.ones(16) * 0.7, n_gen)
        d = rng.dirichlet(np.ones(16) * 0.7, k)
        return 0.5 * g[genus] + 0.5 * d

    p_margin, p_texture = protos(), protos()
    amp = rng.normal(0, 0.15, (n_gen, 4))[genus] + rng.normal(0, 0.07, (k, 4))
    phase = rng.uniform(0, 2 * np.pi, (k, 4))
    y = np.repeat(np.arange(k), per_species)
    n = len(y)
    margin = np.stack([rng.dirichlet(10 * p_margin[c] + 0.05) for c in y])
    texture = np.stack([rng.dirichlet(8 * p_texture[c] + 0.05) for c in y])
    a = amp[y] + rng.normal(0, 0.08, (n, 4))
    ph = phase[y] + rng.normal(0, 0.25, (n, 4))
    j = np.arange(16)
    shape = 1 + sum(a[:, [h]] * np.cos(2 * np.pi * (h + 1) * j / 16 + ph[:, [h]]) for h in range(4))
    shape = shape * np.exp(rng.normal(0, 0.1, (n, 1))) * 8e-4 + rng.normal(0, 2e-5, (n, 16))
    cols = {}
    for name, block in (("margin", margin), ("shape", shape), ("texture", texture)):
        for q in range(16):
            cols[f"{name}{q + 1}"] = block[:, q].round(6)
    df = pd.DataFrame(cols)
    df.insert(0, "species", np.array(names)[y])
    onehot = pd.DataFrame((y[:, None] == np.arange(k)[None, :]).astype(int), columns=names)
    order = sorted(names)
    onehot = onehot[order]
    roles = assign_roles(n, rng, strata=y)
    perm = rng.permutation(np.arange(1, n + 1))

    def ids(ntr, nte):
        return perm[:ntr].tolist(), perm[ntr:].tolist()

    train, test, answers, is_val = split_frame(df, roles, rng, "id", ["species"], ids, answer_frame=onehot)
    train = train.sort_values("id").reset_index(drop=True)
    o = np.argsort(test.id.to_numpy(), kind="stable")
    test, answers, is_val = test.iloc[o].reset_index(drop=True), answers.iloc[o].reset_index(drop=True), is_val[o]
    sample = pd.DataFrame({"id": test.id})
    for c in order:
        sample[c] = 1.0 / k
    return Built(train, test, answers, is_val, sample)


def t3_features(d: pd.DataFrame, sqrt: bool) -> pd.DataFrame:
    x = d.drop(columns=["id", "species"], errors="ignore").astype(float)
    if sqrt:
        hist = [c for c in x.columns if not c.startswith("shape")]
        x[hist] = np.sqrt(x[hist])
        shp = [c for c in x.columns if c.startswith("shape")]
        x[shp] = x[shp].div(x[shp].mean(axis=1), axis=0)  # size-invariant contour
    return x


def t3_population(c: Ctx) -> list[Base]:
    y = c.train.species.to_numpy()
    classes = c.targets
    f = {k: (t3_features(c.train, k), t3_features(c.test, k)) for k in (False, True)}
    n, k = len(c.test), len(classes)

    def p(m, sq=False, cols=None):
        xtr, xte = f[sq]
        if cols is not None:
            xtr, xte = xtr[cols], xte[cols]
        return proba(m, xtr, y, xte, classes)

    margin_texture = [col for col in f[False][0].columns if not col.startswith("shape")]
    lr_best = p(lr(3.0), True)
    lda = p(LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"), True)
    rf = p(RandomForestClassifier(500, random_state=0, n_jobs=-1), True)
    return [
        Base("sample (uniform)", 0.06, np.full((n, k), 1.0 / k), 0.0),
        Base("random", 0.02, c.rng.dirichlet(np.ones(k), n), 0.5),
        Base("LR default", 0.12, p(LogisticRegression()), 0.6),
        Base("kNN-1 (hard labels)", 0.05, p(KNN(1)), 0.0),
        Base("kNN-5 scaled", 0.06, p(make_pipeline(StandardScaler(), KNN(5))), 0.3),
        Base("tree depth 8", 0.03, p(DecisionTreeClassifier(max_depth=8, random_state=0)), 0.3),
        Base("RF", 0.10, p(RandomForestClassifier(300, random_state=0, n_jobs=-1)), 0.4),
        Base("SVC scaled", 0.05, p(make_pipeline(StandardScaler(), SVC(C=10, probability=True, random_state=0))), 0.4),
        Base("LR scaled C=0.1", 0.06, p(lr(0.1)), 0.5),
        Base("LR scaled, margin+texture", 0.05, p(lr(1.0), cols=margin_texture), 0.5),
        Base("LR scaled", 0.10, p(lr(1.0)), 0.5),
        Base("LDA", 0.06, p(LinearDiscriminantAnalysis()), 0.4),
        Base("LR scaled C=10", 0.06, p(lr(10.0)), 0.4),
        Base("LDA shrinkage", 0.05, lda, 0.3),
        Base("LR sqrt features", 0.05, lr_best, 0.3),
        Base("blend LR+LDA+RF", 0.03, (lr_best + lda + rf) / 3, 0.2),
    ]


T3_DESC = """\
# Leaf species

Identify the species of a leaf from features extracted from its image. There are
32 species (8 genera of 4 species each; species of one genus look alike) and only
about 10 training leaves per species. In the spirit of Kaggle's *Leaf Classification*;
the data is synthetic.

## Files

- `train.csv` - the training set: `id`, `species`, and 48 features
- `test.csv` - the test set: `id` and the features
- `sample_submission.csv` - a submission in the correct format

Features, 16 of each kind: `margin1`-`margin16` and `texture1`-`texture16` are
histograms (each block sums to 1), `shape1`-`shape16` is a contour descriptor.

## Submission

For every `id` in `test.csv`, a probability for each of the 32 species (columns
named as in `sample_submission.csv`, e.g. `Acer_Alba`). Rows are normalised by the grader:

```
id,Acer_Alba,Acer_Campestris,...,Ulmus_Saccharum
2,0.03125,0.03125,...,0.03125
...
```

## Evaluation

Multi-class logarithmic loss: -1/N sum_i sum_j y_ij log(p_ij), where predicted
probabilities are clipped to [1e-15, 1 - 1e-15] and each row is rescaled to sum to 1.
"""


# --------------------------------------------------------------------------
# task 4: taxi fares from pickup/dropoff coordinates and time (RMSE)
#         like new-york-city-taxi-fare-prediction
# --------------------------------------------------------------------------

T4_JFK = (-73.7822, 40.6441)
T4_LGA = (-73.8740, 40.7769)


def haversine_km(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = (np.deg2rad(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


def t4_points(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pickup/dropoff locations: a long, thin 'Manhattan', boroughs, two airports."""
    kind = rng.choice(4, n, p=[0.72, 0.16, 0.08, 0.04])  # manhattan, borough, JFK, LGA
    t = rng.uniform(0, 1, n)
    lon = -74.012 + 0.075 * t + rng.normal(0, 0.006, n)
    lat = 40.705 + 0.095 * t + rng.normal(0, 0.006, n)
    b = kind == 1
    lon[b] = rng.normal(-73.95, 0.04, b.sum())
    lat[b] = rng.normal(40.68, 0.03, b.sum())
    for code, (x, y) in ((2, T4_JFK), (3, T4_LGA)):
        m = kind == code
        lon[m] = x + rng.normal(0, 0.002, m.sum())
        lat[m] = y + rng.normal(0, 0.002, m.sum())
    return lon, lat, kind


def t4_build(rng: np.random.Generator) -> Built:
    n = 3000
    start = pd.Timestamp("2009-01-01").value // 10 ** 9
    end = pd.Timestamp("2015-06-30").value // 10 ** 9
    secs = rng.integers(start, end, n)
    # more trips in the evening: resample the hour of day
    hour = rng.choice(24, n, p=softmax(np.array([[0.6, 0.3, 0, -0.4, -0.8, -0.9, -0.3, 0.3, 0.6, 0.6, 0.5, 0.5,
                                                   0.6, 0.6, 0.6, 0.6, 0.6, 0.8, 1.0, 1.1, 1.0, 0.9, 0.9, 0.8]]))[0])
    secs = secs - secs % 86400 + hour * 3600 + rng.integers(0, 3600, n)
    when = pd.to_datetime(secs, unit="s")
    plon, plat, pk = t4_points(rng, n)
    dlon, dlat, dk = t4_points(rng, n)
    # most rides are short hops near the pickup
    local = (rng.random(n) < 0.7) & (pk <= 1)
    dlon[local] = plon[local] + rng.laplace(0, 0.010, local.sum())
    dlat[local] = plat[local] + rng.laplace(0, 0.014, local.sum())
    dk[local] = pk[local]
    # avoid trips within an airport
    same_airport = (pk >= 2) & (pk == dk)
    dlon[same_airport] = -73.98 + rng.normal(0, 0.01, same_airport.sum())
    dlat[same_airport] = 40.75 + rng.normal(0, 0.01, same_airport.sum())
    dk[same_airport] = 0
    km = haversine_km(plon, plat, dlon, dlat) * rng.normal(1.30, 0.04, n)
    miles = km / 1.609
    weekday = when.dayofweek.to_numpy() < 5
    h = when.hour.to_numpy()
    rush = weekday & (((h >= 7) & (h <= 9)) | ((h >= 16) & (h <= 19)))
    mph = np.where(rush, 7.0, np.where((h >= 22) | (h <= 5), 20.0, 12.0)) * rng.lognormal(0, 0.1, n)
    minutes = miles / mph * 60
    new_rate = when >= pd.Timestamp("2012-09-04")
    fare = 2.5 + np.where(new_rate, 2.5, 2.0) * miles + 0.3 * minutes * rng.lognormal(0, 0.1, n)
    fare += 0.5 * ((h >= 20) | (h <= 5)) + 1.0 * (weekday & (h >= 16) & (h <= 19))
    jfk_manhattan = ((pk == 2) & (dk == 0)) | ((dk == 2) & (pk == 0))
    fare = np.where(jfk_manhattan, np.where(new_rate, 52.0, 45.0), fare)
    crossing = ((pk == 0) & (dk == 1)) | ((pk == 1) & (dk == 0))  # bridge or tunnel
    fare += 5.33 * (rng.random(n) < 0.8) * crossing  # tolls
    fare += rng.normal(0, 0.5, n) + (rng.random(n) < 0.01) * rng.uniform(-3, 15, n)
    fare = np.maximum(2.5, np.round(fare * 2) / 2)
    passengers = rng.choice(np.arange(1, 7), n, p=[0.69, 0.15, 0.05, 0.03, 0.05, 0.03])
    missing = rng.random(n) < 0.015  # GPS dropouts, as in the real data
    coords = [np.round(v, 6) for v in (plon, plat, dlon, dlat)]
    for v in coords:
        v[missing] = 0.0
    frac = rng.integers(1, 10 ** 7, n)
    df = pd.DataFrame({
        "key": [f"{w:%Y-%m-%d %H:%M:%S}.{f:07d}" for w, f in zip(when, frac)],
        "fare_amount": fare,
        "pickup_datetime": [f"{w:%Y-%m-%d %H:%M:%S} UTC" for w in when],
        "pickup_longitude": coords[0], "pickup_latitude": coords[1],
        "dropoff_longitude": coords[2], "dropoff_latitude": coords[3],
        "passenger_count": passengers,
    })
    assert df.key.is_unique
    roles = assign_roles(n, rng)
    train, test, answers, is_val = split_frame(df, roles, rng, "key", ["fare_amount"])
    mean = round(float(train.fare_amount.mean()), 2)
    sample = pd.DataFrame({"key": test.key, "fare_amount": mean})
    return Built(train, test, answers, is_val, sample)


def t4_features(d: pd.DataFrame, level: int) -> pd.DataFrame:
    """0: the raw numeric columns; 1: + distance and time; 2: + airports, rate change."""
    x = d[["pickup_longitude", "pickup_latitude", "dropoff_longitude", "dropoff_latitude",
           "passenger_count"]].astype(float).copy()
    if level >= 1:
        t = pd.to_datetime(d.pickup_datetime.str.slice(0, 19))
        x["km"] = haversine_km(x.pickup_longitude, x.pickup_latitude, x.dropoff_longitude, x.dropoff_latitude)
        x["hour"] = t.dt.hour
        x["weekday"] = t.dt.dayofweek
        x["year"] = t.dt.year + t.dt.dayofyear / 366
    if level >= 2:
        for name, (lon, lat) in (("jfk", T4_JFK), ("lga", T4_LGA)):
            x[f"{name}_pick"] = haversine_km(x.pickup_longitude, x.pickup_latitude, lon, lat)
            x[f"{name}_drop"] = haversine_km(x.dropoff_longitude, x.dropoff_latitude, lon, lat)
        x["missing"] = (x.pickup_longitude == 0).astype(float)
    return x


def t4_population(c: Ctx) -> list[Base]:
    y = c.train.fare_amount.to_numpy()
    f = {k: (t4_features(c.train, k), t4_features(c.test, k)) for k in (0, 1, 2)}
    n = len(c.test)

    def r(m, k):
        xtr, xte = f[k]
        m.fit(xtr, y)
        return m.predict(xte).reshape(-1, 1)

    hgb_t = dict(learning_rate=0.05, max_iter=400, max_leaf_nodes=15, min_samples_leaf=10, random_state=0)
    # a "distance only" formula model: fare = a + b * km fitted on clean rows
    km_tr, km_te = f[1][0].km.to_numpy(), f[1][1].km.to_numpy()
    ok = (km_tr > 0) & (km_tr < 60)
    b, a = np.polyfit(km_tr[ok], y[ok], 1)
    return [
        Base("sample (mean fare)", 0.05, np.full((n, 1), y.mean()), 0.0),
        Base("median fare", 0.02, np.full((n, 1), np.median(y)), 0.0),
        Base("Ridge raw", 0.12, r(Ridge(), 0), 0.5),
        Base("kNN-10 raw", 0.05, r(KNN(10, regress=True), 0), 0.5),
        Base("tree depth 4 raw", 0.04, r(DecisionTreeRegressor(max_depth=4, random_state=0), 0), 0.5),
        Base("RF raw", 0.07, r(RandomForestRegressor(200, random_state=0, n_jobs=-1), 0), 0.5),
        Base("Ridge + distance", 0.09, r(Ridge(), 1), 0.5),
        Base("linear fare formula", 0.06, (a + b * km_te).reshape(-1, 1), 0.5),
        Base("tree depth 6 + distance", 0.05, r(DecisionTreeRegressor(max_depth=6, random_state=0), 1), 0.4),
        Base("kNN-10 + distance scaled", 0.04, r(make_pipeline(StandardScaler(), KNN(10, regress=True)), 1), 0.4),
        Base("RF + distance", 0.10, r(RandomForestRegressor(300, min_samples_leaf=2, random_state=0, n_jobs=-1), 1), 0.4),
        Base("HGB + distance", 0.10, r(HistGradientBoostingRegressor(random_state=0), 1), 0.4),
        Base("RF + airports", 0.08, r(RandomForestRegressor(300, min_samples_leaf=2, random_state=0, n_jobs=-1), 2), 0.3),
        Base("HGB + airports", 0.08, r(HistGradientBoostingRegressor(random_state=0), 2), 0.3),
        Base("tuned HGB + airports", 0.05, r(HistGradientBoostingRegressor(**hgb_t), 2), 0.2),
    ]


T4_DESC = """# Taxi fare prediction

Predict the fare (in USD, tolls included) of a taxi ride given its pickup time and the
pickup and dropoff coordinates. The rides are synthetic, in the spirit of Kaggle's
*New York City Taxi Fare Prediction*: a city with a long, narrow centre, outer
boroughs and two airports; fares changed over the years.

## Files

- `train.csv` - the training set: `key`, `fare_amount`, `pickup_datetime`,
  `pickup_longitude`, `pickup_latitude`, `dropoff_longitude`, `dropoff_latitude`,
  `passenger_count`
- `test.csv` - the test set: the same columns without `fare_amount`
- `sample_submission.csv` - a submission in the correct format

`key` is a unique string id per ride. Some coordinates are missing (recorded as 0).

## Submission

For every `key` in `test.csv`, the predicted `fare_amount`:

```
key,fare_amount
2013-07-02 19:54:12.0000123,11.35
...
```

## Evaluation

Root mean squared error between predicted and actual fares.
"""


# --------------------------------------------------------------------------
# task 5: two positive targets of (Al, Ga, In) oxides (mean column-wise RMSLE)
#         like nomad2018-predict-transparent-conductors
# --------------------------------------------------------------------------

T5_SPACEGROUPS = np.array([12, 33, 167, 194, 206, 227])
T5_TARGETS = ["formation_energy_ev_natom", "bandgap_energy_ev"]


def t5_build(rng: np.random.Generator) -> Built:
    n = 2000
    g = rng.choice(6, n, p=[0.18, 0.16, 0.13, 0.20, 0.20, 0.13])
    sg = T5_SPACEGROUPS[g]
    atoms_by_sg = {0: [20, 40, 80], 1: [40, 80], 2: [30, 60], 3: [10, 20, 30, 40, 60, 80], 4: [80], 5: [40, 80]}
    natoms = np.array([rng.choice(atoms_by_sg[k]) for k in g])
    # cation fractions on a grid of 1/16 (like the real data's percentages)
    pr = rng.dirichlet([0.9, 0.9, 0.9], n)
    counts = np.array([rng.multinomial(16, q) for q in pr])
    x = counts / 16.0
    xal, xga, xin = x[:, 0], x[:, 1], x[:, 2]
    # lattice: In is larger, Al smaller; each space group has its own cell shape
    a0 = 5.0 + 0.75 * xin - 0.45 * xal + rng.normal(0, 0.03, n)
    shape = np.array([[2.4, 0.6, 1.15], [1.0, 1.75, 0.95], [1.0, 1.0, 2.7], [1.2, 1.0, 1.4],
                      [1.87, 1.87, 1.87], [1.85, 1.0, 1.0]])[g]
    scale = (natoms / 40.0) ** (1 / 3)
    vec = a0[:, None] * shape * scale[:, None] * rng.normal(1, 0.015, (n, 3))
    angles = np.array([[90, 103.7, 90], [90, 90, 90], [90, 90, 120], [90, 90, 120], [90, 90, 90],
                       [90, 90, 90]], dtype=float)[g]
    noisy = np.isin(sg, [206, 227])
    angles = angles + rng.normal(0, 0.2, (n, 3)) + noisy[:, None] * rng.normal(0, 2.0, (n, 3))
    vol_atom = np.prod(vec, axis=1) / natoms
    vz = (vol_atom - vol_atom.mean()) / vol_atom.std()
    # band gap: composition (with bowing), space group, volume; formation energy: mixing
    eg_sg = np.array([0.15, -0.1, 0.35, 0.0, -0.2, 0.45])[g]
    in_slope = np.array([1.8, 1.3, 2.2, 1.5, 1.0, 2.4])[g]
    eg = (5.9 * xal + 4.4 * xga + in_slope * xin - 2.4 * xal * xin - 1.1 * xga * xin - 0.7 * xal * xga
          + eg_sg - 0.25 * vz + rng.normal(0, 0.06, n))
    ef_sg = np.array([0.02, 0.05, -0.02, 0.0, 0.07, 0.04])[g]
    dist = np.abs(angles - np.round(angles / 30) * 30).sum(axis=1)
    mix = np.array([1.0, 0.7, 1.3, 0.9, 1.2, 0.6])[g]
    ef = (0.10 + mix * (0.55 * xal * xin + 0.30 * xga * xin + 0.22 * xal * xga) + ef_sg + 0.06 * xal - 0.05 * xin
          + 0.015 * dist + 0.04 * (natoms == 10) + rng.normal(0, 0.012, n))
    df = pd.DataFrame({
        "spacegroup": sg, "number_of_total_atoms": natoms.astype(float),
        "percent_atom_al": xal.round(4), "percent_atom_ga": xga.round(4), "percent_atom_in": xin.round(4),
        "lattice_vector_1_ang": vec[:, 0].round(4), "lattice_vector_2_ang": vec[:, 1].round(4),
        "lattice_vector_3_ang": vec[:, 2].round(4),
        "lattice_angle_alpha_degree": angles[:, 0].round(4), "lattice_angle_beta_degree": angles[:, 1].round(4),
        "lattice_angle_gamma_degree": angles[:, 2].round(4),
        "formation_energy_ev_natom": np.clip(ef, 0.0, None).round(4),
        "bandgap_energy_ev": np.clip(eg, 0.05, None).round(4),
    })
    roles = assign_roles(n, rng)
    train, test, answers, is_val = split_frame(df, roles, rng, "id", T5_TARGETS,
                                                ids=lambda a, b: (list(range(1, a + 1)), list(range(a + 1, a + b + 1))))
    sample = pd.DataFrame({"id": test.id})
    for c in T5_TARGETS:
        sample[c] = round(float(train[c].mean()), 4)
    return Built(train, test, answers, is_val, sample)


def t5_features(d: pd.DataFrame, eng: bool) -> pd.DataFrame:
    x = d.drop(columns=["id"] + T5_TARGETS, errors="ignore").astype(float)
    if eng:
        for k in T5_SPACEGROUPS:
            x[f"sg_{k}"] = (d.spacegroup == k).astype(float)
        a, g, i = x.percent_atom_al, x.percent_atom_ga, x.percent_atom_in
        x["al_in"], x["ga_in"], x["al_ga"] = a * i, g * i, a * g
        x["vol_atom"] = x.lattice_vector_1_ang * x.lattice_vector_2_ang * x.lattice_vector_3_ang / x.number_of_total_atoms
        for k in ("alpha", "beta", "gamma"):
            v = x[f"lattice_angle_{k}_degree"]
            x[f"{k}_dev"] = np.abs(v - np.round(v / 30) * 30)
    return x


def t5_population(c: Ctx) -> list[Base]:
    y = c.train[T5_TARGETS].to_numpy()
    f = {k: (t5_features(c.train, k), t5_features(c.test, k)) for k in (False, True)}
    n = len(c.test)

    def r(make, eng=False, log=False):
        xtr, xte = f[eng]
        out = []
        for j in range(2):
            m = make()
            t = np.log1p(y[:, j]) if log else y[:, j]
            m.fit(xtr, t)
            p = m.predict(xte)
            out.append(np.expm1(p) if log else p)
        return np.clip(np.stack(out, axis=1), 0, None)

    hgb_t = dict(learning_rate=0.04, max_iter=500, max_leaf_nodes=10, min_samples_leaf=15,
                 l2_regularization=1.0, random_state=0)
    return [
        Base("sample (train means)", 0.05, np.tile(y.mean(axis=0), (n, 1)), 0.0),
        Base("Ridge raw", 0.12, r(Ridge), 0.5),
        Base("kNN-10 raw", 0.05, r(lambda: KNN(10, regress=True)), 0.5),
        Base("tree depth 4", 0.05, r(lambda: DecisionTreeRegressor(max_depth=4, random_state=0)), 0.5),
        Base("tree depth 10", 0.04, r(lambda: DecisionTreeRegressor(max_depth=10, random_state=0)), 0.4),
        Base("kNN-10 scaled", 0.05, r(lambda: make_pipeline(StandardScaler(), KNN(10, regress=True)), True), 0.4),
        Base("Ridge engineered", 0.08, r(lambda: make_pipeline(StandardScaler(), Ridge(1.0)), True), 0.4),
        Base("RF raw", 0.10, r(lambda: RandomForestRegressor(200, random_state=0, n_jobs=-1)), 0.4),
        Base("ExtraTrees raw", 0.05, r(lambda: ExtraTreesRegressor(200, random_state=0, n_jobs=-1)), 0.4),
        Base("HGB raw", 0.10, r(lambda: HistGradientBoostingRegressor(random_state=0)), 0.3),
        Base("RF engineered, log targets", 0.08, r(lambda: RandomForestRegressor(300, min_samples_leaf=2, random_state=0, n_jobs=-1), True, True), 0.3),
        Base("HGB engineered, log targets", 0.08, r(lambda: HistGradientBoostingRegressor(random_state=0), True, True), 0.25),
        Base("tuned HGB engineered, log targets", 0.04, r(lambda: HistGradientBoostingRegressor(**hgb_t), True, True), 0.15),
        Base("ExtraTrees engineered, log targets", 0.03, r(lambda: ExtraTreesRegressor(300, random_state=0, n_jobs=-1), True, True), 0.15),
    ]


T5_DESC = """\
# Transparent conductors

Predict two properties of (Al, Ga, In) sesquioxide crystals from their composition and
lattice: the formation energy per atom (an indication of stability) and the band gap
(an indication of transparency). Synthetic, in the spirit of Kaggle's
*Nomad2018 Predicting Transparent Conductors*.

## Files

- `train.csv` - the training set: `id`, the features, `formation_energy_ev_natom`, `bandgap_energy_ev`
- `test.csv` - the test set: `id` and the features
- `sample_submission.csv` - a submission in the correct format

Features: `spacegroup` (a label: 12, 33, 167, 194, 206 or 227), `number_of_total_atoms`,
`percent_atom_al`, `percent_atom_ga`, `percent_atom_in` (cation fractions, summing to 1),
`lattice_vector_1_ang`, `lattice_vector_2_ang`, `lattice_vector_3_ang` (Angstrom),
`lattice_angle_alpha_degree`, `lattice_angle_beta_degree`, `lattice_angle_gamma_degree`.

## Submission

For every `id` in `test.csv`, both targets (non-negative):

```
id,formation_energy_ev_natom,bandgap_energy_ev
1001,0.1779,1.8892
...
```

## Evaluation

The mean over the two columns of the root mean squared logarithmic error,
sqrt(1/n sum_i (log(p_i + 1) - log(a_i + 1))^2).
"""


# --------------------------------------------------------------------------
# task 6: small PNG images, binary detection (AUC)
#         like aerial-cactus-identification
# --------------------------------------------------------------------------

T6_LOOP_DIGITS = [0, 6, 8, 9]  # digits drawn with a closed loop


def t6_render(rng: np.random.Generator, digit8: np.ndarray) -> np.ndarray:
    """A load_digits 8x8 image, upscaled, rotated and placed on a noisy 32x32 canvas."""
    a = (digit8 / 16 * 255).astype(np.uint8)
    size = int(rng.integers(18, 25))
    im = Image.fromarray(a).resize((size, size), Image.BICUBIC)
    im = im.rotate(float(rng.normal(0, 10)), resample=Image.BILINEAR)
    fg = np.asarray(im, dtype=float) / 255
    yy, xx = np.mgrid[0:32, 0:32]
    canvas = (rng.uniform(40, 140) + rng.uniform(-30, 30) * (xx / 31 - 0.5)
              + rng.uniform(-30, 30) * (yy / 31 - 0.5) + rng.normal(0, 12, (32, 32)))
    ox, oy = rng.integers(0, 33 - size, 2)
    contrast = rng.uniform(70, 150) * (1 if rng.random() < 0.9 else -1)
    canvas[oy:oy + size, ox:ox + size] += contrast * fg
    return np.clip(canvas, 0, 255).round().astype(np.uint8)


def png_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, format="PNG", optimize=False)
    return buf.getvalue()


def t6_build(rng: np.random.Generator) -> Built:
    digits = load_digits()
    n = len(digits.target)
    images = [t6_render(rng, digits.images[k]) for k in range(n)]
    names = [h + ".png" for h in hex_ids(rng, n, 16)]
    y = np.isin(digits.target, T6_LOOP_DIGITS).astype(int)
    df = pd.DataFrame({"id": names, "has_loop": y})
    roles = assign_roles(n, rng)
    train, test, answers, is_val = split_frame(df, roles, rng, "id", ["has_loop"])
    files = {f"images/{name}": png_bytes(im) for name, im in zip(names, images)}
    prior = round(float(train.has_loop.mean()), 5)
    sample = pd.DataFrame({"id": test.id, "has_loop": prior})
    return Built(train, test, answers, is_val, sample, files)


def t6_load(public: Path, ids) -> np.ndarray:
    return np.stack([np.asarray(Image.open(public / "images" / i), dtype=np.uint8) for i in ids])


def t6_normalize(im: np.ndarray, out: int = 16) -> np.ndarray:
    """Make the digit bright on dark, crop it to its bounding box, resize."""
    z = im.astype(float) - np.median(im)
    if abs(z.min()) > abs(z.max()):
        z = -z
    z = np.clip(z, 0, None) / (z.max() + 1e-9)
    z = np.where(z > 0.3, z, 0)
    ys, xs = np.nonzero(z > 0.5)
    if len(ys) == 0:
        return np.zeros(out * out)
    crop = z[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    c = Image.fromarray((crop * 255).astype(np.uint8)).resize((out, out), Image.BILINEAR)
    return np.asarray(c, dtype=float).ravel() / 255


def t6_population(c: Ctx) -> list[Base]:
    pub = c.extra["public"]
    y = c.train.has_loop.to_numpy()
    itr, ite = t6_load(pub, c.train.id), t6_load(pub, c.test.id)
    raw = (itr.reshape(len(itr), -1) / 255.0, ite.reshape(len(ite), -1) / 255.0)
    nrm = (np.stack([t6_normalize(i) for i in itr]), np.stack([t6_normalize(i) for i in ite]))
    small = (np.stack([t6_normalize(i, 8) for i in itr]), np.stack([t6_normalize(i, 8) for i in ite]))
    n = len(ite)

    def p(m, f):
        return pos(m, f[0], y, f[1])

    svc = p(make_pipeline(StandardScaler(), SVC(C=10, probability=True, random_state=0)), nrm)
    hgb = p(HistGradientBoostingClassifier(random_state=0), small)
    return [
        Base("sample (prior)", 0.06, np.full((n, 1), y.mean()), 0.0),
        Base("random", 0.02, c.rng.random((n, 1)), 1.0),
        Base("LR default, pixels", 0.12, p(LogisticRegression(), raw), 0.6),
        Base("kNN-10 pixels", 0.05, p(KNN(10), raw), 0.6),
        Base("RF pixels", 0.08, p(RandomForestClassifier(300, random_state=0, n_jobs=-1), raw), 0.5),
        Base("PCA + SVC pixels", 0.08, p(make_pipeline(StandardScaler(), PCA(40, random_state=0), SVC(C=10, probability=True, random_state=0)), raw), 0.5),
        Base("HGB pixels", 0.06, p(HistGradientBoostingClassifier(max_iter=100, random_state=0), raw), 0.5),
        Base("LR normalized 8x8", 0.08, p(lr(0.1), small), 0.5),
        Base("kNN-10 normalized", 0.07, p(KNN(10), nrm), 0.5),
        Base("LR normalized 16x16", 0.08, p(lr(0.1), nrm), 0.4),
        Base("RF normalized", 0.10, p(RandomForestClassifier(300, random_state=0, n_jobs=-1), nrm), 0.4),
        Base("HGB normalized 8x8", 0.07, hgb, 0.3),
        Base("SVC normalized", 0.06, svc, 0.25),
        Base("blend SVC + HGB", 0.03, (svc + hgb) / 2, 0.2),
    ]


T6_DESC = """\
# Loop detection

Each image is a 32x32 grayscale photo of a handwritten digit on a noisy, unevenly lit
background; digits vary in size, position, slant and contrast (a few are dark on light).
Predict whether the digit is drawn with a closed loop (the digits 0, 6, 8 and 9:
`has_loop` = 1) or not (1, 2, 3, 4, 5, 7: `has_loop` = 0). In the spirit of Kaggle's
*Aerial Cactus Identification*; the images are made from scikit-learn's digits data.

## Files

- `images/` - all images, train and test, as PNG files named `<id>`
- `train.csv` - the training set: `id` (the image's file name, e.g. `0a1b...9f.png`) and `has_loop` (0 or 1)
- `test.csv` - the test set: `id`
- `sample_submission.csv` - a submission in the correct format

## Submission

For every `id` in `test.csv`, the predicted probability that the digit has a loop:

```
id,has_loop
3f2c...e1.png,0.4
...
```

## Evaluation

Area under the ROC curve between the predicted probability and the observed label.
"""


# --------------------------------------------------------------------------
# task 7: which of 3 authors wrote a sentence (multi-class log loss)
#         like spooky-author-identification
# --------------------------------------------------------------------------

T7_WORDS = dict(
    noun="""night house door window room wall stone sea shore wind moon sky star darkness light
        shadow face eye hand heart voice silence sound dream sleep death grave tomb corpse body blood
        bone skull mind soul spirit thought memory fear horror terror dread joy grief sorrow love hope
        despair friend father mother brother sister child stranger man woman figure form thing creature
        beast city town village street hill mountain valley forest tree river lake garden field ruin
        temple altar book letter page word name secret truth madness reason nature world earth fire
        smoke fog mist rain storm tower cellar attic chamber corridor stair vault passage ship island
        cave abyss depth ocean cult idol""".split(),
    adj="""dark pale cold ancient old strange terrible hideous dreadful gloomy silent dim faint black
        white grey red deep vast narrow long low high wild sweet gentle tender fair bright happy
        wretched miserable unhappy lonely weary feeble solemn peculiar singular curious remarkable
        extreme intense unnatural nameless unknown cosmic monstrous blasphemous eldritch cyclopean
        decayed rotting damp mouldy ghastly frightful fearful beautiful lovely dear beloved noble kind
        cruel bitter mad insane calm quiet sudden certain""".split(),
    verb="""saw heard felt found knew thought believed feared loved hated sought watched followed
        entered left opened closed reached touched seized beheld perceived observed examined discovered
        remembered forgot whispered cried screamed spoke said told asked answered wept sighed trembled
        shuddered fled ran walked wandered climbed descended fell rose stood waited gazed stared dreamed
        slept woke died lived suffered endured resolved determined""".split(),
    adv="""slowly quickly suddenly softly silently again never always still once indeed perhaps
        certainly truly hardly scarcely gradually presently utterly wholly deeply strangely""".split(),
)
T7_DET = "the a this that my his her their some every no".split()
T7_PREP = "of in upon with from beneath beyond through over into within among toward before".split()
T7_PRON = "I he she we they it".split()
T7_JOIN = [", and ", "; ", ", but ", ", which ", ", and then "]
T7_END = [".", "!", "?"]
T7_AUTHORS = ["ORM", "TLD", "VEC"]
T7_STYLE = [  # per author: clauses per sentence, adjective rate, joiners, endings, pronouns, templates
    dict(clauses=[0.15, 0.35, 0.3, 0.2], adj=0.5, join=[0.35, 0.3, 0.15, 0.2, 0.0], end=[0.97, 0.01, 0.02],
         pron=[0.45, 0.2, 0.1, 0.1, 0.05, 0.1], tmpl=[0.35, 0.25, 0.25, 0.15]),
    dict(clauses=[0.2, 0.4, 0.3, 0.1], adj=0.75, join=[0.5, 0.15, 0.1, 0.1, 0.15], end=[0.98, 0.01, 0.01],
         pron=[0.2, 0.3, 0.1, 0.15, 0.15, 0.1], tmpl=[0.2, 0.4, 0.3, 0.1]),
    dict(clauses=[0.4, 0.35, 0.2, 0.05], adj=0.4, join=[0.4, 0.35, 0.2, 0.05, 0.0], end=[0.8, 0.15, 0.05],
         pron=[0.4, 0.2, 0.25, 0.1, 0.03, 0.02], tmpl=[0.45, 0.2, 0.2, 0.15]),
]


class T7Writer:
    """Sentences from a small grammar; each author has word preferences, pet
    phrases (adverb + adjective), and habits of punctuation and length.
    A share of clauses uses the common, author-free word distribution."""

    def __init__(self, rng: np.random.Generator, sig=0.8, generic=0.35, pet=0.35):
        self.rng, self.generic, self.pet = rng, generic, pet
        base = {pos: -0.9 * np.log(np.arange(1, len(ws) + 1))[rng.permutation(len(ws))]
                for pos, ws in T7_WORDS.items()}
        self.common = {pos: softmax(z[None, :])[0] for pos, z in base.items()}
        self.dists = [{pos: softmax((z + sig * rng.normal(0, 1, len(z)))[None, :])[0] for pos, z in base.items()}
                      for _ in T7_AUTHORS]
        adv, adj = T7_WORDS["adv"], T7_WORDS["adj"]
        self.pets = [[f"{adv[rng.integers(len(adv))]} {adj[rng.integers(len(adj))]}" for _ in range(12)]
                     for _ in T7_AUTHORS]

    def word(self, pos, d):
        return T7_WORDS[pos][self.rng.choice(len(T7_WORDS[pos]), p=d[pos])]

    def noun_phrase(self, a, d):
        r, st = self.rng, T7_STYLE[a]
        out = [T7_DET[r.integers(len(T7_DET))]]
        if r.random() < self.pet:
            out.append(self.pets[a][r.integers(12)])
        elif r.random() < st["adj"]:
            out.append(self.word("adj", d))
        out.append(self.word("noun", d))
        return " ".join(out)

    def clause(self, a):
        r, st = self.rng, T7_STYLE[a]
        d = self.common if r.random() < self.generic else self.dists[a]
        t = r.choice(4, p=st["tmpl"])
        pron = T7_PRON[r.choice(6, p=st["pron"])]
        prep = T7_PREP[r.integers(len(T7_PREP))]
        if t == 0:
            s = f"{pron} {self.word('verb', d)} {self.noun_phrase(a, d)}"
            if r.random() < 0.6:
                s += f" {prep} {self.noun_phrase(a, d)}"
        elif t == 1:
            s = f"{self.noun_phrase(a, d)} {self.word('verb', d)} {prep} {self.noun_phrase(a, d)}"
        elif t == 2:
            s = f"{self.noun_phrase(a, d)} of {self.noun_phrase(a, d)} was {self.word('adj', d)}"
            if r.random() < st["adj"]:
                s += f" and {self.word('adj', d)}"
        else:
            s = f"{self.word('adv', d)} {pron} {self.word('verb', d)} {self.noun_phrase(a, d)}"
        return s

    def sentence(self, a):
        r, st = self.rng, T7_STYLE[a]
        s = self.clause(a)
        for _ in range(r.choice(4, p=st["clauses"])):
            s += T7_JOIN[r.choice(5, p=st["join"])] + self.clause(a)
        return s[0].upper() + s[1:] + T7_END[r.choice(3, p=st["end"])]


def t7_build(rng: np.random.Generator) -> Built:
    n = 3000
    w = T7Writer(rng)
    y = rng.choice(3, n, p=[0.40, 0.29, 0.31])
    texts = [w.sentence(a) for a in y]
    df = pd.DataFrame({"id": [f"id{k:05d}" for k in rng.choice(100000, n, replace=False)],
                       "text": texts, "author": np.array(T7_AUTHORS)[y]})
    onehot = pd.DataFrame((y[:, None] == np.arange(3)[None, :]).astype(int), columns=T7_AUTHORS)
    roles = assign_roles(n, rng)
    train, test, answers, is_val = split_frame(df, roles, rng, "id", ["author"], answer_frame=onehot)
    sample = pd.DataFrame({"id": test.id})
    prior = train.author.value_counts(normalize=True)
    for c in T7_AUTHORS:
        sample[c] = round(float(prior[c]), 5)
    return Built(train, test, answers, is_val, sample)


T7_TOKENS = r"[\w]+|[;!?,]"  # words and punctuation


def t7_population(c: Ctx) -> list[Base]:
    y = c.train.author.to_numpy()
    classes = c.targets
    a, b = c.train.text.tolist(), c.test.text.tolist()
    n = len(b)

    def p(vec, m):
        return proba(m, vec.fit_transform(a), y, vec.transform(b), classes)

    word12 = p(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LogisticRegression(C=10, max_iter=3000))
    punct = p(CountVectorizer(token_pattern=T7_TOKENS), LogisticRegression(C=0.3, max_iter=3000))
    chars = p(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
              LogisticRegression(C=10, max_iter=3000))
    nb12 = p(CountVectorizer(token_pattern=T7_TOKENS, ngram_range=(1, 2)), MultinomialNB(alpha=1.0))
    prior = c.train.author.value_counts(normalize=True)[classes].to_numpy()
    return [
        Base("sample (prior)", 0.06, np.tile(prior, (n, 1)), 0.0),
        Base("uniform", 0.02, np.full((n, 3), 1 / 3), 0.0),
        Base("BoW + LR default", 0.14, p(CountVectorizer(), LogisticRegression()), 0.5),
        Base("BoW + NB", 0.08, p(CountVectorizer(), MultinomialNB()), 0.5),
        Base("tf-idf + LR", 0.10, p(TfidfVectorizer(), LogisticRegression()), 0.5),
        Base("BoW top-200 words + LR", 0.05, p(CountVectorizer(max_features=200), LogisticRegression()), 0.5),
        Base("kNN-25 tf-idf", 0.04, p(TfidfVectorizer(), KNN(25)), 0.4),
        Base("RF BoW", 0.05, p(CountVectorizer(min_df=3), RandomForestClassifier(300, random_state=0, n_jobs=-1)), 0.4),
        Base("NB 1-2-grams + punctuation", 0.06, nb12, 0.4),
        Base("chars + LR", 0.07, chars, 0.4),
        Base("words + punctuation + LR", 0.09, punct, 0.3),
        Base("tf-idf 1-2-grams + LR", 0.09, word12, 0.3),
        Base("blend of three", 0.05, (word12 + punct + chars) / 3, 0.2),
        Base("blend of four", 0.03, (word12 + punct + chars + nb12) / 4, 0.15),
    ]


T7_DESC = """\
# Author identification

Each row is one sentence from a story by one of three (fictional) authors of gothic
tales: `ORM`, `TLD` and `VEC`. Predict the probability that each author wrote it.
In the spirit of Kaggle's *Spooky Author Identification*; the sentences are synthetic
(a small grammar with each author's preferred words, turns of phrase and punctuation),
so do not expect them to make sense.

## Files

- `train.csv` - the training set: `id`, `text`, `author` (`ORM`, `TLD` or `VEC`)
- `test.csv` - the test set: `id`, `text`
- `sample_submission.csv` - a submission in the correct format

## Submission

For every `id` in `test.csv`, one probability per author:

```
id,ORM,TLD,VEC
id02310,0.403,0.287,0.31
...
```

## Evaluation

Multi-class logarithmic loss: -1/N sum_i sum_j y_ij log(p_ij), where predicted
probabilities are clipped to [1e-15, 1 - 1e-15] and each row is rescaled to sum to 1.
"""


# --------------------------------------------------------------------------
# task 8: multi-label tagging of customer messages (mean column-wise ROC AUC)
#         like jigsaw-toxic-comment-classification-challenge
# --------------------------------------------------------------------------

T8_LABELS = ["complaint", "urgent", "billing", "technical", "cancellation"]
T8_SLOTS = dict(
    product=["router", "app", "account", "subscription", "phone", "laptop", "printer", "website",
             "dashboard", "plan", "modem", "tablet", "order", "delivery", "service"],
    period=["yesterday", "last week", "this morning", "two days ago", "since Monday", "for a month",
            "all weekend", "last night", "since the update", "for weeks"],
    amount=["$12", "$29.99", "$45", "$9.50", "$120", "$60", "twice", "double", "$5", "$80"],
    err=["error 403", "error 500", "a blank screen", "a timeout", "code E42", "a crash",
         "a spinning wheel", "an invalid token message", "a sync failure", "a login loop"],
)
T8_CUES = {
    "complaint": [
        "This is really disappointing.", "I am not happy with your {product} at all.",
        "Frankly the {product} has been a mess {period}.", "Worst experience I have had with a {product}.",
        "I expected much better from you.", "Your support keeps ignoring me.",
        "I have been waiting {period} and nobody answered.", "This is unacceptable.",
        "Honestly I regret choosing this {product}.", "I am fed up with this.",
        "Nobody seems to care about the {product} problem.", "The quality went downhill {period}.",
    ],
    "urgent": [
        "Please help ASAP!", "This needs fixing today.", "URGENT: my {product} is down!",
        "I need this resolved right now.", "Please respond immediately, it is critical.",
        "Our whole team is blocked, please hurry!!", "Time sensitive, I have a deadline tomorrow.",
        "Emergency - the {product} stopped working during a client call.",
    ],
    "billing": [
        "I was charged {amount} for the {product}.", "My invoice shows {amount} more than usual.",
        "Why did my card get billed {amount}?", "Please refund the {amount} charge.",
        "The payment for my {product} went through {amount}.", "My bill doubled {period}.",
        "There is a charge of {amount} I do not recognise.", "Can you explain the invoice from {period}?",
        "The direct debit failed and now I owe {amount}.", "I need a receipt for the {amount} payment.",
    ],
    "technical": [
        "The {product} shows {err} when I log in.", "I keep getting {err} {period}.",
        "The {product} crashes on startup.", "Since the update the {product} will not sync.",
        "The {product} disconnects every few minutes.", "I tried restarting but still get {err}.",
        "Reinstalling the {product} did not fix {err}.", "The {product} is extremely slow {period}.",
        "Pages on the {product} do not load, just {err}.", "The {product} freezes after a few seconds.",
    ],
    "cancellation": [
        "I want to cancel my {product}.", "Please close my account.",
        "How do I end my subscription?", "I am switching to another provider.",
        "Cancel the {product} effective immediately.", "I will not renew the {product}.",
        "Stop my plan at the end of the month.", "Please terminate the contract for my {product}.",
    ],
}
T8_DECOYS = {  # label words in sentences that do not carry the label
    "complaint": ["No complaints about the {product} otherwise.", "I am not unhappy, just curious.",
                  "I am not complaining, just asking."],
    "urgent": ["No rush on this.", "Not urgent, whenever you have time.", "Reply at your convenience."],
    "billing": ["The billing side is fine.", "My invoice looks correct this month.",
                "No issue with the payment."],
    "technical": ["The {product} itself works fine.", "No errors so far.",
                  "Technically everything runs ok."],
    "cancellation": ["I do not want to cancel, to be clear.", "I am not planning to leave.",
                     "I will keep my {product} for now."],
}
T8_FILLER = [
    "Hi there.", "Hello team,", "Thanks in advance.", "My account number is {n}.",
    "I have been a customer {period}.", "Best regards.", "Kind regards,", "Cheers.",
    "I use the {product} mostly for work.", "Let me know if you need more details.",
    "I tried the help page first.", "Sent from my {product}.", "Have a nice day.",
    "My colleague has the same {product}.", "Order reference {n}.", "Following up on my last message.",
    "I also have a question about the {product}.", "The {product} was a gift.",
]


T8_NO_CUE = 0.03  # share of positive labels without an explicit cue
T8_TYPOS = 0.03  # chance to swap two adjacent letters


def t8_fill(rng: np.random.Generator, template: str) -> str:
    out = template
    for k, vals in T8_SLOTS.items():
        while "{" + k + "}" in out:
            out = out.replace("{" + k + "}", vals[rng.integers(len(vals))], 1)
    while "{n}" in out:
        out = out.replace("{n}", str(int(rng.integers(100000, 999999))), 1)
    return out


def t8_typos(rng: np.random.Generator, s: str, rate: float) -> str:
    chars = list(s)
    for i in range(len(chars) - 1):
        if chars[i].isalpha() and chars[i + 1].isalpha() and rng.random() < rate:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def t8_build(rng: np.random.Generator) -> Built:
    n = 3000
    # correlated labels: urgency and cancellations come mostly with complaints
    complaint = rng.random(n) < 0.28
    billing = rng.random(n) < np.where(complaint, 0.30, 0.12)
    technical = rng.random(n) < np.where(complaint, 0.35, 0.15)
    urgent = rng.random(n) < np.where(complaint, 0.22, 0.03) + 0.05 * technical
    cancel = rng.random(n) < np.where(complaint, 0.16, 0.02) + 0.04 * billing
    y = np.stack([complaint, urgent, billing, technical, cancel], axis=1).astype(int)
    texts = []
    for i in range(n):
        parts = []
        for j, lab in enumerate(T8_LABELS):
            if y[i, j]:
                # some positives carry no explicit cue (label noise a model cannot fix)
                k = rng.choice([0, 1, 2], p=[T8_NO_CUE, 0.7 - T8_NO_CUE, 0.30])
                parts += [t8_fill(rng, T8_CUES[lab][rng.integers(len(T8_CUES[lab]))]) for _ in range(k)]
            elif rng.random() < 0.10:
                parts.append(t8_fill(rng, T8_DECOYS[lab][rng.integers(len(T8_DECOYS[lab]))]))
            elif rng.random() < 0.04:  # a cue of the label, written about someone else
                cue = t8_fill(rng, T8_CUES[lab][rng.integers(len(T8_CUES[lab]))])
                parts.append("My friend told me: " + cue[0].lower() + cue[1:])
        parts += [t8_fill(rng, T8_FILLER[rng.integers(len(T8_FILLER))]) for _ in range(rng.integers(1, 4))]
        order = rng.permutation(len(parts))
        text = " ".join(parts[k] for k in order)
        text = t8_typos(rng, text, T8_TYPOS)
        if y[i, 1] and rng.random() < 0.3:
            text = text.upper()
        elif rng.random() < 0.3:
            text = text.lower()
        texts.append(text)
    df = pd.DataFrame({"comment_text": texts})
    for j, lab in enumerate(T8_LABELS):
        df[lab] = y[:, j]
    df.insert(0, "id", hex_ids(rng, n, 8))
    roles = assign_roles(n, rng)
    train, test, answers, is_val = split_frame(df, roles, rng, "id", T8_LABELS)
    sample = pd.DataFrame({"id": test.id})
    for lab in T8_LABELS:
        sample[lab] = 0.5
    return Built(train, test, answers, is_val, sample)


def t8_population(c: Ctx) -> list[Base]:
    y = c.train[T8_LABELS].to_numpy()
    a, b = c.train.comment_text.tolist(), c.test.comment_text.tolist()
    n = len(b)

    def p(vec, make):
        xa, xb = vec.fit_transform(a), vec.transform(b)
        return np.stack([make().fit(xa, y[:, j]).predict_proba(xb)[:, 1] for j in range(y.shape[1])], axis=1)

    w12 = p(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2), lambda: LogisticRegression(C=4, max_iter=2000))
    ch = p(TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=3),
           lambda: LogisticRegression(C=4, max_iter=2000))
    return [
        Base("sample (0.5)", 0.06, np.full((n, 5), 0.5), 0.0),
        Base("random", 0.02, c.rng.random((n, 5)), 1.0),
        Base("BoW + LR default", 0.14, p(CountVectorizer(), LogisticRegression), 0.5),
        Base("BoW + NB", 0.08, p(CountVectorizer(), MultinomialNB), 0.5),
        Base("BoW top-100 words + LR", 0.05, p(CountVectorizer(max_features=100), LogisticRegression), 0.5),
        Base("binary BoW + LR C=0.1", 0.06, p(CountVectorizer(binary=True), lambda: LogisticRegression(C=0.1, max_iter=2000)), 0.5),
        Base("kNN-25 tf-idf", 0.04, p(TfidfVectorizer(), lambda: KNN(25)), 0.4),
        Base("RF BoW", 0.06, p(CountVectorizer(min_df=3), lambda: RandomForestClassifier(200, random_state=0, n_jobs=-1)), 0.4),
        Base("tf-idf + LR", 0.10, p(TfidfVectorizer(), LogisticRegression), 0.4),
        Base("tf-idf 1-2-grams + LR", 0.10, w12, 0.3),
        Base("char n-grams + LR", 0.08, ch, 0.3),
        Base("blend words + chars", 0.05, (w12 + ch) / 2, 0.2),
    ]


T8_DESC = """\
# Message tags

Customer messages sent to a support desk are tagged with any number of five labels:
`complaint`, `urgent`, `billing`, `technical`, `cancellation` (a message may have
none, one or several). Predict the probability of each label for every message.
In the spirit of Kaggle's *Jigsaw Toxic Comment Classification Challenge* (multi-label
text, imbalanced, correlated labels); the messages are synthetic, with typos, decoys
("not urgent") and some tags given without an explicit cue.

## Files

- `train.csv` - the training set: `id`, `comment_text`, and the five labels (0 or 1)
- `test.csv` - the test set: `id`, `comment_text`
- `sample_submission.csv` - a submission in the correct format

## Submission

For every `id` in `test.csv`, a probability for each label:

```
id,complaint,urgent,billing,technical,cancellation
8f3a61c2d04b9e17,0.5,0.5,0.5,0.5,0.5
...
```

## Evaluation

The mean over the five columns of the area under the ROC curve.
"""


# ==========================================================================
# the task list (ids, graders, team counts), then the pipeline
# ==========================================================================

TASKS: list[Task] = [
    Task("binary-interactions", "Binary Interactions", "tabular-playground-series-may-2022",
         "auc-roc", 1151, t1_build, t1_population, perturb_binary, T1_DESC, "2022-05-31"),
    Task("forest-cover", "Forest Cover Type", "tabular-playground-series-dec-2021",
         "multi-class-classification-accuracy", 190, t2_build, t2_population,
         perturb_labels(list(range(1, 8))), T2_DESC, "2021-12-31"),
    Task("leaf-species", "Leaf Species", "leaf-classification", "multi-class-log-loss", 80,
         t3_build, t3_population, perturb_proba, T3_DESC, "2017-02-28"),
    Task("taxi-fare", "Taxi Fare Prediction", "new-york-city-taxi-fare-prediction",
         "root-mean-squared-error", 1485, t4_build, t4_population, perturb_additive(4.0), T4_DESC,
         "2018-09-25"),
    Task("conductors", "Transparent Conductors", "nomad2018-predict-transparent-conductors",
         "mean-column-wise-rmsle", 878, t5_build, t5_population, perturb_positive, T5_DESC, "2018-02-15"),
    Task("loop-detection", "Loop Detection", "aerial-cactus-identification", "auc-roc", 150,
         t6_build, t6_population, perturb_binary, T6_DESC, "2019-07-08"),
    Task("spooky-authors", "Author Identification", "spooky-author-identification", "multi-class-log-loss",
         420, t7_build, t7_population, perturb_proba, T7_DESC, "2017-12-15"),
    Task("message-tags", "Message Tags", "jigsaw-toxic-comment-classification-challenge",
         "mean-column-wise-roc-auc", 1600, t8_build, t8_population, perturb_binary, T8_DESC, "2018-03-20"),
]


# --------------------------------------------------------------------------
# leaderboard synthesis
# --------------------------------------------------------------------------

SYLLABLES = ["ka", "ri", "mo", "zen", "ta", "lu", "vik", "sa", "no", "del", "phi", "ra", "gon",
             "be", "tor", "mi", "qu", "ant", "el", "ix", "da", "ro", "bo", "shi", "kan"]


def team_names(rng: np.random.Generator, n: int) -> list[str]:
    out, seen = [], set()
    while len(out) < n:
        k = int(rng.integers(2, 4))
        name = "".join(rng.choice(SYLLABLES, k)).capitalize()
        if rng.random() < 0.4:
            name += f" {int(rng.integers(1, 100))}"
        if rng.random() < 0.2:
            name = "Team " + name
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def synth_leaderboard(task: Task, bases: list[Base], y_test: np.ndarray,
                      rng: np.random.Generator) -> pd.DataFrame:
    fn, higher = GRADERS[task.grader]
    w = np.array([b.weight for b in bases], dtype=float)
    picks = rng.choice(len(bases), size=task.n_teams, p=w / w.sum())
    scores = []
    for k in picks:
        b = bases[k]
        s = b.smax * rng.random() ** 2
        pred = task.perturb(b.pred, s, rng) if s > 0 else b.pred
        scores.append(round(fn(y_test, pred), 5))
    team_ids = rng.choice(np.arange(100000, 1000000), size=task.n_teams, replace=False)
    end = pd.Timestamp(task.deadline + " 23:59:59")
    secs = rng.integers(0, 60 * 86400, size=task.n_teams)
    dates = [(end - pd.Timedelta(seconds=int(x))).strftime("%Y-%m-%d %H:%M:%S") for x in secs]
    lb = pd.DataFrame({"teamId": team_ids, "teamName": team_names(rng, task.n_teams),
                       "submissionDate": dates, "score": scores})
    lb = lb.sort_values(["score", "submissionDate"], ascending=[not higher, True], kind="mergesort")
    return lb.reset_index(drop=True)


# --------------------------------------------------------------------------
# grading a submission file as MLE-bench does (ids/targets from the sample)
# --------------------------------------------------------------------------

def grade(sub: pd.DataFrame, answers: pd.DataFrame, sample_cols: list[str], grader: str) -> float:
    id_col, targets = sample_cols[0], sample_cols[1:]
    missing = [c for c in sample_cols if c not in sub.columns]
    if missing:
        raise ValueError(f"submission lacks columns {missing}")
    sub = sub.drop_duplicates(id_col)
    merged = answers[[id_col]].merge(sub[sample_cols], on=id_col, how="left")
    if merged[targets].isna().any().any():
        raise ValueError("submission lacks some ids (or has NaNs)")
    return GRADERS[grader][0](answers[targets].to_numpy(), merged[targets].to_numpy())


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------

def config_yaml(t: Task) -> str:
    return f"""\
# Generated by tasks/build_mini.py (do not edit by hand).
id: {t.id}
name: {t.name}
competition_type: simple
awards_medals: true
prizes: null
description: {t.id}/description.md
dataset:
  answers: {t.id}/prepared/private/test.csv
  sample_submission: {t.id}/prepared/public/sample_submission.csv
  validation_answers: {t.id}/prepared/private/validation.csv
grader:
  name: {t.grader}
  grade_fn: null
"""


def write_task(root: Path, t: Task, b: Built) -> None:
    d = root / t.id
    d.mkdir(parents=True, exist_ok=True)
    for name in GENERATED:
        p = d / name
        if p.is_dir():
            shutil.rmtree(p)
        elif p.exists():
            p.unlink()
    pub, priv = d / "prepared" / "public", d / "prepared" / "private"
    pub.mkdir(parents=True)
    priv.mkdir(parents=True)
    (d / "config.yaml").write_text(config_yaml(t))
    (d / "description.md").write_text(t.description)
    (pub / "train.csv").write_bytes(csv_bytes(b.train))
    (pub / "test.csv").write_bytes(csv_bytes(b.test))
    (pub / "sample_submission.csv").write_bytes(csv_bytes(b.sample))
    for rel, data in sorted(b.files.items()):
        p = pub / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (priv / "test.csv").write_bytes(csv_bytes(b.answers[~b.is_val]))
    (priv / "validation.csv").write_bytes(csv_bytes(b.answers[b.is_val]))


def check_layout(t: Task, b: Built) -> None:
    """Structural invariants of the hidden-validation layout."""
    id_col = b.sample.columns[0]
    assert list(b.sample.columns) == list(b.answers.columns), t.id
    assert b.sample[id_col].tolist() == b.test[id_col].tolist(), t.id
    assert b.answers[id_col].tolist() == b.test[id_col].tolist(), t.id
    assert b.test[id_col].is_unique and b.train[id_col].is_unique, t.id
    assert not set(b.train[id_col]) & set(b.test[id_col]), t.id
    assert not set(b.sample.columns[1:]) & set(b.test.columns), t.id
    nv, nt = int(b.is_val.sum()), int((~b.is_val).sum())
    n = len(b.train) + nv + nt
    assert 0.15 <= nv / n <= 0.25 and 0.25 <= nt / n <= 0.35, (t.id, nv, nt, n)
    assert not b.answers.isna().any().any() and not b.sample.isna().any().any(), t.id


# --------------------------------------------------------------------------
# reference programs
# --------------------------------------------------------------------------

@dataclass
class RefResult:
    ok: bool
    secs: float
    printed: float | None
    test: float | None
    val: float | None
    log: str


def run_reference(task_dir: Path, prog: Path, answers_test: pd.DataFrame, answers_val: pd.DataFrame,
                  sample_cols: list[str], grader: str) -> RefResult:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, MINI_DATA_DIR=str(task_dir / "prepared" / "public"),
                   MINI_SUBMISSION_DIR=tmp, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
        t0 = time.time()
        r = subprocess.run([sys.executable, str(prog)], env=env, capture_output=True, text=True,
                           timeout=900, cwd=tmp)
        secs = time.time() - t0
        log = (r.stdout + r.stderr)[-3000:]
        lines = r.stdout.strip().splitlines()
        printed = None
        if lines and lines[-1].startswith("randori:metric="):
            printed = float(lines[-1].split("=", 1)[1])
        sub_path = Path(tmp) / "submission.csv"
        if r.returncode != 0 or not sub_path.exists():
            return RefResult(False, secs, printed, None, None, log)
        sub = pd.read_csv(sub_path)
        try:
            test = grade(sub, answers_test, sample_cols, grader)
            val = grade(sub, answers_val, sample_cols, grader)
        except ValueError as e:
            return RefResult(False, secs, printed, None, None, log + f"\ngrading: {e}")
        return RefResult(printed is not None, secs, printed, test, val, log)


# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------

def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.5f}"


def build_all(out: Path, tasks: list[Task], verify: bool, show_bases: bool) -> tuple[list[dict], bool]:
    rows, ok_all = [], True
    for i, t in enumerate(TASKS):
        if t not in tasks:
            continue
        t0 = time.time()
        built = t.build(np.random.default_rng([SEED, i, 0]))
        check_layout(t, built)
        write_task(out, t, built)
        pub, priv = out / t.id / "prepared" / "public", out / t.id / "prepared" / "private"
        # the population sees exactly what a competitor sees: the written files
        train = pd.read_csv(pub / "train.csv")
        test_all = pd.read_csv(pub / "test.csv")
        ans_test = pd.read_csv(priv / "test.csv")
        ans_val = pd.read_csv(priv / "validation.csv")
        sample = pd.read_csv(pub / "sample_submission.csv")
        cols = list(sample.columns)
        test_rows = test_all.set_index(cols[0]).loc[ans_test[cols[0]]].reset_index()
        ctx = Ctx(train, test_rows, cols[1:], dict(built.extra, public=pub),
                  np.random.default_rng([SEED, i, 1]))
        bases = t.population(ctx)
        y_test = ans_test[cols[1:]].to_numpy()
        fn, higher = GRADERS[t.grader]
        lb = synth_leaderboard(t, bases, y_test, np.random.default_rng([SEED, i, 2]))
        (out / t.id / "leaderboard.csv").write_bytes(csv_bytes(lb))
        th = thresholds(lb.score.tolist())
        assert th["lower_is_better"] == (not higher), t.id
        if show_bases:
            for b in bases:
                s = fn(y_test, b.pred)
                print(f"    {t.id:22s} {b.name:34s} w={b.weight:.2f} test={s:.5f} {medal(s, th)}")
        sample_score = grade(sample, ans_test, cols, t.grader)
        row = dict(id=t.id, like=t.like, grader=t.grader, train=len(train), val=len(ans_val),
                   test=len(ans_test), teams=len(lb), band=band(len(lb)), th=th,
                   sample=sample_score, sample_medal=medal(sample_score, th),
                   build_s=time.time() - t0)
        ok = row["sample_medal"] in NO_MEDAL
        if verify:
            refdir = HERE / "mini" / t.id / "reference"
            with concurrent.futures.ThreadPoolExecutor(2) as ex:
                fut = {k: ex.submit(run_reference, out / t.id, refdir / f"{k}.py", ans_test, ans_val, cols, t.grader)
                       for k in ("baseline", "good")}
                res = {k: f.result() for k, f in fut.items()}
            for k, r in res.items():
                row[k] = r
                row[k + "_medal"] = medal(r.test, th) if r.ok else "FAILED"
                if not r.ok:
                    print(f"!! {t.id} {k}.py failed:\n{r.log}", file=sys.stderr)
            ok = ok and row["baseline_medal"] in NO_MEDAL and row["good_medal"] in MEDALS
        row["ok"] = ok
        ok_all = ok_all and ok
        rows.append(row)
        print_row(row, verify)
    return rows, ok_all


def print_row(r: dict, verify: bool) -> None:
    th = r["th"]
    print(f"{r['id']:22s} rows {r['train']}/{r['val']}/{r['test']} (train/val/test)  teams {r['teams']} "
          f"[{r['band']}]  {r['grader']} ({'lower' if th['lower_is_better'] else 'higher'} is better)  "
          f"built in {r['build_s']:.1f}s")
    print(f"    thresholds  gold {th['gold']:.5f}  silver {th['silver']:.5f}  bronze {th['bronze']:.5f}  "
          f"median {th['median']:.5f}")
    print(f"    sample submission  test {r['sample']:.5f}  {r['sample_medal']}")
    if verify:
        for k in ("baseline", "good"):
            x: RefResult = r[k]
            print(f"    {k + '.py':18s} test {fmt(x.test)}  {r[k + '_medal']:12s} validation {fmt(x.val)}  "
                  f"printed cv {fmt(x.printed)}  {x.secs:.1f}s")
    print(f"    {'OK' if r['ok'] else 'FAILED'}", flush=True)


def readme(rows: list[dict]) -> str:
    lines = [
        "# randori offline mini-bench",
        "",
        "Generated by `tasks/build_mini.py` (seeded, deterministic; do not edit the generated files",
        "by hand). Eight small tasks in MLE-bench's layout that mimic the kinds and metrics of",
        "MLE-bench lite, built from seeded generative processes (and scikit-learn's bundled",
        "`load_digits`), so nothing is downloaded. Each trains in seconds on one CPU.",
        "",
        "| id | like (MLE-bench) | grader | rows train/val/test | teams | gold | silver | bronze | median |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        th = r["th"]
        lines.append(f"| `{r['id']}` | {r['like']} | `{r['grader']}` | {r['train']}/{r['val']}/{r['test']} | "
                     f"{r['teams']} ({r['band']}) | {th['gold']:.5f} | {th['silver']:.5f} | "
                     f"{th['bronze']:.5f} | {th['median']:.5f} |")
    lines += [
        "",
        "Each `<id>/` holds `config.yaml` (MLE-bench keys, plus `dataset.validation_answers`),",
        "`description.md` (what the agent is told), `leaderboard.csv` (teamId,teamName,submissionDate,score;",
        "best first), `prepared/public/` (train.csv, test.csv, sample_submission.csv, and `images/` for",
        "`loop-detection`) and `prepared/private/` (test.csv: answers for the test rows; validation.csv:",
        "answers for the hidden-validation rows). The public test.csv holds the validation and test rows",
        "shuffled together; the two private files partition its ids. Answers have the sample submission's",
        "columns (probability tasks: one-hot 0/1).",
        "",
        "Leaderboards are synthetic: a seeded population of baseline models (dummy/prior, linear models,",
        "kNN, trees, forests, boosting, with and without feature engineering) really trained on the train",
        "rows, scored on the test answers with the task's metric, then noise-perturbed per team. The build",
        "checks MLE-bench's medal rules against them: the sample submission and `reference/baseline.py`",
        "get no medal, `reference/good.py` gets bronze or better.",
        "",
        "`<id>/reference/baseline.py` and `good.py` are hand-written sandbox programs (read `/home/data`,",
        "write `/home/submission/submission.csv`, print `randori:metric=<cross-validated metric>` last);",
        "the build runs them with `MINI_DATA_DIR`/`MINI_SUBMISSION_DIR` pointing at the built files.",
        "",
        "## Submission formats (the first column of sample_submission.csv is the id)",
        "",
        "| id | id column | target columns | values |",
        "|---|---|---|---|",
        "| `binary-interactions` | `id` (integer) | `target` | probability of class 1 |",
        "| `forest-cover` | `Id` (integer) | `Cover_Type` | class label, an integer 1-7 (answers are integers) |",
        "| `leaf-species` | `id` (integer) | 32 species names, e.g. `Acer_Alba` | probabilities; answers one-hot |",
        "| `taxi-fare` | `key` (string) | `fare_amount` | number |",
        "| `conductors` | `id` (integer) | `formation_energy_ev_natom`, `bandgap_energy_ev` | non-negative numbers |",
        "| `loop-detection` | `id` (image file name, `<hex>.png`) | `has_loop` | probability of 1 |",
        "| `spooky-authors` | `id` (string, `id12345`) | `ORM`, `TLD`, `VEC` | probabilities; answers one-hot |",
        "| `message-tags` | `id` (16 hex digits) | `complaint`, `urgent`, `billing`, `technical`, `cancellation` | probabilities; answers 0/1 |",
        "",
        "Log loss clips probabilities to [1e-15, 1 - 1e-15] and renormalises each row; RMSLE is",
        "computed per column and averaged, as are the column-wise AUCs.",
        "",
        "## Tools",
        "",
        "- `tasks/check_references.sh [IMAGE] [ID...]` runs the reference programs in the runtime image",
        "  under the sandbox's limits (no network, read-only root, uid 10001, 2 GB, 1 CPU) and grades them.",
        "- `python3 build_mini.py --grade ID SUBMISSION.csv` prints a submission's test score, medal and",
        "  hidden-validation score (the scikit-learn reference for the Rust graders).",
        "",
        "## Rebuild",
        "",
        "From the repository root, inside the runtime image (numpy, pandas, scikit-learn, Pillow):",
        "",
        "```",
        "docker run --rm --user \"$(id -u):$(id -g)\" -v \"$PWD/tasks:/tasks\" -w /tasks randori-runtime:dev python3 build_mini.py",
        "docker run --rm --user \"$(id -u):$(id -g)\" -v \"$PWD/tasks:/tasks\" -w /tasks randori-runtime:dev python3 build_mini.py --check",
        "```",
        "",
        "(`--user`: the image runs as uid 10001 by default, which can neither write the tree nor should own it).",
        "`--check` rebuilds into a temporary directory and fails unless every generated file is",
        "byte-identical; `--no-verify` skips running the reference programs.",
        "",
    ]
    return "\n".join(lines)


def grade_file(task_dir: Path, submission: Path) -> int:
    """Print the test and validation scores and the test medal of a submission."""
    grader = next(line.split(":", 1)[1].strip() for line in (task_dir / "config.yaml").read_text().splitlines()
                  if line.strip().startswith("name:") and line.startswith("  "))
    cols = list(pd.read_csv(task_dir / "prepared" / "public" / "sample_submission.csv", nrows=1).columns)
    th = thresholds(pd.read_csv(task_dir / "leaderboard.csv").score.tolist())
    sub = pd.read_csv(submission)
    priv = task_dir / "prepared" / "private"
    try:
        test = grade(sub, pd.read_csv(priv / "test.csv"), cols, grader)
        val = grade(sub, pd.read_csv(priv / "validation.csv"), cols, grader)
    except ValueError as e:
        print(f"invalid submission: {e}")
        return 1
    print(f"{task_dir.name} {grader} test={test:.5f} medal={medal(test, th)} validation={val:.5f}")
    return 0


def compare_trees(a: Path, b: Path, ids: list[str]) -> list[str]:
    diffs = []
    rels = ["README.md"]
    for tid in ids:
        for name in GENERATED:
            for root in (a, b):
                p = root / tid / name
                if p.is_dir():
                    rels += [str(q.relative_to(root)) for q in p.rglob("*") if q.is_file()]
                else:
                    rels.append(f"{tid}/{name}")
    for rel in sorted(set(rels)):
        pa, pb = a / rel, b / rel
        if not pa.exists() or not pb.exists() or pa.read_bytes() != pb.read_bytes():
            diffs.append(rel)
    return diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=MINI, help="where to build (default: tasks/mini)")
    ap.add_argument("--check", action="store_true",
                    help="build into a temporary directory and compare with --out byte for byte")
    ap.add_argument("--no-verify", action="store_true", help="do not run the reference programs")
    ap.add_argument("--only", default="", help="comma-separated task ids (development)")
    ap.add_argument("--show-bases", action="store_true", help="print every population base model's score")
    ap.add_argument("--grade", nargs=2, metavar=("ID", "SUBMISSION"),
                    help="grade a submission file of task ID (in --out) on its test and validation rows")
    args = ap.parse_args()
    if args.grade:
        return grade_file(args.out / args.grade[0], Path(args.grade[1]))
    only = [s for s in args.only.split(",") if s]
    tasks = [t for t in TASKS if not only or t.id in only]
    if only and len(tasks) != len(only):
        ap.error(f"unknown task in --only; known: {', '.join(t.id for t in TASKS)}")
    t0 = time.time()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            rows, ok = build_all(Path(tmp), tasks, not args.no_verify, args.show_bases)
            if not only:
                (Path(tmp) / "README.md").write_text(readme(rows))
            diffs = compare_trees(args.out, Path(tmp), [t.id for t in tasks])
            if only:
                diffs = [d for d in diffs if d != "README.md"]
        for d in diffs:
            print(f"differs: {d}")
        ok = ok and not diffs
        print(f"check: {'identical' if not diffs else f'{len(diffs)} files differ'}")
    else:
        rows, ok = build_all(args.out, tasks, not args.no_verify, args.show_bases)
        if not only:
            (args.out / "README.md").write_text(readme(rows))
    print(f"{'all tasks OK' if ok else 'FAILED'} in {time.time() - t0:.0f}s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
