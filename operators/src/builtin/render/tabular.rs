//! Tabular features: every test column encoded by what it holds at run time (numbers, dates,
//! codes, long strings), optional engineered features and a transform; imputation and
//! (for scale-sensitive models) scaling happen inside each fold.

use super::{Section, fill, py_str};
use crate::builtin::params::{Impute, Input, Params, Scale, Transform};

pub(super) fn section(p: &Params) -> Section {
    let Input::Tabular {
        impute,
        scale,
        transform,
        engineer,
    } = p.input
    else {
        unreachable!("tabular section for {:?}", p.input)
    };
    let mut imports = vec![
        "from sklearn.impute import SimpleImputer",
        "from sklearn.pipeline import make_pipeline",
    ];
    let mut code = fill(
        ENCODE,
        &[
            ("DATE_PARTS", if engineer { DATE_PARTS } else { "" }.into()),
            ("CODE_CHARS", if engineer { CODE_CHARS } else { "" }.into()),
        ],
    );
    let mut steps = String::from(
        "x = encode(pd.concat([train[FEATURES], test[FEATURES]], ignore_index=True))\n",
    );
    if engineer {
        imports.extend(["import itertools", "import re"]);
        code.push_str(ENGINEER);
        steps.push_str("x = engineer(x)\n");
    }
    steps.push_str(match transform {
        Transform::None => "",
        Transform::Log => "x = np.sign(x) * np.log1p(np.abs(x))  # signed log: tames heavy tails\n",
        Transform::Sqrt => "x = np.sign(x) * np.sqrt(np.abs(x))  # signed square root: stabilises counts and proportions\n",
        Transform::Poly => {
            imports.push("import itertools");
            "for a, b in itertools.combinations(x.nunique().sort_values(ascending=False).index[:8], 2):\n    x[f\"{a}*{b}\"] = x[a] * x[b]  # products of the most varied columns\n"
        }
    });
    code.push_str(&fill(
        r#"

$STEPS
x = x.replace([np.inf, -np.inf], np.nan)
print(f"{x.shape[1]} features: {', '.join(map(str, x.columns[:10]))}{' ...' if x.shape[1] > 10 else ''}")
X, XT = x.iloc[:len(train)].to_numpy(float), x.iloc[len(train):].to_numpy(float)


def make_prep():
    return make_pipeline(SimpleImputer(strategy=$IMPUTE)$SCALER)
"#,
        &[
            ("STEPS", steps.trim_end().to_owned()),
            ("IMPUTE", py_str(match impute {
                Impute::Median => "median",
                Impute::Mean => "mean",
            })),
            ("SCALER", if p.model.family.scale_sensitive() { format!(", {}", scaler(scale, &mut imports)) } else { String::new() }),
        ],
    ));
    Section { imports, code }
}

/// The scaler for scale-sensitive models (tabular and image features).
pub(super) fn scaler(scale: Scale, imports: &mut Vec<&'static str>) -> &'static str {
    match scale {
        Scale::Standard => {
            imports.push("from sklearn.preprocessing import StandardScaler");
            "StandardScaler()"
        }
        Scale::Robust => {
            imports.push("from sklearn.preprocessing import RobustScaler");
            "RobustScaler()"
        }
        Scale::Quantile => {
            imports.push("from sklearn.preprocessing import QuantileTransformer");
            "QuantileTransformer(n_quantiles=200, output_distribution=\"normal\", random_state=SEED)"
        }
    }
}

const ENCODE: &str = r#"

def encode(frame):
    """Numbers as they are, dates as their parts, short strings as codes, long strings as sizes."""
    out = pd.DataFrame(index=frame.index)
    for c in frame.columns:
        s = frame[c]
        if s.dtype != object:
            out[c] = s.astype(float)
            continue
        s = s.fillna("").astype(str)
        if s.str.match(r"\d{4}-\d\d-\d\d").mean() > 0.9:
            when = pd.to_datetime(s.str.slice(0, 19), errors="coerce")
            out[f"{c}_year"] = when.dt.year + when.dt.dayofyear / 366$DATE_PARTS
        elif s.str.len().mean() > 30:
            out[f"{c}_chars"] = s.str.len()
            out[f"{c}_words"] = s.str.split().str.len()
        else:
            out[c] = pd.factorize(s)[0]$CODE_CHARS
    return out
"#;

const DATE_PARTS: &str = r#"
            out[f"{c}_month"] = when.dt.month
            out[f"{c}_weekday"] = when.dt.dayofweek
            out[f"{c}_hour"] = when.dt.hour + when.dt.minute / 60"#;

const CODE_CHARS: &str = r#"
            width = s.str.len()
            if width.nunique() == 1 and 1 < width.iloc[0] <= 12:  # a fixed-width code: its characters
                for k in range(width.iloc[0]):
                    out[f"{c}_{k}"] = s.str[k].map(ord)
                out[f"{c}_distinct"] = s.map(lambda v: len(set(v)))"#;

const ENGINEER: &str = r#"

def haversine_km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = (np.deg2rad(v) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 6371 * 2 * np.arcsin(np.sqrt(a))


def engineer(x):
    """Distances between coordinate pairs, and each one-hot group as one code."""
    points = []
    for lat in [c for c in x.columns if "lat" in c.lower()]:
        names = {lat.lower().replace("latitude", "longitude"), lat.lower().replace("lat", "lon"),
                 lat.lower().replace("lat", "lng")}
        lon = next((c for c in x.columns if c != lat and c.lower() in names), None)
        if lon is not None:
            points.append((lat, lon))
    for (a_lat, a_lon), (b_lat, b_lon) in itertools.combinations(points, 2):
        x[f"km_{a_lat}_{b_lat}"] = haversine_km(x[a_lat], x[a_lon], x[b_lat], x[b_lon])
        x[f"dlat_{a_lat}_{b_lat}"] = (x[b_lat] - x[a_lat]).abs()
        x[f"dlon_{a_lat}_{b_lat}"] = (x[b_lon] - x[a_lon]).abs()
    groups = {}
    for c in x.columns:
        m = re.fullmatch(r"(.*\D)\d+", str(c))
        if m and x[c].isin([0, 1]).all():
            groups.setdefault(m.group(1), []).append(c)
    for prefix, cols in groups.items():
        if len(cols) >= 3:
            x[f"{prefix}code"] = x[cols].to_numpy().argmax(axis=1)
    return x
"#;
