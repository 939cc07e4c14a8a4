//! Hostile programs are each contained, with a clear recorded outcome, and the worker stays
//! healthy for the next job.

use std::time::Duration;

use randori_proto::v1 as pb;
use serde_json::Value;

use crate::harness::*;

struct Case {
    name: &'static str,
    code: String,
    timeout_ms: u64,
    memory_bytes: u64,
    check: fn(&pb::Outcome, &Value),
}

fn json_line(o: &pb::Outcome) -> Value {
    let out = text(&o.stdout_tail);
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or("null");
    serde_json::from_str(line).unwrap_or(Value::Null)
}

fn cases(bridge_ip: &str, bait_port: u16) -> Vec<Case> {
    vec![
        Case {
            name: "allocates past its memory limit",
            code: "x = []\nwhile True:\n    x.append(bytearray(32 << 20))\n".into(),
            timeout_ms: 60_000,
            memory_bytes: 256 << 20,
            check: |o, _| {
                assert!(o.oom_killed, "oom_killed");
                assert_ne!(o.exit_code, Some(0));
                assert!(!o.timed_out);
            },
        },
        Case {
            name: "loops forever",
            code: "while True:\n    pass\n".into(),
            timeout_ms: 3_000,
            memory_bytes: 256 << 20,
            check: |o, _| {
                assert!(o.timed_out, "timed_out");
                assert_ne!(o.exit_code, Some(0));
                assert!(o.duration_ms >= 3_000 && o.duration_ms < 20_000, "{}", o.duration_ms);
            },
        },
        Case {
            name: "fork bomb",
            code: r#"
import os, time, json
n = 0
err = None
try:
    while n < 5000:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        n += 1
except OSError as e:
    err = e.errno
print(json.dumps({"forks": n, "errno": err}))
"#
            .into(),
            timeout_ms: 60_000,
            memory_bytes: 1 << 30,
            check: |o, v| {
                let forks = v["forks"].as_u64().expect("fork count");
                assert!(forks < 256, "the pids limit stopped the bomb, got {forks}");
                assert_eq!(v["errno"], 11, "EAGAIN from fork");
                assert_eq!(o.exit_code, Some(0));
            },
        },
        Case {
            name: "opens sockets and resolves names",
            code: format!(
                r#"
import socket, json
res = {{}}
for name, addr in [("loopback", ("127.0.0.1", {bait_port})), ("docker_host", ("{bridge_ip}", {bait_port})), ("public", ("1.1.1.1", 53))]:
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect(addr)
        res[name] = "connected"
    except OSError as e:
        res[name] = "blocked: %s" % e
try:
    socket.getaddrinfo("deb.debian.org", 80)
    res["dns"] = "resolved"
except OSError as e:
    res["dns"] = "blocked: %s" % e
print(json.dumps(res))
"#
            ),
            timeout_ms: 60_000,
            memory_bytes: 256 << 20,
            check: |_, v| {
                for key in ["loopback", "docker_host", "public", "dns"] {
                    let r = v[key].as_str().unwrap_or_default();
                    assert!(r.starts_with("blocked"), "{key}: {r}");
                }
            },
        },
        Case {
            name: "writes where it may not",
            code: r#"
import json
res = {}
for path in ["/home/data/x", "/x", "/usr/x", "/home/code/solution.py", "/home/work/x", "/tmp/x", "/home/submission/x"]:
    try:
        with open(path, "w") as f:
            f.write("x")
        res[path] = "written"
    except OSError as e:
        res[path] = "refused: %s" % e
print(json.dumps(res))
"#
            .into(),
            timeout_ms: 60_000,
            memory_bytes: 256 << 20,
            check: |_, v| {
                for p in ["/home/data/x", "/x", "/usr/x", "/home/code/solution.py"] {
                    assert!(v[p].as_str().unwrap().starts_with("refused"), "{p}: {}", v[p]);
                }
                for p in ["/home/work/x", "/tmp/x", "/home/submission/x"] {
                    assert_eq!(v[p], "written", "{p}");
                }
            },
        },
        Case {
            name: "prints hundreds of MB",
            code: "import sys\nchunk = b'y' * (1 << 20)\nfor _ in range(300):\n    sys.stdout.buffer.write(chunk)\nsys.stdout.flush()\nsys.stderr.write('done\\n')\n".into(),
            timeout_ms: 120_000,
            memory_bytes: 256 << 20,
            check: |o, _| {
                assert_eq!(o.exit_code, Some(0));
                assert_eq!(o.stdout_bytes, 300 << 20);
                assert_eq!(o.stdout_tail.len(), 64 << 10);
                assert_eq!(o.stdout_head.len(), 32 << 10);
                assert!(text(&o.stderr_tail).contains("done"));
            },
        },
        Case {
            name: "leaves a detached process behind",
            code: "import subprocess, json\np = subprocess.Popen(['sleep', '987'], start_new_session=True)\nprint(json.dumps({'pid': p.pid}))\n".into(),
            timeout_ms: 60_000,
            memory_bytes: 256 << 20,
            check: |o, v| {
                assert_eq!(o.exit_code, Some(0));
                assert!(v["pid"].as_u64().is_some());
            },
        },
        Case {
            name: "reads the environment for secrets",
            code: "import os, json\nprint(json.dumps(dict(os.environ)))\n".into(),
            timeout_ms: 60_000,
            memory_bytes: 256 << 20,
            check: |o, v| {
                let allowed = [
                    "PATH", "HOSTNAME", "HOME", "LANG", "PYTHONDONTWRITEBYTECODE", "PYTHONUNBUFFERED",
                    "COMPETITION_ID", "RANDORI_NODE_ID", "CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS",
                    "RANDORI_GPU_IDS", "MPLCONFIGDIR",
                ];
                let env = v.as_object().expect("environment as JSON");
                for key in env.keys() {
                    assert!(allowed.contains(&key.as_str()), "unexpected variable {key}");
                }
                assert_eq!(env["COMPETITION_ID"], "toy-regression");
                assert!(!text(&o.stdout_tail).contains("s3cr3t"));
            },
        },
        Case {
            name: "plants a symlink as its submission",
            code: "import os\nos.symlink('/etc/shadow', '/home/submission/submission.csv')\n".into(),
            timeout_ms: 60_000,
            memory_bytes: 256 << 20,
            check: |o, _| {
                assert_eq!(o.exit_code, Some(0));
                assert!(o.submission.is_none(), "the worker followed the link");
            },
        },
        Case {
            name: "checks its own privileges",
            code: r#"
import os, json
status = dict(l.split(":\t", 1) for l in open("/proc/self/status").read().splitlines() if ":\t" in l)
print(json.dumps({"uid": os.getuid(), "cap_eff": status["CapEff"].strip(), "no_new_privs": status["NoNewPrivs"].strip()}))
"#
            .into(),
            timeout_ms: 60_000,
            memory_bytes: 256 << 20,
            check: |_, v| {
                assert_ne!(v["uid"], 0);
                assert_eq!(v["cap_eff"], "0000000000000000");
                assert_eq!(v["no_new_privs"], "1");
            },
        },
    ]
}

fn docker_bridge_gateway() -> String {
    let out = std::process::Command::new("docker")
        .args([
            "network",
            "inspect",
            "bridge",
            "--format",
            "{{(index .IPAM.Config 0).Gateway}}",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn host_has_process(cmdline: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .map(|c| String::from_utf8_lossy(&c).replace('\0', " ").trim() == cmdline)
            .unwrap_or(false)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_programs_are_contained_and_the_worker_stays_healthy() {
    let cluster = cluster("hostile", "10s").await;
    let addr = cluster.addr;
    // A listener on every interface: a program with network access could reach it.
    let bait = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let bait_port = bait.local_addr().unwrap().port();
    let name = unique("hostile");
    let worker_proc = worker(
        addr,
        WorkerOpts {
            name: &name,
            slots: 2,
            extra_env: &[
                ("RANDORI_TEST_SECRET", "s3cr3t"),
                ("AWS_SECRET_ACCESS_KEY", "s3cr3t-aws"),
            ],
            ..Default::default()
        },
    );
    let mut client = control(addr).await;
    let cases = cases(&docker_bridge_gateway(), bait_port);
    let mut jobs = Vec::new();
    for case in &cases {
        let id = submit(
            &mut client,
            Eval {
                code: &case.code,
                timeout_ms: case.timeout_ms,
                memory_bytes: case.memory_bytes,
                ..Default::default()
            },
        )
        .await;
        jobs.push(id);
    }
    for (case, id) in cases.iter().zip(&jobs) {
        let r = wait_end(&mut client, id, Duration::from_secs(300)).await;
        assert_eq!(
            r.state(),
            pb::JobState::Succeeded,
            "{}: {r:?}\n{}",
            case.name,
            worker_proc.log_text()
        );
        let o = r.outcome.clone().unwrap();
        println!(
            "{}: exit {:?} timed_out {} oom {} {} ms",
            case.name, o.exit_code, o.timed_out, o.oom_killed, o.duration_ms
        );
        (case.check)(&o, &json_line(&o));
    }

    // The worker is still healthy: a sound program runs and its submission comes back.
    assert_a_sound_program_runs(&mut client).await;

    // Flat memory: 300 MB of output went through a worker that never held it.
    let hwm_mib = vm_hwm_kib(worker_proc.pid()) / 1024;
    println!("worker peak RSS {hwm_mib} MiB");
    assert!(hwm_mib < 150, "worker peak RSS {hwm_mib} MiB");
    // Nothing left behind: no container (each is removed while its report goes out), no
    // detached process.
    eventually(
        "the last container is removed",
        Duration::from_secs(10),
        || async { containers_with_label(&format!("randori.worker={name}")).is_empty() },
    )
    .await;
    assert!(
        !host_has_process("sleep 987"),
        "the detached process outlived its container"
    );
}
