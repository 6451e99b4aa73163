//! The command line: `serve`, `project create|show|set`, `token issue|list|revoke|rotate-secret`,
//! `user invite|list` (SPEC §6, §8). Every change they make is in the audit log as actor `cli`.
//!
//! `main` parses [`Cli`] and calls [`run`]; everything else is here and in [`crate::server`].
//! Machine-readable output (the project JSON, the token) goes to stdout; logs go to stderr.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::auth::{Role, TokenSigner, new_project, random_hex};
use crate::http::cors::normalize_origin;
use crate::media::MediaLocation;
use crate::server::Config;
use crate::state::{DEFAULT_RETENTION_DAYS, Settings};
use crate::store::people::Actor;
use crate::store::{self, Project, ProjectSettings};

/// The default database: a SQLite file in the working directory (created if missing).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://offers.db";

/// Offers: marketing offers in web chats — the HTTP API server and its admin commands.
#[derive(Debug, Parser)]
#[command(name = "offers-api", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API, the widget bundle, the Studio and the demo page.
    Serve(ServeArgs),
    /// Manage projects.
    Project {
        #[command(subcommand)]
        command: ProjectCommand,
    },
    /// Manage bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage the people of a project.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

/// `user` subcommands.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Invite someone; prints {"email","role","inviteUrl","expiresAt"}. The first `owner`
    /// invited to a project without an account owner becomes it.
    Invite {
        /// The project id.
        #[arg(long)]
        project: i64,
        /// Their e-mail address.
        #[arg(long)]
        email: String,
        /// owner, editor, viewer or a custom role of the project.
        #[arg(long)]
        role: String,
        /// Their name (they may change it when accepting).
        #[arg(long)]
        name: Option<String>,
        /// The absolute URL the Studio is reached at (the link is `<URL>/studio/#invite=…`).
        #[arg(long, env = "OFFERS_PUBLIC_URL", default_value = "http://127.0.0.1:8080",
              value_parser = parse_public_url)]
        public_url: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Print the project's people as one JSON array.
    List {
        /// The project id.
        #[arg(long)]
        project: i64,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// The database to use (every command).
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `postgres://…` / `postgresql://…` for PostgreSQL; `sqlite://FILE` or a file path for SQLite.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

/// `serve` options.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port; the chosen one is printed).
    #[arg(long, env = "OFFERS_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: String,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The widget bundle directory, served at /widget/.
    #[arg(long, env = "OFFERS_WIDGET_DIR", default_value = "dist/widget")]
    pub widget_dir: PathBuf,
    /// The Studio directory (Trunk output), served at /studio/.
    #[arg(long, env = "OFFERS_STUDIO_DIR", default_value = "dist/studio")]
    pub studio_dir: PathBuf,
    /// Requests allowed per minute (0: no limit): partner API calls per project, and widget
    /// calls (feed, stream connects, event batches) per client IP and project. The default is
    /// far above one chat user's rate (a feed and a stream per entry, an event batch every few
    /// seconds) and leaves room for many users behind one address.
    #[arg(long, env = "OFFERS_RATE_LIMIT", default_value_t = 1200)]
    pub rate_limit: u32,
    /// Overrides --rate-limit for the widget endpoints (per client IP and project per minute).
    #[arg(long, env = "OFFERS_WIDGET_RATE_LIMIT")]
    pub widget_rate_limit: Option<u32>,
    /// Behind one reverse proxy: take the client IP from the last X-Forwarded-For entry.
    #[arg(long, env = "OFFERS_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// Delete widget events, and offers that ended, after this many days.
    #[arg(long, env = "OFFERS_RETENTION_DAYS", default_value_t = DEFAULT_RETENTION_DAYS,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub retention_days: u32,
    /// Seconds between retention purges (the first runs 30 s after start).
    #[arg(long, env = "OFFERS_RETENTION_INTERVAL", default_value_t = 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub retention_interval: u64,
    /// The absolute URL this API is reached at (e.g. `https://offers.example`): uploaded images'
    /// URLs start with it. Default: http://<the upload request's Host header>.
    #[arg(long, env = "OFFERS_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
    /// The directory of uploaded images (created if missing). Default: `offers-media` next
    /// to the SQLite file (with PostgreSQL: in the working directory).
    #[arg(long, env = "OFFERS_MEDIA_DIR")]
    pub media_dir: Option<PathBuf>,
    /// Store uploaded images in an S3-compatible bucket instead of --media-dir:
    /// s3://bucket[/prefix], configured from the AWS_* environment variables (AWS_REGION,
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL for another provider,
    /// AWS_ALLOW_HTTP=true for a plain-http endpoint).
    #[arg(long, env = "OFFERS_MEDIA_STORE", value_parser = parse_media_store)]
    pub media_store: Option<String>,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
}

/// `serve` options of webhook deliveries.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Accept plain http:// webhook URLs for any host, and hosts in private networks
    /// (without it: https, or http only for loopback hosts; no IP literal of a private
    /// network, and a host name's private addresses are not connected to).
    #[arg(long, env = "OFFERS_ALLOW_INSECURE_WEBHOOKS")]
    pub allow_insecure_webhooks: bool,
    /// The wait (ms) after a first failed delivery; doubled after each further failure.
    #[arg(long, env = "OFFERS_WEBHOOK_RETRY_BASE_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub webhook_retry_base_ms: u64,
}

impl WebhookArgs {
    /// The settings of these arguments.
    pub fn settings(&self) -> crate::webhooks::WebhookSettings {
        crate::webhooks::WebhookSettings {
            allow_insecure: self.allow_insecure_webhooks,
            retry_base: Duration::from_millis(self.webhook_retry_base_ms),
        }
    }
}

/// `--public-url`: an absolute http(s) URL without query or fragment; a trailing `/` dropped.
pub fn parse_public_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/');
    offers_core::HttpUrl::parse(url).map_err(|reason| format!("`{raw}` {reason}"))?;
    if url.contains(['?', '#']) {
        return Err(format!("`{raw}` must not have a query or a fragment"));
    }
    Ok(url.to_owned())
}

/// `--media-store`: `s3://bucket[/prefix]`.
pub fn parse_media_store(raw: &str) -> Result<String, String> {
    crate::media::parse_s3_url(raw).map_err(|reason| format!("`{raw}`: {reason}"))?;
    Ok(raw.trim().to_owned())
}

/// `project` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project; prints {"id","name","apiKey","publicKey","identitySecret",
    /// "requireUserSignature","allowedOrigins","token"} (token: an owner token).
    Create {
        /// The project's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Print a project as JSON, with its identity secret and widget settings.
    Show {
        /// The project id.
        #[arg(long)]
        project: i64,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Change a project's widget settings; prints the project as `show` does.
    Set {
        /// The project id.
        #[arg(long)]
        project: i64,
        /// true: a user id counts only with a valid `sig` (HMAC-SHA256 under the identity secret).
        #[arg(long, action = clap::ArgAction::Set)]
        require_user_signature: Option<bool>,
        /// An origin (`https://host[:port]`) allowed to call the widget endpoints; repeat for
        /// several. Replaces the list; `--allowed-origin ''` clears it (any origin).
        #[arg(long = "allowed-origin", num_args = 1)]
        allowed_origins: Option<Vec<String>>,
        #[command(flatten)]
        campaign: CampaignArgs,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// `project set`'s caps on pop-ups across offers (per user; 0 clears one) and attribution
/// window (SPEC §9).
#[derive(Debug, Clone, Default, Args)]
pub struct CampaignArgs {
    /// At most N pop-ups per session (0: no cap).
    #[arg(long)]
    pub cap_session: Option<u32>,
    /// At most N pop-ups per local day (0: no cap).
    #[arg(long)]
    pub cap_day: Option<u32>,
    /// At most N pop-ups per rolling 7 days (0: no cap).
    #[arg(long)]
    pub cap_week: Option<u32>,
    /// At least N milliseconds between two pop-ups (0: none).
    #[arg(long)]
    pub min_gap_ms: Option<u64>,
    /// Conversions go to the user's last click at most N hours before (1–720; default 24).
    #[arg(long)]
    pub attribution_window_hours: Option<u32>,
}

impl CampaignArgs {
    /// The caps given, if any.
    fn caps(&self) -> Option<offers_core::api::Caps> {
        let caps = offers_core::api::Caps {
            per_session: self.cap_session,
            per_day: self.cap_day,
            per_week: self.cap_week,
            min_gap_ms: self.min_gap_ms,
        };
        (!caps.is_empty()).then_some(caps)
    }
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a bearer token for a project; prints it on one line. With `--name` it is a named
    /// token (listed, revocable, optionally expiring, any role of the project).
    Issue {
        /// The project id.
        #[arg(long)]
        project: i64,
        /// viewer (read), editor (read, update) or owner (everything); with --name also a
        /// custom role of the project.
        #[arg(long)]
        role: String,
        /// The token's name (1–40 of a-z, 0-9, `_`, `-`), unique in the project.
        #[arg(long)]
        name: Option<String>,
        /// With --name: the token stops working after this long (`30d`, `12h`, `90m`, `60s`).
        #[arg(long, value_parser = parse_duration, requires = "name")]
        expires_in: Option<chrono::Duration>,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Print the project's named tokens as one JSON array (never their secrets).
    List {
        /// The project id.
        #[arg(long)]
        project: i64,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Revoke a named token (every replica refuses it from its next call); prints it.
    Revoke {
        /// The project id.
        #[arg(long)]
        project: i64,
        /// The token's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Give the project a new token secret; tokens signed with the old one keep working for
    /// `--old-valid-for` (`24h`, `0s` to end them now). Prints {"projectId","oldValidUntil"}.
    RotateSecret {
        /// The project id.
        #[arg(long)]
        project: i64,
        /// How long the old secret keeps verifying.
        #[arg(long, value_parser = parse_duration)]
        old_valid_for: chrono::Duration,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// A duration as `30d`, `12h`, `90m` or `60s` (a whole number and one unit).
pub fn parse_duration(raw: &str) -> Result<chrono::Duration, String> {
    let raw = raw.trim();
    let reason = || format!("`{raw}`: expected a whole number and a unit: 30d, 12h, 90m or 60s");
    if !raw.is_ascii() {
        return Err(reason());
    }
    let split = raw.len().checked_sub(1).ok_or_else(reason)?;
    let (digits, unit) = raw.split_at(split);
    let n: i64 = digits
        .parse()
        .ok()
        .filter(|n| (0..=36_500).contains(n))
        .ok_or_else(reason)?;
    match unit {
        "d" => Ok(chrono::Duration::days(n)),
        "h" => Ok(chrono::Duration::hours(n)),
        "m" => Ok(chrono::Duration::minutes(n)),
        "s" => Ok(chrono::Duration::seconds(n)),
        _ => Err(reason()),
    }
}

/// What `token rotate-secret` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotatedSecret {
    pub project_id: i64,
    /// Tokens signed with the old secret verify until then.
    #[serde(serialize_with = "rfc3339")]
    pub old_valid_until: chrono::DateTime<Utc>,
}

fn rfc3339<S: serde::Serializer>(t: &chrono::DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&offers_core::format_timestamp(t))
}

/// What `project show` and `project set` print (and `project create`, plus a token).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProjectInfo {
    pub id: i64,
    pub name: String,
    pub api_key: String,
    pub public_key: String,
    /// The HMAC key of user signatures: for the host's back end only, never for a browser.
    pub identity_secret: String,
    pub require_user_signature: bool,
    pub allowed_origins: Vec<String>,
    /// Caps on pop-ups across offers (`{}`: none).
    pub caps: offers_core::api::Caps,
    pub attribution_window_hours: u32,
}

impl From<Project> for ProjectInfo {
    fn from(p: Project) -> Self {
        Self {
            id: p.id,
            name: p.name,
            api_key: p.api_key,
            public_key: p.public_key,
            identity_secret: p.identity_secret,
            require_user_signature: p.require_user_signature,
            allowed_origins: p.allowed_origins,
            caps: p.caps,
            attribution_window_hours: p.attribution_window_hours,
        }
    }
}

/// What `project create` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedProject {
    #[serde(flatten)]
    pub project: ProjectInfo,
    pub token: String,
}

/// A command's failure, printed to stderr by `main`.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => Ok(crate::server::serve(args.config()).await?),
        Command::Project {
            command: ProjectCommand::Create { name, database },
        } => {
            let created = create_project(&database.database_url, &name).await?;
            print_line(&serde_json::to_string(&created)?)
        }
        Command::Project {
            command: ProjectCommand::Show { project, database },
        } => {
            let shown = show_project(&database.database_url, project).await?;
            print_line(&serde_json::to_string(&shown)?)
        }
        Command::Project {
            command:
                ProjectCommand::Set {
                    project,
                    require_user_signature,
                    allowed_origins,
                    campaign,
                    database,
                },
        } => {
            let settings = project_settings(require_user_signature, allowed_origins, &campaign)?;
            let changed = set_project(&database.database_url, project, &settings).await?;
            print_line(&serde_json::to_string(&changed)?)
        }
        Command::Token {
            command:
                TokenCommand::Issue {
                    project,
                    role,
                    name,
                    expires_in,
                    database,
                },
        } => {
            let token = match name {
                None => issue_token(&database.database_url, project, role.parse()?).await?,
                Some(name) => {
                    issue_named_token(&database.database_url, project, &name, &role, expires_in)
                        .await?
                }
            };
            print_line(&token)
        }
        Command::Token {
            command: TokenCommand::List { project, database },
        } => {
            let store = store::connect(&database.database_url).await?;
            let project = find_project(store.as_ref(), project).await?;
            let tokens: Vec<offers_core::api::TokenInfo> = store
                .list_tokens(project.id)
                .await?
                .into_iter()
                .map(crate::http::people::token_info)
                .collect();
            print_line(&serde_json::to_string(&tokens)?)
        }
        Command::Token {
            command:
                TokenCommand::Revoke {
                    project,
                    name,
                    database,
                },
        } => {
            let store = store::connect(&database.database_url).await?;
            let project = find_project(store.as_ref(), project).await?;
            let row = store
                .revoke_token(&Actor::Cli, project.id, &name, Utc::now())
                .await?
                .ok_or_else(|| format!("no token named `{name}` in project {}", project.id))?;
            print_line(&serde_json::to_string(&crate::http::people::token_info(
                row,
            ))?)
        }
        Command::Token {
            command:
                TokenCommand::RotateSecret {
                    project,
                    old_valid_for,
                    database,
                },
        } => {
            let store = store::connect(&database.database_url).await?;
            let now = Utc::now();
            let until = store::from_millis(store::millis(now + old_valid_for))?;
            store
                .rotate_token_secret(&Actor::Cli, project, &random_hex(32), until, now)
                .await?
                .ok_or_else(|| format!("no project with id {project}"))?;
            let rotated = RotatedSecret {
                project_id: project,
                old_valid_until: until,
            };
            print_line(&serde_json::to_string(&rotated)?)
        }
        Command::User {
            command:
                UserCommand::Invite {
                    project,
                    email,
                    role,
                    name,
                    public_url,
                    database,
                },
        } => {
            let store = store::connect(&database.database_url).await?;
            let project = find_project(store.as_ref(), project).await?;
            let body = offers_core::api::InvitationRequest { email, role, name };
            let created = crate::http::people::invite(
                store.as_ref(),
                &Actor::Cli,
                project.id,
                &body,
                &public_url,
            )
            .await
            .map_err(api_error_text)?;
            print_line(&serde_json::to_string(&created)?)
        }
        Command::User {
            command: UserCommand::List { project, database },
        } => {
            let store = store::connect(&database.database_url).await?;
            let project = find_project(store.as_ref(), project).await?;
            let people = store.list_people(project.id).await?;
            print_line(&serde_json::to_string(&people)?)
        }
    }
}

/// A refused input's text for the terminal (the field and its reason).
fn api_error_text(e: crate::error::ApiError) -> CliError {
    match e {
        crate::error::ApiError::Validation(fields) => fields
            .iter()
            .map(|(f, r)| format!("--{f}: {r}"))
            .collect::<Vec<_>>()
            .join("; ")
            .into(),
        other => other.to_string().into(),
    }
}

async fn find_project(store: &dyn store::Store, id: i64) -> Result<Project, CliError> {
    Ok(store
        .project_by_id(id)
        .await?
        .ok_or_else(|| format!("no project with id {id}"))?)
}

/// Issues a named token (any role of the project) and returns its secret.
pub async fn issue_named_token(
    database_url: &str,
    project_id: i64,
    name: &str,
    role: &str,
    expires_in: Option<chrono::Duration>,
) -> Result<String, CliError> {
    if !offers_core::access::is_role_name(name) {
        return Err(format!("--name: {}", offers_core::access::ROLE_NAME_REASON).into());
    }
    let store = store::connect(database_url).await?;
    let signer = TokenSigner::new(store.token_secret().await?.into_bytes());
    let project = find_project(store.as_ref(), project_id).await?;
    if store.role_grants(project.id, role).await?.is_none() {
        return Err(format!(
            "--role: no role `{role}` in project {project_id} (viewer, editor, owner or a custom role)"
        )
        .into());
    }
    let expires_at = expires_in.map(|d| Utc::now() + d);
    let issued = crate::http::people::issue_named(
        store.as_ref(),
        &signer,
        &Actor::Cli,
        &project,
        name,
        role,
        expires_at,
    )
    .await?
    .ok_or_else(|| format!("a token named `{name}` exists in project {project_id}"))?;
    Ok(issued.token)
}

fn print_line(line: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

/// Creates a project and an owner token for it.
pub async fn create_project(database_url: &str, name: &str) -> Result<CreatedProject, CliError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err("the project name must be 1 to 100 characters".into());
    }
    let store = store::connect(database_url).await?;
    let signer = TokenSigner::new(store.token_secret().await?.into_bytes());
    let now = Utc::now();
    let project = store.create_project(&new_project(name), now).await?;
    let token = signer.issue(&project, Role::Owner, now.timestamp());
    Ok(CreatedProject {
        project: ProjectInfo::from(project),
        token,
    })
}

/// A project as `project show` prints it.
pub async fn show_project(database_url: &str, project_id: i64) -> Result<ProjectInfo, CliError> {
    let store = store::connect(database_url).await?;
    let project = store
        .project_by_id(project_id)
        .await?
        .ok_or_else(|| format!("no project with id {project_id}"))?;
    Ok(ProjectInfo::from(project))
}

/// The settings `project set` was asked for: origins normalized (`https://host[:port]`), an
/// empty value clearing the list; caps and the attribution window checked.
pub fn project_settings(
    require_user_signature: Option<bool>,
    allowed_origins: Option<Vec<String>>,
    campaign: &CampaignArgs,
) -> Result<ProjectSettings, CliError> {
    let allowed_origins = match allowed_origins {
        None => None,
        Some(list) => {
            let mut out: Vec<String> = Vec::new();
            for raw in list.iter().filter(|o| !o.trim().is_empty()) {
                let origin = normalize_origin(raw).ok_or_else(|| {
                    format!("`{raw}` is not an origin: expected http(s)://host[:port], no path")
                })?;
                if !out.contains(&origin) {
                    out.push(origin);
                }
            }
            Some(out)
        }
    };
    let caps = campaign.caps();
    crate::http::people::check_campaign_settings(caps.as_ref(), campaign.attribution_window_hours)
        .map_err(|e| match e {
            // `caps.perDay` is `--cap-day` on the command line.
            crate::error::ApiError::Validation(fields) => fields
                .iter()
                .map(|(field, reason)| format!("--{}: {reason}", cli_flag(field)))
                .collect::<Vec<_>>()
                .join("; ")
                .into(),
            other => CliError::from(other.to_string()),
        })?;
    if require_user_signature.is_none()
        && allowed_origins.is_none()
        && caps.is_none()
        && campaign.attribution_window_hours.is_none()
    {
        return Err(
            "nothing to set: give --require-user-signature, --allowed-origin, \
             --cap-session, --cap-day, --cap-week, --min-gap-ms or --attribution-window-hours"
                .into(),
        );
    }
    Ok(ProjectSettings {
        require_user_signature,
        allowed_origins,
        caps,
        attribution_window_hours: campaign.attribution_window_hours,
    })
}

/// The command-line flag of a settings field.
fn cli_flag(field: &str) -> &str {
    match field {
        "caps.perSession" => "cap-session",
        "caps.perDay" => "cap-day",
        "caps.perWeek" => "cap-week",
        "caps.minGapMs" => "min-gap-ms",
        "attributionWindowHours" => "attribution-window-hours",
        other => other,
    }
}

/// Changes a project's widget settings (running servers learn of it through the change bus
/// on PostgreSQL, within seconds on SQLite).
pub async fn set_project(
    database_url: &str,
    project_id: i64,
    settings: &ProjectSettings,
) -> Result<ProjectInfo, CliError> {
    let store = store::connect(database_url).await?;
    let project = store
        .update_project_settings(project_id, settings)
        .await?
        .ok_or_else(|| format!("no project with id {project_id}"))?;
    Ok(ProjectInfo::from(project))
}

/// Issues a token for an existing project.
pub async fn issue_token(
    database_url: &str,
    project_id: i64,
    role: Role,
) -> Result<String, CliError> {
    let store = store::connect(database_url).await?;
    let signer = TokenSigner::new(store.token_secret().await?.into_bytes());
    let project = store
        .project_by_id(project_id)
        .await?
        .ok_or_else(|| format!("no project with id {project_id}"))?;
    Ok(signer.issue(&project, role, Utc::now().timestamp()))
}

impl ServeArgs {
    /// The server's configuration from these arguments.
    pub fn config(&self) -> Config {
        Config {
            addr: self.addr.clone(),
            database_url: self.database.database_url.clone(),
            settings: self.settings(),
        }
    }

    /// The settings of these arguments.
    pub fn settings(&self) -> Settings {
        Settings {
            widget_dir: self.widget_dir.clone(),
            studio_dir: self.studio_dir.clone(),
            rate_limit_per_minute: self.rate_limit,
            widget_rate_limit_per_minute: self.widget_rate_limit.unwrap_or(self.rate_limit),
            trust_forwarded_for: self.trust_forwarded_for,
            retention_days: self.retention_days,
            retention_interval: Duration::from_secs(self.retention_interval),
            public_url: self.public_url.clone(),
            media: self.media_location(),
            webhooks: self.webhooks.settings(),
        }
    }

    /// Where uploaded images go: `--media-store`, else `--media-dir`, else `offers-media`
    /// next to the SQLite file (or in the working directory).
    pub fn media_location(&self) -> MediaLocation {
        match (&self.media_store, &self.media_dir) {
            (Some(url), _) => MediaLocation::S3(url.clone()),
            (None, Some(dir)) if !dir.as_os_str().is_empty() => MediaLocation::Dir(dir.clone()),
            _ => MediaLocation::Dir(MediaLocation::default_dir(&self.database.database_url)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let mut argv = vec!["offers-api", "serve"];
        argv.extend_from_slice(args);
        match Cli::try_parse_from(argv)?.command {
            Command::Serve(serve) => Ok(serve),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d"), Ok(chrono::Duration::days(30)));
        assert_eq!(parse_duration(" 24h"), Ok(chrono::Duration::hours(24)));
        assert_eq!(parse_duration("90m"), Ok(chrono::Duration::minutes(90)));
        assert_eq!(parse_duration("0s"), Ok(chrono::Duration::zero()));
        for bad in ["", "d", "10", "-1d", "1w", "1.5h", "99999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn non_ascii_durations_are_refused_not_a_panic() {
        for bad in ["5µ", "µ", "5dµ", "５d", "10é"] {
            let error = parse_duration(bad).expect_err(bad);
            assert!(
                error.contains("expected a whole number and a unit"),
                "{error}"
            );
        }
    }

    #[test]
    fn rate_limits_are_on_by_default() {
        let settings = serve(&[]).unwrap().settings();
        assert_eq!(settings.rate_limit_per_minute, 1200);
        assert_eq!(settings.widget_rate_limit_per_minute, 1200);
        let settings = serve(&["--rate-limit", "0", "--widget-rate-limit", "90"])
            .unwrap()
            .settings();
        assert_eq!(settings.rate_limit_per_minute, 0);
        assert_eq!(settings.widget_rate_limit_per_minute, 90);
    }

    #[test]
    fn public_url_flag() {
        assert_eq!(
            parse_public_url(" https://cdn.example/offers/ "),
            Ok("https://cdn.example/offers".to_owned())
        );
        assert_eq!(
            parse_public_url("http://127.0.0.1:8080"),
            Ok("http://127.0.0.1:8080".to_owned())
        );
        for bad in [
            "ftp://x",
            "cdn.example",
            "https://x/?a=1",
            "https://x/#f",
            "",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn media_flags() {
        let args = serve(&["--database-url", "sqlite:///srv/offers/offers.db"]).unwrap();
        assert_eq!(
            args.settings().media,
            MediaLocation::Dir(PathBuf::from("/srv/offers/offers-media"))
        );
        assert_eq!(args.settings().public_url, None);
        let args = serve(&[
            "--media-dir",
            "/data/img",
            "--public-url",
            "https://o.example/",
        ])
        .unwrap();
        assert_eq!(
            args.settings().media,
            MediaLocation::Dir(PathBuf::from("/data/img"))
        );
        assert_eq!(
            args.settings().public_url.as_deref(),
            Some("https://o.example")
        );
        let args = serve(&["--media-dir", "/data/img", "--media-store", "s3://b/p"]).unwrap();
        assert_eq!(args.settings().media, MediaLocation::S3("s3://b/p".into()));
        assert!(serve(&["--media-store", "http://b/p"]).is_err());
        assert!(serve(&["--public-url", "javascript:alert(1)"]).is_err());
    }
}
