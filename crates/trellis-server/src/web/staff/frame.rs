//! What every staff page shows around its content (`staff_base.html`): the
//! program, the sections, who is signed in and the sign-out form, whose
//! CSRF token the page's own forms share.

use super::StaffSignedIn;
use crate::web::{csrf, secure};
use crate::AppState;
use axum_extra::extract::CookieJar;
use trellis_store::Role;

/// The workspace's sections, in the order the navigation lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Queue,
    Conflicts,
    Partners,
    Tiers,
    Reviews,
    Metrics,
    /// Admins only: who works in the workspace.
    People,
}

impl Section {
    pub const ALL: [Section; 7] = [
        Section::Queue,
        Section::Conflicts,
        Section::Partners,
        Section::Tiers,
        Section::Reviews,
        Section::Metrics,
        Section::People,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Section::Queue => "Queue",
            Section::Conflicts => "Conflicts",
            Section::Partners => "Partners",
            Section::Tiers => "Tier mobility",
            Section::Reviews => "Reviews",
            Section::Metrics => "Metrics",
            Section::People => "People",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Section::Queue => "/staff/queue",
            Section::Conflicts => "/staff/conflicts",
            Section::Partners => "/staff/partners",
            Section::Tiers => "/staff/tiers",
            Section::Reviews => "/staff/reviews",
            Section::Metrics => "/staff/metrics",
            Section::People => "/staff/people",
        }
    }
}

/// The frame of one staff page; a page template holds it as `frame`.
pub struct Frame {
    pub program: String,
    pub csrf: String,
    pub user: String,
    pub role: Role,
    pub section: Section,
}

impl Frame {
    /// The frame for a page in `section`, and the cookie jar to answer with
    /// (it may carry a new CSRF token).
    pub fn new(
        state: &AppState,
        jar: CookieJar,
        signed_in: &StaffSignedIn,
        section: Section,
    ) -> (CookieJar, Frame) {
        let (jar, csrf) = csrf::token(jar, secure(state));
        let frame = Frame {
            program: state.program.name.clone(),
            csrf,
            user: signed_in.user.name.clone(),
            role: signed_in.user.role,
            section,
        };
        (jar, frame)
    }

    /// The sections this person may open, each with whether it is this
    /// page's.
    pub fn nav(&self) -> impl Iterator<Item = (Section, bool)> + '_ {
        let admin = self.role == Role::Admin;
        Section::ALL
            .into_iter()
            .filter(move |s| admin || *s != Section::People)
            .map(|s| (s, s == self.section))
    }
}
