"""Reference GOOD model for the mini-bench task loop-detection (auc-roc).

Each image is normalised: background (median) removed, polarity flipped so the
digit is bright, faint pixels zeroed, cropped to the digit's bounding box and
resized to 16x16; an RBF SVC on the standardised result. Sandbox contract: reads
/home/data, writes /home/submission/submission.csv, prints
`randori:metric=<5-fold CV AUC>` last. MINI_DATA_DIR / MINI_SUBMISSION_DIR override
the two paths.
"""
import os
import warnings

import numpy as np
import pandas as pd
from PIL import Image
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

warnings.filterwarnings("ignore")
DATA = os.environ.get("MINI_DATA_DIR", "/home/data")
OUT = os.environ.get("MINI_SUBMISSION_DIR", "/home/submission")


def normalized(name, out=16):
    im = np.asarray(Image.open(f"{DATA}/images/{name}"), dtype=float)
    z = im - np.median(im)
    if abs(z.min()) > abs(z.max()):
        z = -z
    z = np.clip(z, 0, None) / (z.max() + 1e-9)
    z = np.where(z > 0.3, z, 0)
    ys, xs = np.nonzero(z > 0.5)
    if len(ys) == 0:
        return np.zeros(out * out)
    crop = z[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    c = Image.fromarray((crop * 255).astype(np.uint8)).resize((out, out), Image.BILINEAR)
    return np.asarray(c, dtype=float).ravel() / 255


train = pd.read_csv(f"{DATA}/train.csv")
test = pd.read_csv(f"{DATA}/test.csv")
x = np.stack([normalized(i) for i in train.id])
xt = np.stack([normalized(i) for i in test.id])
y = train.has_loop
model = make_pipeline(StandardScaler(), SVC(C=10, probability=True, random_state=0))
cv = cross_val_score(model, x, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), scoring="roc_auc").mean()
model.fit(x, y)
pd.DataFrame({"id": test.id, "has_loop": model.predict_proba(xt)[:, 1]}).to_csv(
    f"{OUT}/submission.csv", index=False)
print(f"randori:metric={cv:.6f}")
