"""Reference BASELINE for the mini-bench task binary-interactions (auc-roc).

Plain LogisticRegression() on the numeric columns as they are. Sandbox contract:
reads /home/data, writes /home/submission/submission.csv, prints
`randori:metric=<5-fold CV AUC on train>` last. MINI_DATA_DIR / MINI_SUBMISSION_DIR
override the two paths (tasks/build_mini.py uses them).
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
features = [c for c in test.columns if c not in ("id", "f_16")]  # f_16 is a string
model = LogisticRegression()
cv = cross_val_score(model, train[features], train.target, cv=5, scoring="roc_auc").mean()
model.fit(train[features], train.target)
pd.DataFrame({"id": test.id, "target": model.predict_proba(test[features])[:, 1]}).to_csv(
    f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
