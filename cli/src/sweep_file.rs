//! The sweep file (TOML; README.md "Sweep files", `randori sweep example`) read into a `SweepSpec`: human units turned
//! into milliseconds and bytes, tasks resolved to absolute directories, unknown keys refused.
//! Every error names the file, then the key or line, then the problem.

use std::path::{Path, PathBuf};

use randori_coordinator::mlebench::Install;
use randori_coordinator::sweep_spec::{Budget, NodeResources, SweepSpec};
use serde::Deserialize;

use crate::units::{parse_duration, parse_memory};

#[derive(Debug, thiserror::Error)]
#[error("{file}: {problem}")]
pub struct SweepFileError {
    file: String,
    problem: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    name: String,
    tasks: Vec<String>,
    policies: Vec<String>,
    /// The operator sets compared, one run each (AIRA-dojo's O_AIDE vs O_AIRA ablation).
    #[serde(default)]
    operator_sets: Vec<String>,
    seeds: Vec<u64>,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    budget: BudgetTable,
    #[serde(default)]
    resources: ResourcesTable,
    /// The runtime image nodes run in: a flavour (`cpu`, `dl`) or a tag. Unset: each
    /// worker's own.
    image: Option<String>,
    #[serde(default)]
    operator: toml::Table,
    #[serde(default)]
    policy: toml::Table,
    #[serde(default)]
    mlebench: MleBenchTable,
}

/// Where the user's MLE-bench install is; unset keys fall back to `MLEBENCH_REPO` and
/// `MLEBENCH_DATA_DIR`, the data directory to MLE-bench's default.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MleBenchTable {
    repo: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    /// Carve this share of `train.csv` out as hidden validation (default: none, the search
    /// sees the metric the program prints).
    hidden_validation: Option<f64>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetTable {
    max_nodes: Option<u32>,
    max_wall: Option<String>,
    node_timeout: Option<String>,
    parallelism: Option<u32>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResourcesTable {
    gpus: Option<u32>,
    cpus: Option<f64>,
    memory: Option<String>,
    disk: Option<String>,
}

/// Reads and checks a sweep file; task ids are looked up under `RANDORI_TASKS` (colon
/// separated), then `tasks/mini` and `tasks` of the current directory.
pub fn load(path: &Path) -> Result<SweepSpec, SweepFileError> {
    let mut roots: Vec<PathBuf> = std::env::var_os("RANDORI_TASKS")
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default();
    roots.extend([PathBuf::from("tasks/mini"), PathBuf::from("tasks")]);
    load_with_roots(path, &roots)
}

pub fn load_with_roots(path: &Path, task_roots: &[PathBuf]) -> Result<SweepSpec, SweepFileError> {
    let fail = |problem: String| SweepFileError {
        file: path.display().to_string(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let file: SweepFile = toml::from_str(&text).map_err(|e| fail(toml_problem(&text, &e)))?;
    let defaults = (Budget::default(), NodeResources::default());
    let duration_ms = |key: &str, v: &Option<String>, default: u64| match v {
        None => Ok(default),
        Some(s) => parse_duration(s)
            .map(|d| d.as_millis() as u64)
            .map_err(|e| fail(format!("{key}: {e}"))),
    };
    let budget = Budget {
        max_nodes: file.budget.max_nodes.unwrap_or(defaults.0.max_nodes),
        max_wall_ms: duration_ms(
            "budget.max_wall",
            &file.budget.max_wall,
            defaults.0.max_wall_ms,
        )?,
        node_timeout_ms: duration_ms(
            "budget.node_timeout",
            &file.budget.node_timeout,
            defaults.0.node_timeout_ms,
        )?,
        parallelism: file.budget.parallelism.unwrap_or(defaults.0.parallelism),
    };
    let cpu_millis = match file.resources.cpus {
        None => defaults.1.cpu_millis,
        Some(c) if c > 0.0 && c * 1000.0 <= f64::from(u32::MAX) => (c * 1000.0).round() as u32,
        Some(c) => {
            return Err(fail(format!(
                "resources.cpus: {c} is not a positive CPU count"
            )));
        }
    };
    let memory_bytes = match &file.resources.memory {
        None => defaults.1.memory_bytes,
        Some(m) => parse_memory(m).map_err(|e| fail(format!("resources.memory: {e}")))?,
    };
    let disk_bytes = match &file.resources.disk {
        None => defaults.1.disk_bytes,
        Some(d) => parse_memory(d).map_err(|e| fail(format!("resources.disk: {e}")))?,
    };
    let policy = serde_json::to_value(&file.policy).map_err(|e| fail(format!("policy: {e}")))?;
    check_policy_tables(&policy).map_err(fail)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let relative = |p: &Option<PathBuf>| p.as_ref().map(|p| base.join(p));
    let (mlebench_repo, mlebench_data) = (
        relative(&file.mlebench.repo),
        relative(&file.mlebench.data_dir),
    );
    let hidden_validation = file.mlebench.hidden_validation;
    if let Some(f) = hidden_validation
        && !(f > 0.0 && f < 1.0)
    {
        return Err(fail(format!(
            "mlebench.hidden_validation: a share of train.csv between 0 and 1 (like 0.1), not {f}"
        )));
    }
    let mut install = None;
    let mut tasks = Vec::new();
    for (i, t) in file.tasks.iter().enumerate() {
        if let Some(name) = t.strip_prefix("mlebench:") {
            let install = match &mut install {
                Some(install) => install,
                None => install.insert(
                    Install::from_settings(mlebench_repo.as_deref(), mlebench_data.as_deref())
                        .map_err(|e| fail(format!("tasks[{i}]: {e}")))?,
                ),
            };
            let ids = install
                .resolve(name)
                .map_err(|e| fail(format!("tasks[{i}]: {e}")))?;
            tasks.extend(
                ids.iter()
                    .map(|id| install.location_with(id, hidden_validation)),
            );
            continue;
        }
        tasks.push(resolve_task(t, base, task_roots).ok_or_else(|| {
            fail(format!(
                "tasks[{i}]: no task {t:?}: not a task directory (with config.yaml) relative to the current directory or to the sweep file, nor a task id under {}, nor mlebench:<competition or split>",
                task_roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
            ))
        })?);
    }
    // A split and an id may name the same competition twice: one run each is enough.
    let mut seen = std::collections::HashSet::new();
    tasks.retain(|t| seen.insert(t.clone()));
    let spec = SweepSpec {
        name: file.name,
        tasks,
        policies: file.policies,
        operator_sets: file.operator_sets,
        seeds: file.seeds,
        priority: file.priority,
        budget,
        resources: NodeResources {
            gpus: file.resources.gpus.unwrap_or(defaults.1.gpus),
            cpu_millis,
            memory_bytes,
            disk_bytes,
        },
        image: file.image.as_deref().map(crate::image::resolve),
        operator: serde_json::to_value(&file.operator)
            .map_err(|e| fail(format!("operator: {e}")))?,
        policy,
    };
    let problems = spec.problems();
    if !problems.is_empty() {
        return Err(fail(problems.join("; ")));
    }
    Ok(spec)
}

/// Each `[policy.NAME]` table on its own, so that an error names the table.
fn check_policy_tables(policy: &serde_json::Value) -> Result<(), String> {
    let Some(tables) = policy.as_object() else {
        return Ok(());
    };
    for (name, table) in tables {
        let one = serde_json::json!({ name: table });
        serde_json::from_value::<randori_search::PolicySettings>(one)
            .map_err(|e| format!("policy.{name}: {e}"))?;
    }
    Ok(())
}

/// A directory with `config.yaml`, as given or relative to the sweep file's directory, else
/// a task id under one of the roots; canonical.
fn resolve_task(entry: &str, sweep_dir: &Path, roots: &[PathBuf]) -> Option<String> {
    let is_task = |p: &Path| p.join("config.yaml").is_file();
    let as_path = Path::new(entry);
    let candidates = [as_path.to_path_buf(), sweep_dir.join(as_path)]
        .into_iter()
        .chain(roots.iter().map(|r| r.join(entry)));
    candidates
        .filter(|p| is_task(p))
        .find_map(|p| std::fs::canonicalize(p).ok())
        .map(|p| p.to_string_lossy().into_owned())
}

/// toml's message on one line, with the line it points at.
fn toml_problem(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task_root() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for t in ["alpha", "beta"] {
            std::fs::create_dir_all(root.path().join(t)).unwrap();
            std::fs::write(root.path().join(t).join("config.yaml"), "id: x\n").unwrap();
        }
        root
    }

    fn load_text(text: &str) -> (Result<SweepSpec, SweepFileError>, tempfile::TempDir) {
        let root = task_root();
        let file = root.path().join("sweep.toml");
        std::fs::write(&file, text).unwrap();
        let roots = [root.path().to_path_buf()];
        (load_with_roots(&file, &roots), root)
    }

    fn error(text: &str) -> String {
        load_text(text).0.unwrap_err().to_string()
    }

    const HEAD: &str = "name = \"s\"\ntasks = [\"alpha\"]\npolicies = [\"greedy\"]\nseeds = [0]\n";

    #[test]
    fn a_full_file_becomes_its_spec() {
        let (spec, root) = load_text(
            r#"
name = "full"
tasks = ["alpha", "beta"]
policies = ["greedy", "mcts", "evolutionary"]
seeds = [0, 1, 2]
priority = 3
image = "dl"
[budget]
max_nodes = 40
max_wall = "30m"
node_timeout = "5m"
parallelism = 2
[resources]
gpus = 1
cpus = 1.5
memory = "2G"
disk = "20G"
[operator]
backend = "openai"
model = "o3"
[policy.greedy]
num_drafts = 5
debug_prob = 1.0
[policy.mcts]
uct_c = 0.25
[policy.evolutionary]
num_islands = 1
"#,
        );
        let spec = spec.unwrap();
        let dir = |t: &str| {
            std::fs::canonicalize(root.path().join(t))
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        assert_eq!(spec.tasks, vec![dir("alpha"), dir("beta")]);
        assert_eq!(spec.seeds, vec![0, 1, 2]);
        assert_eq!(spec.priority, 3);
        assert_eq!(
            spec.budget,
            Budget {
                max_nodes: 40,
                max_wall_ms: 1_800_000,
                node_timeout_ms: 300_000,
                parallelism: 2
            }
        );
        assert_eq!(
            spec.resources,
            NodeResources {
                gpus: 1,
                cpu_millis: 1500,
                memory_bytes: 2 << 30,
                disk_bytes: 20 << 30
            }
        );
        assert_eq!(spec.image, Some(crate::image::Flavor::Dl.tag()));
        assert_eq!(spec.operator["model"], "o3");
        assert_eq!(spec.policy["greedy"]["num_drafts"], 5);
    }

    /// The AIRA-dojo presets parse, and every run they make passes the coordinator's checks
    /// (with a local task standing in for MLE-bench lite, which needs an install).
    #[test]
    fn the_aira_dojo_presets_are_valid_sweeps() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/aira-dojo");
        for name in ["greedy", "mcts", "evolutionary"] {
            let text = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap();
            assert!(text.contains("tasks = [\"mlebench:lite\"]"), "{name}");
            let (spec, _root) =
                load_text(&text.replace("tasks = [\"mlebench:lite\"]", "tasks = [\"alpha\"]"));
            let spec = spec.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(spec.policies, [name]);
            assert_eq!(
                (spec.budget.max_wall_ms, spec.budget.node_timeout_ms),
                (24 * 3_600_000, 4 * 3_600_000)
            );
            assert_eq!(
                (spec.resources.gpus, spec.resources.cpu_millis),
                (1, 24_000)
            );
            assert_eq!(spec.seeds.len(), 10);
            for run in spec.runs() {
                randori_coordinator::check_run_settings(
                    run.policy,
                    &spec.policy,
                    &spec.operator_config(&run),
                )
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            }
            assert_eq!(spec.operator["model"], "o3");
            assert_eq!(spec.operator["analyze"]["model"], "gpt-4o");
        }
    }

    #[test]
    fn defaults_fill_what_is_left_out() {
        let spec = load_text(HEAD).0.unwrap();
        assert_eq!(spec.budget, Budget::default());
        assert_eq!(spec.resources, NodeResources::default());
        assert_eq!(spec.operator, serde_json::json!({}));
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let cases = [
            (format!("{HEAD}colour = 1\n"), "unknown field `colour`"),
            (format!("{HEAD}[budget]\nmax_node = 3\n"), "unknown field `max_node`"),
            (format!("{HEAD}[budget]\nmax_wall = \"soon\"\n"), "budget.max_wall"),
            (format!("{HEAD}[resources]\nmemory = \"lots\"\n"), "resources.memory"),
            (format!("{HEAD}[resources]\ndisk = \"0\"\n"), "resources.disk"),
            (format!("{HEAD}[policy.greedy]\nnum_draft = 3\n"), "policy.greedy"),
            (format!("{HEAD}[policy.beam]\nwidth = 3\n"), "policy.beam"),
            (
                "name = \"s\"\ntasks = [\"alpha\", \"nope\"]\npolicies = [\"greedy\"]\nseeds = [0]\n"
                    .to_owned(),
                "tasks[1]: no task \"nope\"",
            ),
            (
                "name = \"s\"\npolicies = [\"greedy\"]\nseeds = [0]\n".to_owned(),
                "missing field `tasks`",
            ),
            (
                "name = \"s\"\ntasks = [\"alpha\"]\npolicies = [\"beam\"]\nseeds = [0]\n".to_owned(),
                "policies: unknown policy \"beam\"",
            ),
        ];
        for (text, want) in cases {
            let e = error(&text);
            assert!(e.contains("sweep.toml: "), "{e}");
            assert!(e.contains(want), "{want:?} not in {e:?}");
            assert!(!e.contains('\n'), "one line: {e:?}");
        }
        assert!(error(&format!("{HEAD}[budget]\nmax_node = 3\n")).contains("line 6"));
    }

    #[test]
    fn tasks_resolve_as_paths_relative_to_the_sweep_file() {
        let root = task_root();
        let sub = root.path().join("sweeps");
        std::fs::create_dir_all(&sub).unwrap();
        let file = sub.join("s.toml");
        std::fs::write(
            &file,
            "name = \"s\"\ntasks = [\"../beta\"]\npolicies = [\"greedy\"]\nseeds = [0]\n",
        )
        .unwrap();
        let spec = load_with_roots(&file, &[]).unwrap();
        assert!(spec.tasks[0].ends_with("/beta"), "{:?}", spec.tasks);
    }
}
