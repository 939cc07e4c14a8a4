"""Reference GOOD model for the mini-bench task conductors (mean column-wise RMSLE).

Features: space group one-hot, pairwise products of the cation fractions (mixing),
volume per atom, deviations of the lattice angles from multiples of 30 degrees.
Targets are modelled as log1p (so squared error on them is the metric), and the
prediction is the average of ExtraTrees, HistGradientBoosting and a scaled Ridge.
Sandbox contract: reads /home/data, writes /home/submission/submission.csv, prints
`randori:metric=<5-fold CV mean column-wise RMSLE>` last. MINI_DATA_DIR /
MINI_SUBMISSION_DIR override the two paths.
"""
import os
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesRegressor, HistGradientBoostingRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")
TARGETS = ["formation_energy_ev_natom", "bandgap_energy_ev"]


def features(d):
    x = d.drop(columns=["id"] + TARGETS, errors="ignore").astype(float)
    for k in (12, 33, 167, 194, 206, 227):
        x[f"sg_{k}"] = (d.spacegroup == k).astype(float)
    a, g, i = x.percent_atom_al, x.percent_atom_ga, x.percent_atom_in
    x["al_in"], x["ga_in"], x["al_ga"] = a * i, g * i, a * g
    x["vol_atom"] = x.lattice_vector_1_ang * x.lattice_vector_2_ang * x.lattice_vector_3_ang / x.number_of_total_atoms
    for k in ("alpha", "beta", "gamma"):
        v = x[f"lattice_angle_{k}_degree"]
        x[f"{k}_dev"] = np.abs(v - np.round(v / 30) * 30)
    return x


def models():
    return [
        ExtraTreesRegressor(300, random_state=0),
        HistGradientBoostingRegressor(learning_rate=0.03, max_iter=1000, max_leaf_nodes=8, min_samples_leaf=8,
                                      random_state=0),
        make_pipeline(StandardScaler(), Ridge(1.0)),
    ]


train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
x, xt = features(train), features(test)
folds = KFold(5, shuffle=True, random_state=0)
sub = pd.DataFrame({"id": test.id})
cv = []
for t in TARGETS:
    y = np.log1p(train[t].to_numpy())
    oof = np.mean([cross_val_predict(m, x, y, cv=folds) for m in models()], axis=0)
    cv.append(np.sqrt(np.mean((np.clip(oof, 0, None) - y) ** 2)))
    pred = np.mean([m.fit(x, y).predict(xt) for m in models()], axis=0)
    sub[t] = np.expm1(np.clip(pred, 0, None))
sub.to_csv(f"{OUT}/submission.csv", index=False)
print(f"randori:metric={np.mean(cv):.6f}")
