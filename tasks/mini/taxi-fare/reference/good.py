"""Reference GOOD model for the mini-bench task taxi-fare (RMSE).

Features: haversine distance, distances of pickup and dropoff to the two airports,
hour, weekday and fractional year (fares changed over time), a flag for missing
coordinates; a tuned HistGradientBoosting regressor. Sandbox contract: reads
/home/data, writes /home/submission/submission.csv, prints
`randori:metric=<5-fold CV RMSE>` last. MINI_DATA_DIR / MINI_SUBMISSION_DIR override
the two paths.
"""
import os
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import KFold, cross_val_score

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")
AIRPORTS = {"jfk": (-73.7822, 40.6441), "lga": (-73.8740, 40.7769)}  # found as dense pickup clusters


def haversine_km(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = (np.deg2rad(np.asarray(v, dtype=float)) for v in (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * np.arcsin(np.sqrt(a))


def features(d):
    x = d[["pickup_longitude", "pickup_latitude", "dropoff_longitude", "dropoff_latitude",
           "passenger_count"]].astype(float).copy()
    t = pd.to_datetime(d.pickup_datetime.str.slice(0, 19))
    x["km"] = haversine_km(x.pickup_longitude, x.pickup_latitude, x.dropoff_longitude, x.dropoff_latitude)
    x["hour"] = t.dt.hour
    x["weekday"] = t.dt.dayofweek
    x["year"] = t.dt.year + t.dt.dayofyear / 366
    for name, (lon, lat) in AIRPORTS.items():
        x[f"{name}_pick"] = haversine_km(x.pickup_longitude, x.pickup_latitude, lon, lat)
        x[f"{name}_drop"] = haversine_km(x.dropoff_longitude, x.dropoff_latitude, lon, lat)
    x["missing"] = (x.pickup_longitude == 0).astype(float)
    return x


train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
x, xt, y = features(train), features(test), train.fare_amount
model = HistGradientBoostingRegressor(learning_rate=0.05, max_iter=400, max_leaf_nodes=15,
                                      min_samples_leaf=10, random_state=0)
cv = -cross_val_score(model, x, y, cv=KFold(5, shuffle=True, random_state=0),
                      scoring="neg_root_mean_squared_error").mean()
model.fit(x, y)
pd.DataFrame({"key": test.key, "fare_amount": model.predict(xt)}).to_csv(f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
