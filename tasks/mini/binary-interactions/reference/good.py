"""Reference GOOD model for the mini-bench task binary-interactions (auc-roc).

Features: the numeric columns, the 8 characters of the string f_16 and its number
of distinct letters, and the interactions that exploratory analysis finds (as the
top notebooks of TPS May 2022 did): f_12+f_01, f_13+f_04, f_14+f_02+f_05 and the
sign of f_17 times f_06. Model: average of a tuned HistGradientBoosting and a
scaled LogisticRegression. Sandbox contract: reads /home/data, writes
/home/submission/submission.csv, prints `randori:metric=<5-fold CV AUC>` last.
MINI_DATA_DIR / MINI_SUBMISSION_DIR override the two paths.
"""
import os
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")


def features(d):
    x = d.drop(columns=["id", "f_16", "target"], errors="ignore").astype(float)
    for j in range(8):
        x[f"ch{j}"] = d.f_16.str[j].map(ord) - ord("A")
    x["nuniq"] = d.f_16.map(lambda s: len(set(s)))
    x["i_12_01"] = d.f_12 + d.f_01
    x["i_13_04"] = d.f_13 + d.f_04
    x["i_14_02_05"] = d.f_14 + d.f_02 + d.f_05
    x["i_17_06"] = (2 * d.f_17 - 1) * d.f_06
    return x


train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
x, xt, y = features(train), features(test), train.target.to_numpy()
models = [
    HistGradientBoostingClassifier(learning_rate=0.03, max_iter=400, max_leaf_nodes=8,
                                   l2_regularization=1.0, random_state=0),
    make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000)),
]
folds = StratifiedKFold(5, shuffle=True, random_state=0)
oof = np.mean([cross_val_predict(m, x, y, cv=folds, method="predict_proba")[:, 1] for m in models], axis=0)
cv = roc_auc_score(y, oof)
pred = np.mean([m.fit(x, y).predict_proba(xt)[:, 1] for m in models], axis=0)
pd.DataFrame({"id": test.id, "target": pred}).to_csv(f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
