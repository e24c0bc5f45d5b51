//! Local fakes of the CRMs Trellis talks to. Each serves the vendor's
//! documented paths, headers, bodies, batch limits, error shapes and
//! rate-limit answers on a local port, keeps what it is sent in memory, and
//! can be told to fail (429 bursts, 500s, slow answers, dropped
//! connections) so tests can show nothing is lost.

pub mod hubspot;
pub mod salesforce;
pub mod slack;
