//! End-to-end tests across real processes: the `randori` binary as coordinator and workers,
//! a real Postgres, real Docker containers.

mod auth;
mod bench_cli;
mod compare;
mod compose;
mod counters;
mod dashboard;
mod deploy_files;
mod disk;
mod dl_runtime;
mod eval_cli;
mod failover;
mod faults;
mod gpu;
mod grading;
mod harness;
mod hostile;
mod leases;
mod llm_outages;
mod llm_runs;
mod mlebench;
mod orphans;
mod runs;
mod slurm;
mod sweep_run;
mod sweeps;
mod task_data;
mod traces;
mod warm_pool;
