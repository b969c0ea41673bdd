//! The account store (users, scopes, tokens, the audit log), each test run
//! against SQLite and, when `QALA_TEST_POSTGRES_URL` is set, PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use chrono::{Duration, Utc};
use qala_geodata::account::{AuditFilter, NewUser, Role, TokenSecret, User, action};
use qala_geodata::error::Error;
use qala_geodata::store::{PostgresStore, SqliteStore, Store};
use sqlx::Connection;

const POSTGRES_URL_VAR: &str = "QALA_TEST_POSTGRES_URL";

struct Backend {
    name: &'static str,
    url: String,
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    drop_database: Option<(String, String)>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.drop_database.take() else {
            return;
        };
        // Best effort, on a thread of its own: the test's runtime may be unwinding.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

async fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("qala.db").display());
    let mut all = vec![Backend {
        name: "SQLite",
        store: Arc::new(SqliteStore::open(&url).await.unwrap()),
        url,
        _dir: Some(dir),
        drop_database: None,
    }];
    match std::env::var(POSTGRES_URL_VAR) {
        Ok(admin_url) => {
            let name = format!("qala_test_{:016x}", rand::random::<u64>());
            let mut url = url::Url::parse(&admin_url).unwrap();
            url.set_path(&name);
            let url = url.to_string();
            // The store creates the database on first connect.
            let store = PostgresStore::open(&url).await.unwrap();
            all.push(Backend {
                name: "PostgreSQL",
                store: Arc::new(store),
                url,
                _dir: None,
                drop_database: Some((admin_url, name)),
            });
        }
        Err(_) => eprintln!("skipping PostgreSQL: {POSTGRES_URL_VAR} not set"),
    }
    all
}

macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $case() {
            for backend in backends().await {
                eprintln!("{} on {}", stringify!($case), backend.name);
                cases::$case(&backend).await;
            }
        }
    )*};
}

on_every_backend!(
    users_keep_their_scopes_and_emails_are_unique_in_any_case,
    a_token_acts_as_its_user_until_revoked_expired_or_disabled,
    every_privileged_write_appends_its_audit_entry,
    a_failed_write_appends_no_audit_entry,
    the_audit_log_refuses_update_and_delete,
    role_changes_keep_scopes_consistent,
    a_session_acts_until_expired_revoked_or_its_user_disabled,
);

fn new_user(email: &str, role: Role, departments: &[&str], districts: &[i64]) -> NewUser {
    NewUser::new(
        email,
        role,
        departments.iter().map(|d| (*d).to_owned()).collect(),
        districts.to_vec(),
        Some("Aigerim".to_owned()),
        true,
    )
    .unwrap()
}

async fn add(store: &dyn Store, email: &str, role: Role) -> User {
    let (departments, districts): (&[&str], &[i64]) = if role.is_scoped() {
        (&["roads"], &[3])
    } else {
        (&[], &[])
    };
    store
        .create_user(&new_user(email, role, departments, districts), None)
        .await
        .unwrap()
}

mod cases {
    use super::*;

    pub async fn users_keep_their_scopes_and_emails_are_unique_in_any_case(b: &Backend) {
        let store = b.store.as_ref();
        let staff = store
            .create_user(
                &new_user("Staff@City.kz", Role::Staff, &["roads", "parks"], &[4, 3]),
                None,
            )
            .await
            .unwrap();
        assert_eq!(staff.email, "staff@city.kz");
        assert_eq!(staff.departments, ["parks", "roads"]);
        assert_eq!(staff.districts, [3, 4]);
        assert!(!staff.disabled);
        let found = store.user_by_email("STAFF@city.KZ").await.unwrap().unwrap();
        assert_eq!(found, staff);
        assert!(
            store
                .user_by_email("nobody@city.kz")
                .await
                .unwrap()
                .is_none()
        );

        let e = store
            .create_user(&new_user("staff@CITY.kz", Role::Admin, &[], &[]), None)
            .await
            .unwrap_err();
        let Error::Invalid(v) = e else {
            panic!("{e:?}")
        };
        assert_eq!(v.code, "email_taken");
        let admin = add(store, "admin@city.kz", Role::Admin).await;
        // Case is ignored beyond ASCII too (SQLite's own lower() is ASCII-only).
        let aigul = add(store, "Äigül@city.kz", Role::Planner).await;
        assert_eq!(aigul.email, "äigül@city.kz");
        let found = store.user_by_email("ÄIGÜL@CITY.KZ").await.unwrap();
        assert_eq!(found.as_ref(), Some(&aigul));
        assert_eq!(store.users().await.unwrap(), vec![staff, admin, aigul]);
    }

    pub async fn a_token_acts_as_its_user_until_revoked_expired_or_disabled(b: &Backend) {
        let store = b.store.as_ref();
        let now = Utc::now();
        let staff = add(store, "staff@city.kz", Role::Staff).await;
        let secret = TokenSecret::generate().unwrap();
        let token = store
            .create_token(staff.id, &secret.hash(), &secret.label(), None, None)
            .await
            .unwrap();
        assert_eq!(token.user_id, staff.id);
        let actor = store
            .actor_by_token_hash(&secret.hash(), now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(actor, staff.actor());
        assert_eq!(actor.public_name.as_deref(), Some("Aigerim"));

        // Unknown token.
        let other = TokenSecret::generate().unwrap();
        assert!(
            store
                .actor_by_token_hash(&other.hash(), now)
                .await
                .unwrap()
                .is_none()
        );

        // Expiry: valid before, not at or after.
        let expires = now + Duration::days(1);
        let expiring = TokenSecret::generate().unwrap();
        store
            .create_token(
                staff.id,
                &expiring.hash(),
                &expiring.label(),
                Some(expires),
                None,
            )
            .await
            .unwrap();
        assert!(
            store
                .actor_by_token_hash(&expiring.hash(), now)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .actor_by_token_hash(&expiring.hash(), expires + Duration::seconds(1))
                .await
                .unwrap()
                .is_none()
        );

        // Revoked.
        let revoked = store.revoke_token(token.id, None).await.unwrap();
        assert!(revoked.revoked_at.is_some());
        assert!(
            store
                .actor_by_token_hash(&secret.hash(), now)
                .await
                .unwrap()
                .is_none()
        );
        // Revoking again changes nothing.
        assert_eq!(store.revoke_token(token.id, None).await.unwrap(), revoked);
        assert!(matches!(
            store.revoke_token(9999, None).await.unwrap_err(),
            Error::NotFound { .. }
        ));

        // Disabled user: every token stops; enabled again, it works again.
        store.set_disabled(staff.id, true, None).await.unwrap();
        assert!(
            store
                .actor_by_token_hash(&expiring.hash(), now)
                .await
                .unwrap()
                .is_none()
        );
        store.set_disabled(staff.id, false, None).await.unwrap();
        assert!(
            store
                .actor_by_token_hash(&expiring.hash(), now)
                .await
                .unwrap()
                .is_some()
        );

        let tokens = store.tokens(staff.id).await.unwrap();
        assert_eq!(tokens.len(), 2);
        // Stored at millisecond (SQLite) or microsecond (PostgreSQL) precision.
        let stored = tokens[1].expires_at.unwrap();
        assert!(
            (stored - expires).num_milliseconds().abs() <= 1,
            "{stored} vs {expires}"
        );
    }

    pub async fn every_privileged_write_appends_its_audit_entry(b: &Backend) {
        let store = b.store.as_ref();
        let started = Utc::now() - Duration::seconds(1);
        let admin = add(store, "admin@city.kz", Role::Admin).await;
        let staff = store
            .create_user(
                &new_user("staff@city.kz", Role::Staff, &["roads"], &[]),
                Some(admin.id),
            )
            .await
            .unwrap();
        let secret = TokenSecret::generate().unwrap();
        let token = store
            .create_token(
                staff.id,
                &secret.hash(),
                &secret.label(),
                None,
                Some(admin.id),
            )
            .await
            .unwrap();
        store.revoke_token(token.id, Some(admin.id)).await.unwrap();
        store
            .set_disabled(staff.id, true, Some(admin.id))
            .await
            .unwrap();
        store
            .set_role(staff.id, Role::Planner, Some(admin.id))
            .await
            .unwrap();

        let all = store.audit(&AuditFilter::default()).await.unwrap();
        let actions: Vec<&str> = all.iter().map(|e| e.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                action::USER_ADDED,
                action::USER_ADDED,
                action::TOKEN_ISSUED,
                action::TOKEN_REVOKED,
                action::USER_DISABLED,
                action::USER_ROLE_CHANGED,
            ]
        );
        assert_eq!(
            all[0].actor, None,
            "the first admin came from the command line"
        );
        assert!(all[1..].iter().all(|e| e.actor == Some(admin.id)));
        assert_eq!(all[2].target, format!("token:{}", token.id));
        assert_eq!(all[4].before.as_ref().unwrap()["disabled"], false);
        assert_eq!(all[4].after.as_ref().unwrap()["disabled"], true);
        assert_eq!(all[5].before.as_ref().unwrap()["role"], "staff");
        assert_eq!(all[5].after.as_ref().unwrap()["role"], "planner");
        assert!(all.iter().all(|e| e.at >= started));

        // Neither the token nor its hash is in any entry.
        let text = serde_json::to_string(&all).unwrap();
        assert!(!text.contains(secret.expose()));
        assert!(!text.contains(secret.hash().as_str()));

        // Filters and paging.
        let by_action = store
            .audit(&AuditFilter {
                action: Some(action::USER_ADDED.to_owned()),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(by_action.len(), 2);
        let by_actor = store
            .audit(&AuditFilter {
                actor: Some(admin.id),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(by_actor.len(), 5);
        let page = store
            .audit(&AuditFilter {
                after_id: Some(all[1].id),
                limit: 2,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(page, all[2..4]);
        let future = store
            .audit(&AuditFilter {
                since: Some(Utc::now() + Duration::hours(1)),
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert!(future.is_empty());
    }

    pub async fn a_failed_write_appends_no_audit_entry(b: &Backend) {
        let store = b.store.as_ref();
        let staff = add(store, "staff@city.kz", Role::Staff).await;
        assert!(
            store
                .create_user(&new_user("STAFF@city.kz", Role::Admin, &[], &[]), None)
                .await
                .is_err()
        );
        // A duplicate hash breaks the unique index after the user was checked.
        let secret = TokenSecret::generate().unwrap();
        store
            .create_token(staff.id, &secret.hash(), "abcd", None, None)
            .await
            .unwrap();
        assert!(
            store
                .create_token(staff.id, &secret.hash(), "abcd", None, None)
                .await
                .is_err()
        );
        assert!(
            store
                .create_token(9999, &secret.hash(), "abcd", None, None)
                .await
                .is_err()
        );
        let resident = add(store, "r@city.kz", Role::Resident).await;
        let e = store
            .set_role(resident.id, Role::Moderator, None)
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::Invalid(ref v) if v.code == "scope_required"),
            "{e:?}"
        );
        let actions: Vec<String> = store
            .audit(&AuditFilter::default())
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(actions, ["user.added", "token.issued", "user.added"]);
        assert_eq!(store.tokens(staff.id).await.unwrap().len(), 1);
    }

    pub async fn the_audit_log_refuses_update_and_delete(b: &Backend) {
        let store = b.store.as_ref();
        add(store, "admin@city.kz", Role::Admin).await;
        let statements = [
            "UPDATE audit_log SET action = 'forged'",
            "DELETE FROM audit_log",
        ];
        if b.url.starts_with("sqlite:") {
            let mut conn = sqlx::SqliteConnection::connect(&b.url).await.unwrap();
            for sql in statements {
                let e = sqlx::query(sql).execute(&mut conn).await.unwrap_err();
                assert!(e.to_string().contains("append-only"), "{sql}: {e}");
            }
        } else {
            let mut conn = sqlx::PgConnection::connect(&b.url).await.unwrap();
            for sql in statements.into_iter().chain(["TRUNCATE audit_log"]) {
                let e = sqlx::query(sql).execute(&mut conn).await.unwrap_err();
                assert!(e.to_string().contains("append-only"), "{sql}: {e}");
            }
        }
        let entries = store.audit(&AuditFilter::default()).await.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].action, action::USER_ADDED);
    }

    pub async fn role_changes_keep_scopes_consistent(b: &Backend) {
        let store = b.store.as_ref();
        let staff = add(store, "staff@city.kz", Role::Staff).await;
        let moderator = store
            .set_role(staff.id, Role::Moderator, None)
            .await
            .unwrap();
        assert_eq!(moderator.departments, ["roads"]);
        let admin = store.set_role(staff.id, Role::Admin, None).await.unwrap();
        assert!(admin.departments.is_empty() && admin.districts.is_empty());
        assert!(matches!(
            store.set_role(9999, Role::Admin, None).await.unwrap_err(),
            Error::NotFound { .. }
        ));
    }

    pub async fn a_session_acts_until_expired_revoked_or_its_user_disabled(b: &Backend) {
        let store = b.store.as_ref();
        let now = Utc::now();
        let staff = add(store, "staff@city.kz", Role::Staff).await;
        let (none, _) = store
            .login_candidate("STAFF@city.kz")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(none.id, staff.id);
        store
            .set_password(
                staff.id,
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
                None,
            )
            .await
            .unwrap();
        let (_, hash) = store
            .login_candidate("staff@city.kz")
            .await
            .unwrap()
            .unwrap();
        assert!(hash.unwrap().starts_with("$argon2id$"));
        assert!(
            store
                .login_candidate("nobody@city.kz")
                .await
                .unwrap()
                .is_none()
        );

        let session = TokenSecret::generate().unwrap();
        let csrf = TokenSecret::generate().unwrap();
        let expires = now + Duration::hours(1);
        store
            .create_session(staff.id, &session.hash(), &csrf.hash(), expires)
            .await
            .unwrap();
        let live = store
            .actor_by_session(&session.hash(), now)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(live.actor, staff.actor());
        assert_eq!(live.csrf_hash, csrf.hash());
        assert!(
            store
                .actor_by_session(&session.hash(), expires)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .actor_by_session(&csrf.hash(), now)
                .await
                .unwrap()
                .is_none()
        );

        assert!(store.revoke_session(&session.hash()).await.unwrap());
        assert!(!store.revoke_session(&session.hash()).await.unwrap());
        assert!(
            store
                .actor_by_session(&session.hash(), now)
                .await
                .unwrap()
                .is_none()
        );

        let other = TokenSecret::generate().unwrap();
        store
            .create_session(staff.id, &other.hash(), &csrf.hash(), expires)
            .await
            .unwrap();
        assert_eq!(store.revoke_sessions_of(staff.id).await.unwrap(), 1);
        assert!(
            store
                .actor_by_session(&other.hash(), now)
                .await
                .unwrap()
                .is_none()
        );

        let actions: Vec<String> = store
            .audit(&AuditFilter::default())
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert_eq!(
            actions,
            [
                action::USER_ADDED,
                action::USER_PASSWORD_SET,
                action::SESSION_LOGIN,
                action::SESSION_LOGOUT,
                action::SESSION_LOGIN,
            ]
        );
    }
}
