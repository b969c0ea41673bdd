//! Who acts: roles and the scoped actor a request runs as.
//!
//! Staff and moderators work within their departments and/or districts;
//! planners read everything and edit reference layers; admins may do
//! anything. Anonymous callers are residents without an account.
//!
//! Submodules: `user` (validated new users and stored users), `token` (API
//! tokens: generation, hashing, constant-time checks), `audit` (entries of the
//! append-only audit log).

use serde::Serialize;

use crate::error::ValidationError;

mod audit;
mod token;
mod user;

pub use audit::{AuditEntry, AuditFilter, NewAuditEntry, action};
pub use token::{ApiToken, TOKEN_PREFIX, TokenHash, TokenSecret};
pub use user::{NewUser, User};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A resident with an account (reports, follows).
    Resident,
    /// Hides and redacts within their scope.
    Moderator,
    /// Works issues (status, notes, re-routing) within their scope.
    Staff,
    /// Reads everything, edits reference layers.
    Planner,
    /// Everything, including users and the audit log.
    Admin,
    /// A machine client (e.g. the city GIS) acting through a token.
    Integration,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Self::Resident,
        Self::Moderator,
        Self::Staff,
        Self::Planner,
        Self::Admin,
        Self::Integration,
    ];

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Resident => "resident",
            Self::Moderator => "moderator",
            Self::Staff => "staff",
            Self::Planner => "planner",
            Self::Admin => "admin",
            Self::Integration => "integration",
        }
    }

    /// Parses the API spelling.
    ///
    /// ```
    /// use qala_geodata::account::Role;
    /// assert_eq!(Role::parse("staff").unwrap(), Role::Staff);
    /// assert_eq!(Role::parse("root").unwrap_err().code, "invalid_role");
    /// ```
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL.into_iter().find(|r| r.as_str() == s).ok_or_else(|| {
            ValidationError::new(
                "invalid_role",
                "role",
                format!(
                    "unknown role \"{s}\"; one of resident, moderator, staff, planner, admin, integration"
                ),
            )
        })
    }

    /// Whether this role is limited to its departments and districts.
    pub fn is_scoped(self) -> bool {
        matches!(self, Self::Staff | Self::Moderator)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A signed-in user as a request sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// The user's id.
    pub user_id: i64,
    /// Their role.
    pub role: Role,
    /// Department codes they work for (scoped roles).
    pub departments: Vec<String>,
    /// District feature ids they work in (scoped roles).
    pub districts: Vec<i64>,
    /// The name shown on their public actions, only if they opted in.
    pub public_name: Option<String>,
}

impl Actor {
    /// Whether this actor may act on an issue assigned to `department` in
    /// `district`: unscoped roles always; scoped roles when the issue's
    /// department or district is one of theirs.
    pub fn covers(&self, department: Option<&str>, district: Option<i64>) -> bool {
        if !self.role.is_scoped() {
            return true;
        }
        department.is_some_and(|d| self.departments.iter().any(|own| own == d))
            || district.is_some_and(|d| self.districts.contains(&d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, departments: &[&str], districts: &[i64]) -> Actor {
        Actor {
            user_id: 1,
            role,
            departments: departments.iter().map(|d| (*d).to_owned()).collect(),
            districts: districts.to_vec(),
            public_name: None,
        }
    }

    #[test]
    fn every_role_parses_back_from_its_spelling() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
    }

    #[test]
    fn scoped_roles_cover_only_their_departments_and_districts() {
        let roads = actor(Role::Staff, &["roads"], &[]);
        assert!(roads.covers(Some("roads"), Some(9)));
        assert!(!roads.covers(Some("parks"), Some(9)));
        assert!(!roads.covers(None, None));
        let medeu = actor(Role::Moderator, &[], &[3]);
        assert!(medeu.covers(Some("parks"), Some(3)));
        assert!(!medeu.covers(Some("parks"), Some(4)));
        assert!(actor(Role::Admin, &[], &[]).covers(None, None));
        assert!(actor(Role::Planner, &[], &[]).covers(Some("x"), None));
    }
}
