"""Reference BASELINE for the mini-bench task taxi-fare (RMSE).

Plain Ridge() on the raw numeric columns. Sandbox contract: reads /home/data, writes
/home/submission/submission.csv, prints `randori:metric=<5-fold CV RMSE>` last.
MINI_DATA_DIR / MINI_SUBMISSION_DIR override the two paths.
"""
import os
import warnings

import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.model_selection import cross_val_score

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")

train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
features = ["pickup_longitude", "pickup_latitude", "dropoff_longitude", "dropoff_latitude", "passenger_count"]
model = Ridge()
cv = -cross_val_score(model, train[features], train.fare_amount, cv=5,
                      scoring="neg_root_mean_squared_error").mean()
model.fit(train[features], train.fare_amount)
pd.DataFrame({"key": test.key, "fare_amount": model.predict(test[features])}).to_csv(
    f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
