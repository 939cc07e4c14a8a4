"""Reference GOOD model for the mini-bench task forest-cover (accuracy).

Engineered features (distance to water, elevation minus vertical distance, aspect
as sin/cos, wilderness and soil as codes) and a shallow, slow HistGradientBoosting.
Sandbox contract: reads /home/data, writes /home/submission/submission.csv, prints
`randori:metric=<3-fold CV accuracy>` last. MINI_DATA_DIR / MINI_SUBMISSION_DIR
override the two paths.
"""
import os
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")


def features(d):
    x = d.drop(columns=["Id", "Cover_Type"], errors="ignore").astype(float)
    x["hyd_dist"] = np.hypot(x.Horizontal_Distance_To_Hydrology, x.Vertical_Distance_To_Hydrology)
    x["elev_minus_vh"] = x.Elevation - x.Vertical_Distance_To_Hydrology
    x["aspect_cos"] = np.cos(np.deg2rad(x.Aspect))
    x["aspect_sin"] = np.sin(np.deg2rad(x.Aspect))
    x["wild"] = np.argmax(d[[c for c in d.columns if c.startswith("Wilderness_Area")]].to_numpy(), axis=1)
    x["soil"] = np.argmax(d[[c for c in d.columns if c.startswith("Soil_Type")]].to_numpy(), axis=1)
    return x


train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
x, xt, y = features(train), features(test), train.Cover_Type
model = HistGradientBoostingClassifier(learning_rate=0.03, max_iter=300, max_depth=3, min_samples_leaf=20,
                                       l2_regularization=1.0, random_state=0)
cv = cross_val_score(model, x, y, cv=StratifiedKFold(3, shuffle=True, random_state=0), scoring="accuracy").mean()
model.fit(x, y)
pd.DataFrame({"Id": test.Id, "Cover_Type": model.predict(xt)}).to_csv(f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
