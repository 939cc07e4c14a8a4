"""Reference GOOD model for the mini-bench task spooky-authors (multi-class log loss).

Average of four text models: tf-idf word 1-2-grams + LR, counts of words AND
punctuation + LR, tf-idf character 1-4-grams + LR, and multinomial naive Bayes
on word/punctuation 1-2-grams. Sandbox contract: reads /home/data, writes
/home/submission/submission.csv, prints `randori:metric=<5-fold CV log loss>` last.
MINI_DATA_DIR / MINI_SUBMISSION_DIR override the two paths.
"""
import os
import warnings

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import make_pipeline

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")
TOKENS = r"[\w]+|[;!?,]"  # words and punctuation


def models():
    return [
        make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), LogisticRegression(C=10, max_iter=3000)),
        make_pipeline(CountVectorizer(token_pattern=TOKENS), LogisticRegression(C=0.3, max_iter=3000)),
        make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True),
                      LogisticRegression(C=10, max_iter=3000)),
        make_pipeline(CountVectorizer(token_pattern=TOKENS, ngram_range=(1, 2)), MultinomialNB(alpha=1.0)),
    ]


train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
authors = list(pd.read_csv(f"{DATA}/sample_submission.csv", nrows=1).columns[1:])
classes = sorted(train.author.unique())  # predict_proba's column order
folds = StratifiedKFold(5, shuffle=True, random_state=0)
oof = np.mean([cross_val_predict(m, train.text, train.author, cv=folds, method="predict_proba") for m in models()],
              axis=0)
cv = log_loss(train.author, oof, labels=classes)
pred = np.mean([m.fit(train.text, train.author).predict_proba(test.text) for m in models()], axis=0)
proba = pd.DataFrame(pred, columns=classes)
pd.concat([test[["id"]], proba[authors]], axis=1).to_csv(f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
