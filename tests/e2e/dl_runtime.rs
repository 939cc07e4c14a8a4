//! The `dl` runtime flavour runs what MLE-bench Lite's image, audio and text competitions
//! need, in the sandbox under the usual limits (no network, 1 CPU, 4 GiB): a small torch
//! training on CPU and a LightGBM fit, with the rest of the stack importable.
//!
//! Ignored by default: the image is 7.4 GB and takes about 7 minutes to build. Run it with
//! `randori image build --flavor dl && cargo test --test e2e dl_runtime -- --ignored`.

use std::time::Duration;

use randori_proto::v1 as pb;

use crate::harness::*;

const PROGRAM: &str = r#"
import json, time
import numpy as np
import torch, torchvision, timm, transformers, xgboost, catboost, cv2, librosa, sklearn
import lightgbm as lgb
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

torch.manual_seed(0)
t0 = time.time()
x = torch.randn(2048, 16)
y = (x[:, :4].sum(dim=1) > 0).float()
model = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
loss_fn = torch.nn.BCEWithLogitsLoss()
first = None
for step in range(200):
    opt.zero_grad()
    loss = loss_fn(model(x).squeeze(1), y)
    loss.backward()
    opt.step()
    first = first if first is not None else loss.item()
torch_s = time.time() - t0

t0 = time.time()
X, Y = make_classification(n_samples=5000, n_features=20, random_state=0)
xtr, xva, ytr, yva = train_test_split(X, Y, random_state=0)
clf = lgb.LGBMClassifier(n_estimators=100, verbose=-1).fit(xtr, ytr)
lgb_acc = float((clf.predict(xva) == yva).mean())
lgb_s = time.time() - t0

print(json.dumps({
    "torch": torch.__version__, "cuda_built": torch.version.cuda, "threads": torch.get_num_threads(),
    "loss_first": first, "loss_last": loss.item(), "torch_seconds": torch_s,
    "lightgbm_accuracy": lgb_acc, "lightgbm_seconds": lgb_s,
    "sklearn": sklearn.__version__, "timm": timm.__version__, "transformers": transformers.__version__,
}))
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the dl runtime image (randori image build --flavor dl: 7.4 GB)"]
async fn dl_runtime_trains_torch_and_lightgbm_in_the_sandbox() {
    let tag = String::from_utf8(
        std::process::Command::new(BIN)
            .args(["image", "tag", "--flavor", "dl"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let tag = tag.trim();
    let cluster = cluster("dl-runtime", "10s").await;
    let name = unique("dl");
    let worker = worker(
        cluster.addr,
        WorkerOpts {
            name: &name,
            slots: 1,
            image: Some(tag),
            ..Default::default()
        },
    );
    let mut client = control(cluster.addr).await;
    let id = submit(
        &mut client,
        Eval {
            code: PROGRAM,
            timeout_ms: 600_000,
            memory_bytes: 4 << 30,
            ..Default::default()
        },
    )
    .await;
    let r = wait_end(&mut client, &id, Duration::from_secs(700)).await;
    assert_eq!(r.state(), pb::JobState::Succeeded, "{}", worker.log_text());
    let o = r.outcome.unwrap();
    assert_eq!(o.exit_code, Some(0), "{}", text(&o.stderr_tail));
    let out = text(&o.stdout_tail);
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .expect("the program's JSON line");
    println!(
        "{line} (container {} ms, peak memory {:?})",
        o.duration_ms, o.peak_memory_bytes
    );
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert!(
        v["loss_last"].as_f64() < v["loss_first"].as_f64().map(|f| f / 2.0),
        "{v}"
    );
    assert!(v["lightgbm_accuracy"].as_f64().unwrap() > 0.85, "{v}");
    assert_eq!(v["sklearn"], "1.5.2");
}
