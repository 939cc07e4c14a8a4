"""Reference GOOD model for the mini-bench task message-tags (mean column-wise ROC AUC).

Per label, the average of two logistic regressions: one on tf-idf word 1-2-grams
(negations such as "not urgent"), one on tf-idf character 2-5-grams (robust to the
typos). Sandbox contract: reads /home/data, writes /home/submission/submission.csv,
prints `randori:metric=<5-fold CV mean column-wise AUC>` last. MINI_DATA_DIR /
MINI_SUBMISSION_DIR override the two paths.
"""
import os
import warnings

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import KFold

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")


def vectorizers():
    return [TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=3)]


def fit_predict(texts, labels, new_texts):
    """Probabilities for every label (columns), averaged over the two feature sets."""
    out = np.zeros((len(new_texts), labels.shape[1]))
    for vec in vectorizers():
        a, b = vec.fit_transform(texts), vec.transform(new_texts)
        for j in range(labels.shape[1]):
            out[:, j] += LogisticRegression(C=4, max_iter=2000).fit(a, labels[:, j]).predict_proba(b)[:, 1] / 2
    return out


train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
label_names = list(pd.read_csv(f"{DATA}/sample_submission.csv", nrows=1).columns[1:])
texts, y = train.comment_text.to_numpy(), train[label_names].to_numpy()
oof = np.zeros(y.shape)
for tr, va in KFold(5, shuffle=True, random_state=0).split(texts):
    oof[va] = fit_predict(texts[tr], y[tr], texts[va])
cv = np.mean([roc_auc_score(y[:, j], oof[:, j]) for j in range(y.shape[1])])
pred = fit_predict(texts, y, test.comment_text.to_numpy())
sub = pd.DataFrame(pred, columns=label_names)
sub.insert(0, "id", test.id)
sub.to_csv(f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
