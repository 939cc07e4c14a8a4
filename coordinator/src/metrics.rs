//! Prometheus metrics in the text exposition format (0.0.4). Counters and histograms of what
//! this process did live in memory (they restart at zero with it, which `rate()` handles);
//! gauges of the queue, the trees and the workers are read from Postgres at each scrape, so
//! every replica reports the same state. Pure: no I/O here.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonic count.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A histogram with fixed upper bounds (seconds).
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// Observations per bucket (not cumulative), the last one for +Inf.
    buckets: Vec<AtomicU64>,
    /// The sum's f64 bits.
    sum: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Self {
        Self {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0f64.to_bits()),
        }
    }

    pub fn observe(&self, value: f64) {
        let i = self
            .bounds
            .iter()
            .position(|&b| value <= b)
            .unwrap_or(self.bounds.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + value).to_bits())
            });
    }
}

/// Job run times from seconds to an hour.
const DURATION_BOUNDS: &[f64] = &[
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// What this process counted.
#[derive(Debug)]
pub struct Metrics {
    pub lease_grants: Counter,
    pub lease_expiries: Counter,
    pub jobs_succeeded: Counter,
    pub jobs_failed: Counter,
    /// How long each reported program ran in its sandbox.
    pub job_run_seconds: Histogram,
    /// From a job's creation to its end.
    pub job_total_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            lease_grants: Counter::default(),
            lease_expiries: Counter::default(),
            jobs_succeeded: Counter::default(),
            jobs_failed: Counter::default(),
            job_run_seconds: Histogram::new(DURATION_BOUNDS),
            job_total_seconds: Histogram::new(DURATION_BOUNDS),
        }
    }
}

/// One worker's share as the store sees it: its totals minus what its leases hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerFree {
    pub name: String,
    pub state: String,
    pub free_slots: i64,
    pub free_cpu_millis: i64,
    pub free_memory_bytes: i64,
    pub gpus: i64,
    pub free_gpus: i64,
}

/// The state read from Postgres at a scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreSnapshot {
    /// (family, state, count) for jobs, nodes, runs, sweeps and workers.
    pub counts: Vec<(String, String, i64)>,
    pub workers: Vec<WorkerFree>,
    pub llm_calls: i64,
    pub llm_tokens_in: i64,
    pub llm_tokens_out: i64,
    pub llm_cost_usd: f64,
}

/// Writes families and samples; label values are escaped as the format requires.
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            let inner: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", label_escaped(v)))
                .collect();
            let _ = write!(self.0, "{{{}}}", inner.join(","));
        }
        let _ = writeln!(self.0, " {}", number(value));
    }

    fn counter(&mut self, name: &str, help: &str, value: u64) {
        self.family(name, "counter", help);
        self.sample(name, &[], value as f64);
    }

    fn histogram(&mut self, name: &str, help: &str, h: &Histogram) {
        self.family(name, "histogram", help);
        let mut cumulative = 0;
        for (i, bucket) in h.buckets.iter().enumerate() {
            cumulative += bucket.load(Ordering::Relaxed);
            let le = h
                .bounds
                .get(i)
                .map_or_else(|| "+Inf".to_owned(), |b| number(*b));
            self.sample(&format!("{name}_bucket"), &[("le", &le)], cumulative as f64);
        }
        let sum = f64::from_bits(h.sum.load(Ordering::Relaxed));
        self.sample(&format!("{name}_sum"), &[], sum);
        self.sample(&format!("{name}_count"), &[], cumulative as f64);
    }
}

fn label_escaped(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        v.to_string()
    }
}

/// Gauges by family; every family's help text, and the label its rows carry.
const COUNT_FAMILIES: [(&str, &str, &str); 5] = [
    ("jobs", "state", "Jobs by state."),
    (
        "nodes",
        "status",
        "Nodes by status (pending until evaluated, then ok or buggy).",
    ),
    ("runs", "state", "Runs by state."),
    ("sweeps", "state", "Sweeps by state."),
    ("workers", "state", "Registered workers by state."),
];

/// The whole exposition: this process's counters and histograms, then the store's gauges.
pub fn render(m: &Metrics, store: &StoreSnapshot) -> String {
    let mut e = Exposition(String::new());
    e.counter(
        "randori_lease_grants_total",
        "Leases this coordinator granted.",
        m.lease_grants.get(),
    );
    e.counter(
        "randori_lease_expiries_total",
        "Leases this coordinator's reaper found expired.",
        m.lease_expiries.get(),
    );
    e.family(
        "randori_jobs_finished_total",
        "counter",
        "Jobs that reached a final state through this coordinator.",
    );
    for (state, c) in [("succeeded", &m.jobs_succeeded), ("failed", &m.jobs_failed)] {
        e.sample(
            "randori_jobs_finished_total",
            &[("state", state)],
            c.get() as f64,
        );
    }
    e.histogram(
        "randori_job_run_seconds",
        "How long reported programs ran in their sandbox.",
        &m.job_run_seconds,
    );
    e.histogram(
        "randori_job_total_seconds",
        "From a job's creation to its end, queueing and retries included.",
        &m.job_total_seconds,
    );
    for (family, label, help) in COUNT_FAMILIES {
        let name = format!("randori_{family}");
        e.family(&name, "gauge", help);
        for (_, value, n) in store.counts.iter().filter(|(f, _, _)| f == family) {
            e.sample(&name, &[(label, value)], *n as f64);
        }
    }
    type PerWorker = (&'static str, &'static str, fn(&WorkerFree) -> i64);
    let per_worker: [PerWorker; 4] = [
        (
            "randori_worker_free_slots",
            "Job slots a worker has free.",
            |w| w.free_slots,
        ),
        (
            "randori_worker_free_cpu_millis",
            "CPU (millicores) a worker has free.",
            |w| w.free_cpu_millis,
        ),
        (
            "randori_worker_free_memory_bytes",
            "Memory a worker has free.",
            |w| w.free_memory_bytes,
        ),
        ("randori_worker_free_gpus", "GPUs a worker has free.", |w| {
            w.free_gpus
        }),
    ];
    for (name, help, value) in per_worker {
        e.family(name, "gauge", help);
        for w in &store.workers {
            e.sample(
                name,
                &[("worker", &w.name), ("state", &w.state)],
                value(w) as f64,
            );
        }
    }
    let gpus: i64 = store.workers.iter().map(|w| w.gpus).sum();
    let free: i64 = store.workers.iter().map(|w| w.free_gpus).sum();
    e.family("randori_gpus", "gauge", "GPUs of live workers.");
    e.sample("randori_gpus", &[], gpus as f64);
    e.family(
        "randori_gpus_allocated",
        "gauge",
        "GPUs held by leased jobs.",
    );
    e.sample("randori_gpus_allocated", &[], (gpus - free) as f64);
    e.family("randori_llm_calls_total", "counter", "LLM calls journaled.");
    e.sample("randori_llm_calls_total", &[], store.llm_calls as f64);
    e.family(
        "randori_llm_tokens_total",
        "counter",
        "LLM tokens, by direction.",
    );
    e.sample(
        "randori_llm_tokens_total",
        &[("direction", "in")],
        store.llm_tokens_in as f64,
    );
    e.sample(
        "randori_llm_tokens_total",
        &[("direction", "out")],
        store.llm_tokens_out as f64,
    );
    e.family(
        "randori_llm_cost_usd_total",
        "counter",
        "LLM cost in US dollars.",
    );
    e.sample("randori_llm_cost_usd_total", &[], store.llm_cost_usd);
    e.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(text: &str) -> Vec<(String, f64)> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let (name, value) = l.rsplit_once(' ').expect("name and value");
                (name.to_owned(), value.parse().expect("a number"))
            })
            .collect()
    }

    #[test]
    fn histograms_are_cumulative_and_counters_count() {
        let m = Metrics::default();
        m.lease_grants.add(3);
        m.jobs_succeeded.add(2);
        for v in [0.05, 0.7, 4000.0] {
            m.job_run_seconds.observe(v);
        }
        let text = render(&m, &StoreSnapshot::default());
        let s = samples(&text);
        let get = |name: &str| s.iter().find(|(n, _)| n == name).map(|(_, v)| *v);
        assert_eq!(get("randori_lease_grants_total"), Some(3.0));
        assert_eq!(
            get("randori_jobs_finished_total{state=\"succeeded\"}"),
            Some(2.0)
        );
        assert_eq!(get("randori_job_run_seconds_bucket{le=\"0.1\"}"), Some(1.0));
        assert_eq!(get("randori_job_run_seconds_bucket{le=\"1\"}"), Some(2.0));
        assert_eq!(
            get("randori_job_run_seconds_bucket{le=\"3600\"}"),
            Some(2.0)
        );
        assert_eq!(
            get("randori_job_run_seconds_bucket{le=\"+Inf\"}"),
            Some(3.0)
        );
        assert_eq!(get("randori_job_run_seconds_count"), Some(3.0));
        assert!((get("randori_job_run_seconds_sum").unwrap() - 4000.75).abs() < 1e-9);
    }

    #[test]
    fn store_gauges_carry_their_labels_escaped() {
        let store = StoreSnapshot {
            counts: vec![
                ("jobs".into(), "queued".into(), 4),
                ("nodes".into(), "ok".into(), 7),
            ],
            workers: vec![WorkerFree {
                name: "gpu\"box\\1\n".into(),
                state: "active".into(),
                free_slots: 1,
                free_cpu_millis: 500,
                free_memory_bytes: 1 << 30,
                gpus: 4,
                free_gpus: 1,
            }],
            llm_tokens_in: 10,
            llm_cost_usd: 0.25,
            ..Default::default()
        };
        let text = render(&Metrics::default(), &store);
        assert!(
            text.contains("randori_jobs{state=\"queued\"} 4\n"),
            "{text}"
        );
        assert!(text.contains("randori_nodes{status=\"ok\"} 7\n"));
        assert!(text.contains(
            "randori_worker_free_gpus{worker=\"gpu\\\"box\\\\1\\n\",state=\"active\"} 1\n"
        ));
        assert!(text.contains("randori_gpus_allocated 3\n"));
        assert!(text.contains("randori_llm_cost_usd_total 0.25\n"));
        // Every family is declared once, before its samples.
        let mut declared = std::collections::HashSet::new();
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            assert!(declared.insert(line.to_owned()), "declared twice: {line}");
        }
    }

    #[test]
    fn the_grafana_dashboard_queries_only_exported_metrics() {
        let exported = render(&Metrics::default(), &StoreSnapshot::default());
        let families: Vec<&str> = exported
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        let dashboard: serde_json::Value = serde_json::from_str(include_str!(
            "../../deploy/observability/grafana-dashboard.json"
        ))
        .expect("the dashboard is JSON");
        let mut queried = 0;
        for panel in dashboard["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("expr");
                for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                    if !word.starts_with("randori_") {
                        continue;
                    }
                    let family = ["_bucket", "_sum", "_count"]
                        .iter()
                        .find_map(|s| word.strip_suffix(s))
                        .filter(|f| families.contains(f))
                        .unwrap_or(word);
                    assert!(families.contains(&family), "{expr} queries {word}");
                    queried += 1;
                }
            }
        }
        assert!(queried >= 10, "the dashboard queries the metrics");
    }
}
