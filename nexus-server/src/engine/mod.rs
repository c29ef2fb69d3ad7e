//! The engine inside `nexus serve`. So far: the workers that place planned orders
//! ([`worker`]); the scheduler, fan-out and signals land with the rest of their issue.

pub mod worker;
