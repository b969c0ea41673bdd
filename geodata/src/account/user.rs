//! Users: a validated new user ([`NewUser`]) and a stored one ([`User`]).

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Actor, Role};
use crate::error::ValidationError;

/// Longest email address (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;
/// Longest display name, in characters.
const MAX_NAME: usize = 100;
/// Longest department code.
const MAX_DEPARTMENT: usize = 64;

/// A user to add, checked rule by rule: a plausible email (stored lower-cased,
/// so uniqueness ignores case), scopes only for scoped roles and at least one
/// for them, a shown name only if there is a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    email: String,
    role: Role,
    departments: Vec<String>,
    districts: Vec<i64>,
    display_name: Option<String>,
    show_name: bool,
}

impl NewUser {
    /// Validates a new user.
    ///
    /// ```
    /// use qala_geodata::account::{NewUser, Role};
    /// let u = NewUser::new(" Aigerim@City.KZ ", Role::Staff, vec!["roads".into()], vec![], None, false).unwrap();
    /// assert_eq!(u.email(), "aigerim@city.kz");
    /// let e = NewUser::new("x@y.kz", Role::Staff, vec![], vec![], None, false).unwrap_err();
    /// assert_eq!(e.code, "scope_required");
    /// ```
    pub fn new(
        email: &str,
        role: Role,
        departments: Vec<String>,
        districts: Vec<i64>,
        display_name: Option<String>,
        show_name: bool,
    ) -> Result<Self, ValidationError> {
        let email = normalise_email(email)?;
        let mut departments: Vec<String> =
            departments.iter().map(|d| d.trim().to_owned()).collect();
        for department in &departments {
            check_department(department)?;
        }
        departments.sort();
        departments.dedup();
        let mut districts = districts;
        if let Some(bad) = districts.iter().find(|d| **d <= 0) {
            return Err(ValidationError::new(
                "invalid_scope",
                "district",
                format!("district must be a positive feature id, not {bad}"),
            ));
        }
        districts.sort_unstable();
        districts.dedup();
        let scoped = !departments.is_empty() || !districts.is_empty();
        if role.is_scoped() && !scoped {
            return Err(ValidationError::new(
                "scope_required",
                "department",
                format!("a {role} works within departments or districts: give at least one"),
            ));
        }
        if !role.is_scoped() && scoped {
            return Err(ValidationError::new(
                "invalid_scope",
                "department",
                format!("a {role} is not limited to departments or districts: give none"),
            ));
        }
        let display_name = display_name
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        if let Some(name) = &display_name
            && (name.chars().count() > MAX_NAME || name.chars().any(char::is_control))
        {
            return Err(ValidationError::new(
                "invalid_name",
                "name",
                format!("a display name is 1 to {MAX_NAME} printable characters"),
            ));
        }
        if show_name && display_name.is_none() {
            return Err(ValidationError::new(
                "invalid_name",
                "show_name",
                "show_name needs a display name to show",
            ));
        }
        Ok(Self {
            email,
            role,
            departments,
            districts,
            display_name,
            show_name,
        })
    }

    /// The email, lower-cased.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Department codes (sorted, unique).
    pub fn departments(&self) -> &[String] {
        &self.departments
    }

    /// District feature ids (sorted, unique).
    pub fn districts(&self) -> &[i64] {
        &self.districts
    }

    /// The display name, if any.
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    /// Whether the display name may appear on public actions.
    pub fn show_name(&self) -> bool {
        self.show_name
    }
}

/// Trims and lower-cases an email and checks its shape: one `@`, something on
/// both sides, a dot in the domain, no spaces or control characters.
pub(crate) fn normalise_email(raw: &str) -> Result<String, ValidationError> {
    let email = raw.trim().to_lowercase();
    let bad = || {
        ValidationError::new(
            "invalid_email",
            "email",
            format!("\"{}\" is not an email address", raw.trim()),
        )
    };
    if email.len() > MAX_EMAIL || email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(bad());
    };
    if local.is_empty()
        || domain.contains('@')
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
    {
        return Err(bad());
    }
    Ok(email)
}

fn check_department(department: &str) -> Result<(), ValidationError> {
    let ok = !department.is_empty()
        && department.len() <= MAX_DEPARTMENT
        && department
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ValidationError::new(
            "invalid_scope",
            "department",
            format!(
                "department \"{department}\" must be a code of 1 to {MAX_DEPARTMENT} lower-case letters, digits, '_' or '-'"
            ),
        ))
    }
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    /// The id.
    pub id: i64,
    /// The email, lower-cased. Private: only admins see it.
    pub email: String,
    /// The role.
    pub role: Role,
    /// Department codes (scoped roles).
    pub departments: Vec<String>,
    /// District feature ids (scoped roles).
    pub districts: Vec<i64>,
    /// The display name, if any.
    pub display_name: Option<String>,
    /// Whether the display name may appear on public actions.
    pub show_name: bool,
    /// A disabled user's tokens no longer work.
    pub disabled: bool,
    /// When the user was added.
    pub created_at: DateTime<Utc>,
}

impl User {
    /// The actor this user's requests run as.
    pub fn actor(&self) -> Actor {
        Actor {
            user_id: self.id,
            role: self.role,
            departments: self.departments.clone(),
            districts: self.districts.clone(),
            public_name: self.display_name.clone().filter(|_| self.show_name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(email: &str, role: Role, departments: &[&str], districts: &[i64]) -> NewUser {
        NewUser::new(
            email,
            role,
            departments.iter().map(|d| (*d).to_owned()).collect(),
            districts.to_vec(),
            None,
            false,
        )
        .unwrap()
    }

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        assert_eq!(new(" A@B.kz", Role::Admin, &[], &[]).email(), "a@b.kz");
        for bad in [
            "", "a", "@b.kz", "a@", "a@b", "a b@c.kz", "a@@b.kz", "a@b.kz.",
        ] {
            let e = NewUser::new(bad, Role::Admin, vec![], vec![], None, false).unwrap_err();
            assert_eq!(e.code, "invalid_email", "{bad}");
        }
    }

    #[test]
    fn scopes_belong_to_scoped_roles_only() {
        let staff = new("s@c.kz", Role::Staff, &["roads", "roads"], &[3, 3]);
        assert_eq!(staff.departments(), ["roads"]);
        assert_eq!(staff.districts(), [3]);
        let e = NewUser::new(
            "p@c.kz",
            Role::Planner,
            vec!["roads".into()],
            vec![],
            None,
            false,
        )
        .unwrap_err();
        assert_eq!(e.code, "invalid_scope");
        let e = NewUser::new("m@c.kz", Role::Moderator, vec![], vec![0], None, false).unwrap_err();
        assert_eq!(e.code, "invalid_scope");
        let e = NewUser::new(
            "m@c.kz",
            Role::Staff,
            vec!["Roads!".into()],
            vec![],
            None,
            false,
        )
        .unwrap_err();
        assert_eq!(e.code, "invalid_scope");
    }

    #[test]
    fn a_name_is_shown_only_when_there_is_one_and_the_user_opted_in() {
        let e = NewUser::new("a@c.kz", Role::Admin, vec![], vec![], None, true).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("show_name"));
        let user = User {
            id: 1,
            email: "a@c.kz".into(),
            role: Role::Admin,
            departments: vec![],
            districts: vec![],
            display_name: Some("Aigerim".into()),
            show_name: false,
            disabled: false,
            created_at: Utc::now(),
        };
        assert_eq!(user.actor().public_name, None);
        let shown = User {
            show_name: true,
            ..user
        };
        assert_eq!(shown.actor().public_name.as_deref(), Some("Aigerim"));
    }
}
