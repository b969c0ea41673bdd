//! `qala user …`: accounts and API tokens from the command line. Whoever can
//! run this has the database itself, so these writes are recorded in the
//! audit log with no actor.

use anyhow::{Context, bail};
use chrono::{Duration, Utc};
use clap::Subcommand;
use qala_geodata::Store;
use qala_geodata::account::{NewUser, Role, TokenSecret};
use qala_geodata::issue::format_time;

/// Longest token lifetime `--expires-days` accepts (ten years).
const MAX_EXPIRES_DAYS: i64 = 3650;

/// The `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user.
    Add {
        /// Their email (unique, compared case-insensitively).
        email: String,
        /// resident, moderator, staff, planner, admin or integration.
        #[arg(long)]
        role: String,
        /// A department a staff member or moderator works for (repeatable).
        #[arg(long = "department")]
        departments: Vec<String>,
        /// A district (feature id) a staff member or moderator works in (repeatable).
        #[arg(long = "district")]
        districts: Vec<i64>,
        /// Display name.
        #[arg(long)]
        name: Option<String>,
        /// Show the display name on the user's public actions.
        #[arg(long, requires = "name")]
        show_name: bool,
    },
    /// List users and their tokens (never the tokens themselves).
    List,
    /// Disable a user: their tokens stop working at once.
    Disable {
        /// The user's email.
        email: String,
    },
    /// Set a user's web login password, read from standard input (one
    /// line; 12 to 1024 characters). Never pass it as an argument: argv is
    /// visible to other users of the machine.
    Password {
        /// The user's email.
        email: String,
    },
    /// Issue an API token; it is printed once, on standard output.
    Token {
        /// The user's email.
        email: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_days: Option<i64>,
    },
    /// Revoke a token by its id (from `qala user list`).
    Revoke {
        /// The token's id.
        token_id: i64,
    },
}

/// Runs one `user` subcommand.
pub async fn run(store: &dyn Store, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            email,
            role,
            departments,
            districts,
            name,
            show_name,
        } => {
            let user = NewUser::new(
                &email,
                Role::parse(&role)?,
                departments,
                districts,
                name,
                show_name,
            )?;
            let user = store.create_user(&user, None).await?;
            eprintln!("added user {} <{}> as {}", user.id, user.email, user.role);
        }
        UserCommand::List => {
            println!("id\temail\trole\tscopes\tdisabled\ttokens");
            for user in store.users().await? {
                let scopes: Vec<String> = user
                    .departments
                    .iter()
                    .cloned()
                    .chain(user.districts.iter().map(|d| format!("district {d}")))
                    .collect();
                let now = Utc::now();
                let tokens: Vec<String> = store
                    .tokens(user.id)
                    .await?
                    .iter()
                    .map(|t| {
                        let state = if t.revoked_at.is_some() {
                            "revoked".to_owned()
                        } else if t.expires_at.is_some_and(|e| e <= now) {
                            "expired".to_owned()
                        } else if let Some(e) = t.expires_at {
                            format!("until {}", format_time(e))
                        } else {
                            "active".to_owned()
                        };
                        format!("#{} …{} {state}", t.id, t.label)
                    })
                    .collect();
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    user.id,
                    user.email,
                    user.role,
                    scopes.join(","),
                    user.disabled,
                    tokens.join(", ")
                );
            }
        }
        UserCommand::Password { email } => {
            let user = find(store, &email).await?;
            let password = read_password()?;
            let phc = crate::password::hash(password).await?;
            store.set_password(user.id, &phc, None).await?;
            eprintln!("set the password of user {} <{}>", user.id, user.email);
        }
        UserCommand::Disable { email } => {
            let user = find(store, &email).await?;
            store.set_disabled(user.id, true, None).await?;
            eprintln!(
                "disabled user {} <{}>; their tokens and sessions no longer work",
                user.id, user.email
            );
        }
        UserCommand::Token {
            email,
            expires_days,
        } => {
            let user = find(store, &email).await?;
            if user.disabled {
                bail!("user {} is disabled", user.email);
            }
            let expires_at = match expires_days {
                None => None,
                Some(days) if (1..=MAX_EXPIRES_DAYS).contains(&days) => {
                    Some(Utc::now() + Duration::days(days))
                }
                Some(days) => {
                    bail!("--expires-days must be between 1 and {MAX_EXPIRES_DAYS}, not {days}")
                }
            };
            let secret = TokenSecret::generate().context("reading the OS random source")?;
            let token = store
                .create_token(user.id, &secret.hash(), &secret.label(), expires_at, None)
                .await?;
            // The only time the token is shown; only its hash is stored.
            println!("{}", secret.expose());
            let until = token.expires_at.map_or_else(
                || "never expires".to_owned(),
                |e| format!("expires {}", format_time(e)),
            );
            eprintln!(
                "token {} for {} ({until}); shown once, store it now",
                token.id, user.email
            );
        }
        UserCommand::Revoke { token_id } => {
            let token = store.revoke_token(token_id, None).await?;
            eprintln!("revoked token {} (…{})", token.id, token.label);
        }
    }
    Ok(())
}

/// The password on standard input: its first line, without the line end.
fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    crate::password::check_length(password)?;
    Ok(password.to_owned())
}

async fn find(store: &dyn Store, email: &str) -> anyhow::Result<qala_geodata::account::User> {
    store
        .user_by_email(email)
        .await?
        .with_context(|| format!("no user with email {email}"))
}
