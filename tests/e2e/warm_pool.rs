//! The warm container pool: a run takes a container created ahead of it, a fresh one (never
//! reused), and a worker that stops leaves none behind.

use std::time::Duration;

use randori_proto::v1 as pb;

use crate::harness::*;

/// Prints the container's hostname (its id's first 12 characters) and whatever an earlier
/// run could have left in the scratch directory, then leaves a mark there.
const PROBE: &str = r#"
import os, socket
print("host", socket.gethostname())
print("left", sorted(os.listdir("/home/work")))
open("/home/work/mark", "w").write("x")
"#;

fn probe_line(o: &pb::Outcome, key: &str) -> String {
    let out = text(&o.stdout_tail);
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} ")).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {key} line in {out:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_takes_a_fresh_warm_container_and_a_stopped_worker_leaves_none() {
    let cluster = cluster("warm_pool", "10s").await;
    let name = unique("warm");
    let label = format!("randori.worker={name}");
    let mut w = worker(
        cluster.addr,
        WorkerOpts {
            name: &name,
            slots: 1,
            extra_args: &["--warm-containers", "1"],
            ..Default::default()
        },
    );
    let mut client = control(cluster.addr).await;
    let mut hosts = Vec::new();
    for i in 0..2 {
        // Before the second run, the pool holds one container created for its shape.
        let warm = if i == 0 {
            None
        } else {
            let mut ready = Vec::new();
            eventually("a warm container waits", Duration::from_secs(30), || {
                ready = containers_in_status(&label, "created");
                let found = ready.len() == 1;
                async move { found }
            })
            .await;
            Some(ready.remove(0))
        };
        let id = submit(
            &mut client,
            Eval {
                code: PROBE,
                ..Default::default()
            },
        )
        .await;
        let r = wait_end(&mut client, &id, Duration::from_secs(120)).await;
        let o = r.outcome.expect("an outcome");
        assert_eq!(o.exit_code, Some(0), "{}", text(&o.stderr_tail));
        assert_eq!(probe_line(&o, "left"), "[]", "a fresh scratch directory");
        let host = probe_line(&o, "host");
        if let Some(warm) = warm {
            assert!(
                warm.starts_with(&host),
                "ran in {host}, the warm one was {warm}"
            );
        }
        hosts.push(host);
    }
    assert_ne!(hosts[0], hosts[1], "a container serves one run");

    w.signal(nix::sys::signal::Signal::SIGTERM);
    let status = w
        .wait_exit(Duration::from_secs(60))
        .expect("the worker exits");
    assert!(status.success(), "{status:?}\n{}", w.log_text());
    assert!(
        containers_with_label(&label).is_empty(),
        "the stopped worker left containers behind"
    );
}
