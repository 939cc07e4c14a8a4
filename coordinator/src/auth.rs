//! Who may call what: clients present the client token (ControlService, the dashboard,
//! `/metrics`), workers the worker token (WorkerService); one kind is refused for the other.
//! With no tokens configured every call is let through (the embedded stack then listens on
//! loopback only).

use std::sync::Arc;

use tonic::service::Interceptor;
use tonic::{Request, Status};

/// The two tokens; both or neither are configured (checked by `CoordinatorConfig`).
#[derive(Clone, PartialEq, Eq)]
pub struct Tokens {
    pub client: String,
    pub worker: String,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens { .. }")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Client,
    Worker,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::Worker => "worker",
        }
    }
}

/// Why a call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `Bearer` token: UNAUTHENTICATED.
    Missing,
    /// A token that is neither: UNAUTHENTICATED.
    Unknown,
    /// The other kind's token: PERMISSION_DENIED.
    WrongRole,
}

impl Refusal {
    pub fn status(self, role: Role) -> Status {
        match self {
            Refusal::Missing => Status::unauthenticated(format!(
                "this call needs the {} token (authorization: Bearer …; set RANDORI_TOKEN)",
                role.as_str()
            )),
            Refusal::Unknown => Status::unauthenticated("the token is not valid here"),
            Refusal::WrongRole => Status::permission_denied(format!(
                "this call needs the {} token, not the other kind",
                role.as_str()
            )),
        }
    }
}

/// Equal without an early exit, so the time taken says nothing about where they differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Whether `presented` (the token, without the scheme) may act as `role`.
pub fn check(tokens: &Tokens, role: Role, presented: Option<&str>) -> Result<(), Refusal> {
    let Some(token) = presented.filter(|t| !t.is_empty()) else {
        return Err(Refusal::Missing);
    };
    let (own, other) = match role {
        Role::Client => (&tokens.client, &tokens.worker),
        Role::Worker => (&tokens.worker, &tokens.client),
    };
    if same(token, own) {
        Ok(())
    } else if same(token, other) {
        Err(Refusal::WrongRole)
    } else {
        Err(Refusal::Unknown)
    }
}

/// The token of an `authorization: Bearer <token>` value.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The gRPC gate in front of one service.
#[derive(Clone)]
pub struct Gate {
    pub tokens: Option<Arc<Tokens>>,
    pub role: Role,
}

impl Interceptor for Gate {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let Some(tokens) = &self.tokens else {
            return Ok(request);
        };
        let presented = request
            .metadata()
            .get(randori_proto::auth::METADATA_KEY)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer);
        match check(tokens, self.role, presented) {
            Ok(()) => Ok(request),
            Err(refusal) => {
                tracing::warn!(role = self.role.as_str(), ?refusal,
                    peer = ?request.remote_addr(), "gRPC call refused");
                Err(refusal.status(self.role))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> Tokens {
        Tokens {
            client: "client-secret".into(),
            worker: "worker-secret".into(),
        }
    }

    #[test]
    fn each_token_acts_only_as_its_own_kind() {
        let t = tokens();
        assert_eq!(check(&t, Role::Client, Some("client-secret")), Ok(()));
        assert_eq!(check(&t, Role::Worker, Some("worker-secret")), Ok(()));
        assert_eq!(
            check(&t, Role::Client, Some("worker-secret")),
            Err(Refusal::WrongRole)
        );
        assert_eq!(
            check(&t, Role::Worker, Some("client-secret")),
            Err(Refusal::WrongRole)
        );
        assert_eq!(
            check(&t, Role::Client, Some("client-secreT")),
            Err(Refusal::Unknown)
        );
        assert_eq!(check(&t, Role::Client, Some("")), Err(Refusal::Missing));
        assert_eq!(check(&t, Role::Client, None), Err(Refusal::Missing));
        assert_eq!(
            Refusal::WrongRole.status(Role::Client).code(),
            tonic::Code::PermissionDenied
        );
        assert_eq!(
            Refusal::Unknown.status(Role::Worker).code(),
            tonic::Code::Unauthenticated
        );
    }

    #[test]
    fn bearer_values_are_parsed_strictly() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("abc"), None);
        assert!(!format!("{:?}", tokens()).contains("secret"));
    }
}
