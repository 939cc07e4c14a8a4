"""Reference BASELINE for the mini-bench task leaf-species (multi-class log loss).

Plain LogisticRegression() on the raw features. Sandbox contract: reads /home/data,
writes /home/submission/submission.csv, prints `randori:metric=<5-fold CV log loss>`
last. MINI_DATA_DIR / MINI_SUBMISSION_DIR override the two paths.
"""
import os
import warnings

import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")

train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
species = list(pd.read_csv(f"{DATA}/sample_submission.csv", nrows=1).columns[1:])
features = [c for c in test.columns if c != "id"]
model = LogisticRegression()
cv = -cross_val_score(model, train[features], train.species, cv=5, scoring="neg_log_loss").mean()
model.fit(train[features], train.species)
proba = pd.DataFrame(model.predict_proba(test[features]), columns=model.classes_)
sub = pd.concat([test[["id"]], proba[species]], axis=1)
sub.to_csv(f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
