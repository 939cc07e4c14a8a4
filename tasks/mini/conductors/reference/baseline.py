"""Reference BASELINE for the mini-bench task conductors (mean column-wise RMSLE).

Plain Ridge() per target on the raw features, predictions clipped at 0. Sandbox
contract: reads /home/data, writes /home/submission/submission.csv, prints
`randori:metric=<5-fold CV mean column-wise RMSLE>` last. MINI_DATA_DIR /
MINI_SUBMISSION_DIR override the two paths.
"""
import os
import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import KFold, cross_val_predict

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")
TARGETS = ["formation_energy_ev_natom", "bandgap_energy_ev"]

train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
features = [c for c in test.columns if c != "id"]
sub = pd.DataFrame({"id": test.id})
cv = []
for t in TARGETS:
    oof = np.clip(cross_val_predict(Ridge(), train[features], train[t], cv=KFold(5, shuffle=True, random_state=0)), 0, None)
    cv.append(np.sqrt(np.mean((np.log1p(oof) - np.log1p(train[t])) ** 2)))
    sub[t] = np.clip(Ridge().fit(train[features], train[t]).predict(test[features]), 0, None)
sub.to_csv(f"{OUT}/submission.csv", index=False)
print(f"randori:metric={np.mean(cv):.6f}")
