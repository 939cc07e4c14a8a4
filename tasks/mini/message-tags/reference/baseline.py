"""Reference BASELINE for the mini-bench task message-tags (mean column-wise ROC AUC).

Bag of words (CountVectorizer()) + one LogisticRegression() per label, defaults.
Sandbox contract: reads /home/data, writes /home/submission/submission.csv, prints
`randori:metric=<5-fold CV mean column-wise AUC>` last. MINI_DATA_DIR /
MINI_SUBMISSION_DIR override the two paths.
"""
import os
import warnings

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")

train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
labels = list(pd.read_csv(f"{DATA}/sample_submission.csv", nrows=1).columns[1:])
sub = pd.DataFrame({"id": test.id})
cv = []
for label in labels:
    model = make_pipeline(CountVectorizer(), LogisticRegression())
    cv.append(cross_val_score(model, train.comment_text, train[label], cv=5, scoring="roc_auc").mean())
    sub[label] = model.fit(train.comment_text, train[label]).predict_proba(test.comment_text)[:, 1]
sub.to_csv(f"{OUT}/submission.csv", index=False)
print(f"randori:metric={np.mean(cv):.6f}")
