"""Reference BASELINE for the mini-bench task forest-cover (accuracy).

Plain LogisticRegression() on the raw features. Sandbox contract: reads /home/data,
writes /home/submission/submission.csv, prints `randori:metric=<5-fold CV accuracy>`
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
features = [c for c in test.columns if c != "Id"]
model = LogisticRegression()
cv = cross_val_score(model, train[features], train.Cover_Type, cv=5, scoring="accuracy").mean()
model.fit(train[features], train.Cover_Type)
pd.DataFrame({"Id": test.Id, "Cover_Type": model.predict(test[features])}).to_csv(
    f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
