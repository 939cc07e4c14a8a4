"""Reference BASELINE for the mini-bench task spooky-authors (multi-class log loss).

Bag of words (CountVectorizer()) + LogisticRegression(), defaults. Sandbox contract:
reads /home/data, writes /home/submission/submission.csv, prints
`randori:metric=<5-fold CV log loss>` last. MINI_DATA_DIR / MINI_SUBMISSION_DIR
override the two paths.
"""
import os
import warnings

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
authors = list(pd.read_csv(f"{DATA}/sample_submission.csv", nrows=1).columns[1:])
model = make_pipeline(CountVectorizer(), LogisticRegression())
cv = -cross_val_score(model, train.text, train.author, cv=5, scoring="neg_log_loss").mean()
model.fit(train.text, train.author)
proba = pd.DataFrame(model.predict_proba(test.text), columns=model.classes_)
pd.concat([test[["id"]], proba[authors]], axis=1).to_csv(f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
