"""Reference GOOD model for the mini-bench task leaf-species (multi-class log loss).

The margin and texture histograms are square-rooted (variance-stabilising for
proportions), the shape descriptor is divided by its mean (size invariance), and
a shrinkage LDA (well calibrated with ~10 samples per class) gives the
probabilities. Sandbox contract: reads /home/data, writes
/home/submission/submission.csv, prints `randori:metric=<5-fold CV log loss>` last.
MINI_DATA_DIR / MINI_SUBMISSION_DIR override the two paths.
"""
import os
import warnings

import numpy as np
import pandas as pd
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
from sklearn.model_selection import StratifiedKFold, cross_val_score

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")


def features(d):
    x = d.drop(columns=["id", "species"], errors="ignore").astype(float)
    hist = [c for c in x.columns if not c.startswith("shape")]
    shape = [c for c in x.columns if c.startswith("shape")]
    x[hist] = np.sqrt(x[hist])
    x[shape] = x[shape].div(x[shape].mean(axis=1), axis=0)
    return x


train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
species = list(pd.read_csv(f"{DATA}/sample_submission.csv", nrows=1).columns[1:])
x, xt, y = features(train), features(test), train.species
model = LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")
cv = -cross_val_score(model, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring="neg_log_loss").mean()
model.fit(x, y)
proba = pd.DataFrame(model.predict_proba(xt), columns=model.classes_)
pd.concat([test[["id"]], proba[species]], axis=1).to_csv(f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
