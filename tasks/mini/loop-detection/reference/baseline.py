"""Reference BASELINE for the mini-bench task loop-detection (auc-roc).

Plain LogisticRegression() on the raw pixels (scaled to [0, 1]). Sandbox contract:
reads /home/data, writes /home/submission/submission.csv, prints
`randori:metric=<5-fold CV AUC>` last. MINI_DATA_DIR / MINI_SUBMISSION_DIR override
the two paths.
"""
import os
import warnings

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")


def pixels(ids):
    return np.stack([np.asarray(Image.open(f"{DATA}/images/{i}"), dtype=float).ravel() / 255 for i in ids])


train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
x, xt = pixels(train.id), pixels(test.id)
model = LogisticRegression()
cv = cross_val_score(model, x, train.has_loop, cv=5, scoring="roc_auc").mean()
model.fit(x, train.has_loop)
pd.DataFrame({"id": test.id, "has_loop": model.predict_proba(xt)[:, 1]}).to_csv(
    f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
