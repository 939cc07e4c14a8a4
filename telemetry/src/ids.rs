//! Trace and span ids derived from the ids randori stores, and the remote contexts made of them.

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// What a long-lived span stands for; part of its derived id, so a run and a node that
/// happened to share a uuid would still get different spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    Sweep,
    Run,
    Node,
    Job,
}

impl Entity {
    fn tag(self) -> &'static [u8] {
        match self {
            Entity::Sweep => b"sweep",
            Entity::Run => b"run",
            Entity::Node => b"node",
            Entity::Job => b"job",
        }
    }
}

/// The trace of everything under a root entity (a sweep, or a lone evaluation job).
pub fn trace_id(root: Uuid) -> TraceId {
    let id = TraceId::from_bytes(*root.as_bytes());
    if id == TraceId::INVALID {
        TraceId::from_bytes([1; 16])
    } else {
        id
    }
}

/// The span id of an entity: the first 8 bytes of a hash of its kind and id.
pub fn span_id(entity: Entity, id: Uuid) -> SpanId {
    let digest = Sha256::new()
        .chain_update(entity.tag())
        .chain_update(id.as_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    if bytes == [0; 8] {
        bytes[7] = 1;
    }
    SpanId::from_bytes(bytes)
}

/// The context of an entity's span in the given trace, as a parent for other spans.
pub fn context_of(trace: TraceId, entity: Entity, id: Uuid) -> SpanContext {
    SpanContext::new(
        trace,
        span_id(entity, id),
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_valid_and_differ_by_entity() {
        let id = Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef);
        assert_eq!(span_id(Entity::Run, id), span_id(Entity::Run, id));
        assert_ne!(span_id(Entity::Run, id), span_id(Entity::Node, id));
        assert_ne!(span_id(Entity::Job, id), SpanId::INVALID);
        assert_eq!(trace_id(id).to_bytes(), *id.as_bytes());
        assert_ne!(trace_id(Uuid::nil()), TraceId::INVALID);
        assert!(context_of(trace_id(id), Entity::Sweep, id).is_valid());
    }
}
