//! The command line: `serve`, `project create`, `token issue` (SPEC §6).
//!
//! `main` parses [`Cli`] and calls [`run`]; everything else is here and in [`crate::server`].
//! Machine-readable output (the project JSON, the token) goes to stdout; logs go to stderr.

use std::io::Write;
use std::path::PathBuf;

use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::auth::{NewProjectKeys, Role, TokenSigner};
use crate::state::Settings;
use crate::store;

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
    /// Partner API requests allowed per project per minute (0: no limit).
    #[arg(long, env = "OFFERS_RATE_LIMIT", default_value_t = 0)]
    pub rate_limit: u32,
}

/// `project` subcommands.
#[derive(Debug, Subcommand)]
pub enum ProjectCommand {
    /// Create a project; prints {"id","name","apiKey","publicKey","token"} (token: an owner token).
    Create {
        /// The project's name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// `token` subcommands.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a bearer token for a project; prints it on one line.
    Issue {
        /// The project id.
        #[arg(long)]
        project: i64,
        /// viewer (read), editor (read, update) or owner (everything).
        #[arg(long)]
        role: Role,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

impl clap::ValueEnum for Role {
    fn value_variants<'a>() -> &'a [Self] {
        &[Role::Viewer, Role::Editor, Role::Owner]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.as_str()))
    }
}

/// What `project create` prints.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedProject {
    pub id: i64,
    pub name: String,
    pub api_key: String,
    pub public_key: String,
    pub token: String,
}

/// A command's failure, printed to stderr by `main`.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve(args) => crate::server::serve(args).await,
        Command::Project {
            command: ProjectCommand::Create { name, database },
        } => {
            let created = create_project(&database.database_url, &name).await?;
            print_line(&serde_json::to_string(&created)?)
        }
        Command::Token {
            command:
                TokenCommand::Issue {
                    project,
                    role,
                    database,
                },
        } => {
            let token = issue_token(&database.database_url, project, role).await?;
            print_line(&token)
        }
    }
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
    let project = store
        .create_project(name, &NewProjectKeys::generate(), now)
        .await?;
    let token = signer.issue(&project, Role::Owner, now.timestamp());
    Ok(CreatedProject {
        id: project.id,
        name: project.name,
        api_key: project.api_key,
        public_key: project.public_key,
        token,
    })
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
    /// The static-file and limiter settings of these arguments.
    pub fn settings(&self) -> Settings {
        Settings {
            widget_dir: self.widget_dir.clone(),
            studio_dir: self.studio_dir.clone(),
            rate_limit_per_minute: self.rate_limit,
        }
    }
}
