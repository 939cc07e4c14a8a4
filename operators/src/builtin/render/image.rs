//! Image features: every image under the data directory found at run time by file name (or
//! stem), read as grey levels, optionally normalised and cropped, resized to a small square
//! and flattened.

use super::tabular::scaler;
use super::{Section, fill};
use crate::builtin::params::{ImageNorm, Input, Params};

pub(super) fn section(p: &Params) -> Section {
    let Input::Image { size, norm, scale } = p.input else {
        unreachable!("image section for {:?}", p.input)
    };
    let mut imports = vec!["from PIL import Image"];
    let norm = match norm {
        ImageNorm::Raw => String::new(),
        ImageNorm::Contrast => CONTRAST.to_owned(),
        ImageNorm::Crop => format!("{CONTRAST}{CROP}"),
    };
    let prep = if p.model.family.scale_sensitive() {
        scaler(scale, &mut imports)
    } else {
        imports.push("from sklearn.preprocessing import FunctionTransformer");
        "FunctionTransformer()  # this model does not depend on scales"
    };
    let code = fill(
        r#"
SIZE = $SIZE
KEY = FEATURES[0] if FEATURES else ID  # the column naming each row's image


def image_paths():
    """Every image under the data directory, by file name and by stem."""
    paths = {}
    for root, _, names in os.walk(DATA):
        for n in sorted(names):
            if n.lower().endswith((".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")):
                paths.setdefault(n, os.path.join(root, n))
                paths.setdefault(os.path.splitext(n)[0], os.path.join(root, n))
    return paths


PATHS = image_paths()


def load(name):
    z = np.asarray(Image.open(PATHS[str(name)]).convert("L"), dtype=np.float32) / 255$NORM
    z = Image.fromarray(np.ascontiguousarray(z, dtype=np.float32), mode="F")
    return np.asarray(z.resize((SIZE, SIZE), Image.BILINEAR), dtype=float).ravel()


X = np.stack([load(v) for v in train[KEY]])
XT = np.stack([load(v) for v in test[KEY]])
print(f"{len(X) + len(XT)} images as {X.shape[1]} pixels each")


def make_prep():
    return $PREP
"#,
        &[
            ("SIZE", size.to_string()),
            ("NORM", norm),
            ("PREP", prep.to_owned()),
        ],
    );
    Section { imports, code }
}

const CONTRAST: &str = r#"
    z = z - np.median(z)
    if abs(z.min()) > abs(z.max()):  # dark on light: flip so that the object is bright
        z = -z
    z = np.clip(z, 0, None) / (z.max() + 1e-6)"#;

const CROP: &str = r#"
    ys, xs = np.nonzero(z > 0.5)
    if len(ys):  # crop to the object's bounding box: position and size no longer matter
        z = z[ys.min():ys.max() + 1, xs.min():xs.max() + 1]"#;
