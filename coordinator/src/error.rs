use uuid::Uuid;

/// Errors of the coordinator library. `grpc::status_from` is the one place they become gRPC
/// statuses.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("applying migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} not found")]
    NotFound(String),
    /// The fence: a call carried an epoch that is not the job's current lease.
    #[error(
        "stale lease for job {job_id}: presented epoch {presented}, job is {state} at epoch {current}"
    )]
    StaleLease {
        job_id: Uuid,
        presented: u64,
        current: u64,
        state: String,
    },
    #[error("encoding JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// An LLM endpoint kept failing past `max_retries`.
    #[error("LLM endpoint: {0}")]
    Llm(String),
    /// An LLM call showed a settings error; the message names the key to fix.
    #[error("LLM settings: {0}")]
    LlmSettings(String),
    /// A replayed journal cannot answer a call.
    #[error("replay: {0}")]
    Replay(String),
    /// The LLM journal could not be read or written (its database): transient.
    #[error("LLM journal: {0}")]
    Journal(String),
    /// A task could not be loaded.
    #[error("task: {0}")]
    Task(String),
    /// The builtin generator could not make a program.
    #[error("operator: {0}")]
    Operator(String),
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("{context}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
