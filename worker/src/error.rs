/// Errors of the worker library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot reach the Docker daemon ({0}); start Docker, or use --sandbox local for debugging"
    )]
    DockerUnavailable(String),
    #[error("runtime image {0} is missing; build it with `randori image build`")]
    ImageMissing(String),
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    #[error("{context}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("task data: {0}")]
    TaskData(String),
    #[error("job directory disk limit: {0}")]
    Disk(String),
    #[error("invalid worker configuration: {0}")]
    Config(String),
    #[error("coordinator: {0}")]
    Rpc(#[from] tonic::Status),
    #[error("coordinator endpoint: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("job was cancelled")]
    Cancelled,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
    let context = context.into();
    move |source| Error::Io { context, source }
}
